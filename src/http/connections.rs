//! Noticing that a client hung up while its request waits for a lock.
//!
//! hyper does not drop a pending handler when an HTTP/1 client closes its connection, so a waiter
//! whose client left would stay queued and might be handed the lock. The server
//! (`http::server`) puts each request's connection socket in its extensions as a
//! [`ClientSocket`]; a waiting handler races its wait against [`ClientSocket::gone`], which peeks
//! that socket for EOF (peeking consumes nothing, so hyper still reads every byte, and it waits
//! on its own readiness queue, apart from hyper's reads).

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;

use super::ApiError;

/// The socket of the connection a request came on.
#[derive(Clone)]
pub struct ClientSocket(Arc<TcpStream>);

impl ClientSocket {
    pub(super) fn new(socket: Arc<TcpStream>) -> Self {
        Self(socket)
    }

    /// Resolves once the client has closed its connection; never for a client that stays.
    pub async fn gone(&self) {
        let mut byte = [0u8; 1];
        loop {
            match self.0.peek(&mut byte).await {
                Ok(0) | Err(_) => return,
                // Bytes hyper has not read yet (a pipelined request): look again shortly.
                Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

/// Runs `work` unless the request's client hangs up first; then `work` is dropped (so a waiter
/// leaves its queue) and the answer is [`ApiError::ClientGone`].
pub async fn unless_client_leaves<F: std::future::Future>(
    req: &poem::Request,
    work: F,
) -> Result<F::Output, ApiError> {
    let Some(client) = req.extensions().get::<ClientSocket>() else {
        return Ok(work.await);
    };
    tokio::select! {
        output = work => Ok(output),
        _ = client.gone() => Err(ApiError::ClientGone),
    }
}
