//! Redis connections for the engine: a deadpool pool of multiplexed connections.
//!
//! Why not deadpool-redis's manager: it sends UNWATCH + PING on every checkout, a second round
//! trip for each request. Here checkout is free; a connection is discarded instead when its last
//! command failed on the connection or never finished (cut off by the engine's timeout), or when
//! the client library reported it closed (Redis restarted while it sat idle in the pool). That
//! report comes as a RESP3 `Disconnection` push, so pool connections speak RESP3.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ProtocolVersion, PushInfo, PushKind, RedisError};

pub type Pool = managed::Pool<Manager>;
pub type PoolError = managed::PoolError<RedisError>;

pub struct Manager {
    client: redis::Client,
    config: AsyncConnectionConfig,
}

/// A pooled connection, marked suspect while a command is in flight.
pub struct Connection {
    pub redis: MultiplexedConnection,
    suspect: bool,
    /// Set by the client library when the connection closed.
    closed: Arc<AtomicBool>,
}

impl Connection {
    /// Call before sending; pass the result to [`Connection::settle`] after.
    pub fn begin(&mut self) {
        self.suspect = true;
    }

    /// Clears the mark unless the connection itself failed.
    pub fn settle<T>(&mut self, result: &Result<T, RedisError>) {
        self.suspect = match result {
            Ok(_) => false,
            Err(err) => is_connection_failure(err),
        };
    }
}

pub fn is_connection_failure(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_timeout()
        || err.is_unrecoverable_error()
}

impl Manager {
    /// `client` must speak RESP3 (see [`resp3`]).
    pub fn new(client: redis::Client, timeout: Duration) -> Self {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        Self { client, config }
    }
}

/// The same client, speaking RESP3.
pub fn resp3(client: &redis::Client) -> Result<redis::Client, RedisError> {
    let info = client.get_connection_info().clone();
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    redis::Client::open(info.set_redis_settings(settings))
}

impl managed::Manager for Manager {
    type Type = Connection;
    type Error = RedisError;

    async fn create(&self) -> Result<Connection, RedisError> {
        let closed = Arc::new(AtomicBool::new(false));
        let flag = closed.clone();
        let config = self.config.clone().set_push_sender(move |push: PushInfo| {
            if push.kind == PushKind::Disconnection {
                flag.store(true, Ordering::Relaxed);
            }
            Ok::<(), std::convert::Infallible>(())
        });
        let redis = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        Ok(Connection {
            redis,
            suspect: false,
            closed,
        })
    }

    async fn recycle(&self, conn: &mut Connection, _: &Metrics) -> RecycleResult<RedisError> {
        if conn.suspect {
            return Err(RecycleError::message("last command failed or was cut off"));
        }
        if conn.closed.load(Ordering::Relaxed) {
            return Err(RecycleError::message("connection closed"));
        }
        Ok(())
    }
}

pub fn build(client: &redis::Client, size: usize, timeout: Duration) -> Result<Pool, String> {
    let client = resp3(client).map_err(|err| err.to_string())?;
    Pool::builder(Manager::new(client, timeout))
        .max_size(size)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|err| err.to_string())
}
