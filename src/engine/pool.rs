//! Redis connections for the engine: a deadpool pool of multiplexed connections.
//!
//! Why not deadpool-redis's manager: it sends UNWATCH + PING on every checkout, a second round
//! trip for each request. Here checkout is free; a connection is discarded instead when its last
//! command failed on the connection or never finished (cut off by the engine's timeout).

use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisError};

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
    pub fn new(client: redis::Client, timeout: Duration) -> Self {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        Self { client, config }
    }
}

impl managed::Manager for Manager {
    type Type = Connection;
    type Error = RedisError;

    async fn create(&self) -> Result<Connection, RedisError> {
        let redis = self
            .client
            .get_multiplexed_async_connection_with_config(&self.config)
            .await?;
        Ok(Connection {
            redis,
            suspect: false,
        })
    }

    async fn recycle(&self, conn: &mut Connection, _: &Metrics) -> RecycleResult<RedisError> {
        if conn.suspect {
            return Err(RecycleError::message("last command failed or was cut off"));
        }
        Ok(())
    }
}

pub fn build(client: redis::Client, size: usize, timeout: Duration) -> Result<Pool, String> {
    Pool::builder(Manager::new(client, timeout))
        .max_size(size)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|err| err.to_string())
}
