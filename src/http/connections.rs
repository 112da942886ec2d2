//! Noticing that a client hung up while its request waits for a lock.
//!
//! hyper, as poem drives it, does not drop a pending handler when an HTTP/1 client closes its
//! connection, so a waiter whose client left would stay queued and might be handed the lock. The
//! acceptor here keeps a duplicate of every connection's socket, keyed by the peer address; a
//! waiting handler races its wait against [`client_gone`], which peeks that duplicate for EOF
//! (peeking consumes nothing, so hyper still reads every byte).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use poem::http::uri::Scheme;
use poem::listener::{Acceptor, TcpAcceptor};
use poem::web::{LocalAddr, RemoteAddr};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Duplicates of the open connections' sockets. Cheap to clone; shared with handlers as data.
#[derive(Clone, Default)]
pub struct Connections {
    sockets: Arc<Mutex<HashMap<SocketAddr, std::net::TcpStream>>>,
}

impl Connections {
    fn insert(&self, peer: SocketAddr, socket: std::net::TcpStream) {
        if let Ok(mut sockets) = self.sockets.lock() {
            sockets.insert(peer, socket);
        }
    }

    fn remove(&self, peer: &SocketAddr) {
        if let Ok(mut sockets) = self.sockets.lock() {
            sockets.remove(peer);
        }
    }

    fn duplicate(&self, peer: &SocketAddr) -> Option<TcpStream> {
        let sockets = self.sockets.lock().ok()?;
        let socket = sockets.get(peer)?.try_clone().ok()?;
        socket.set_nonblocking(true).ok()?;
        TcpStream::from_std(socket).ok()
    }

    /// Resolves once the client at `remote` has closed its connection; never for a client that
    /// stays, or one this registry does not know.
    pub async fn client_gone(&self, remote: &RemoteAddr) {
        let stream = remote
            .as_socket_addr()
            .and_then(|peer| self.duplicate(peer));
        let Some(stream) = stream else {
            return std::future::pending().await;
        };
        let mut byte = [0u8; 1];
        loop {
            match stream.peek(&mut byte).await {
                Ok(0) | Err(_) => return,
                // Bytes hyper has not read yet (a pipelined request): look again shortly.
                Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

/// A TCP acceptor that registers every connection in [`Connections`].
pub struct WatchedAcceptor {
    inner: TcpAcceptor,
    connections: Connections,
}

impl WatchedAcceptor {
    pub fn new(inner: TcpAcceptor, connections: Connections) -> Self {
        Self { inner, connections }
    }
}

impl Acceptor for WatchedAcceptor {
    type Io = WatchedStream;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> std::io::Result<(WatchedStream, LocalAddr, RemoteAddr, Scheme)> {
        let (stream, local, remote, scheme) = self.inner.accept().await?;
        let peer = stream.peer_addr()?;
        if let Ok(duplicate) = duplicate_std(&stream) {
            self.connections.insert(peer, duplicate);
        }
        let watched = WatchedStream {
            stream,
            peer,
            connections: self.connections.clone(),
        };
        Ok((watched, local, remote, scheme))
    }
}

fn duplicate_std(stream: &TcpStream) -> std::io::Result<std::net::TcpStream> {
    use std::os::fd::AsFd;
    Ok(std::net::TcpStream::from(
        stream.as_fd().try_clone_to_owned()?,
    ))
}

/// A connection's stream; forgets its registry entry when the connection ends.
pub struct WatchedStream {
    stream: TcpStream,
    peer: SocketAddr,
    connections: Connections,
}

impl Drop for WatchedStream {
    fn drop(&mut self) {
        self.connections.remove(&self.peer);
    }
}

impl AsyncRead for WatchedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for WatchedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Runs `work` unless the request's client hangs up first; then `work` is dropped (so a waiter
/// leaves its queue) and the answer is [`ApiError::ClientGone`].
pub async fn unless_client_leaves<F: std::future::Future>(
    req: &poem::Request,
    work: F,
) -> Result<F::Output, crate::http::ApiError> {
    let Some(connections) = req.data::<Connections>() else {
        return Ok(work.await);
    };
    tokio::select! {
        output = work => Ok(output),
        _ = connections.client_gone(req.remote_addr()) => Err(crate::http::ApiError::ClientGone),
    }
}
