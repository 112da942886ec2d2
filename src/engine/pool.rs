//! Redis connections for the engine: a few multiplexed connections, shared by every request.
//!
//! Why not a pool that lends a connection to one request at a time (deadpool, as before): a
//! multiplexed connection already carries any number of requests at once, and its writer sends
//! what is queued in one write, so concurrent requests share system calls. Lending added a
//! checkout per request and spread commands over 32 sockets where they could not batch.
//!
//! A connection is replaced when a command on it failed on the wire or was cut off by the
//! engine's timeout (a silent, half-open socket must not hang every request), or when the client
//! library reported it closed (Redis restarted while it sat idle). That report comes as a RESP3
//! `Disconnection` push, so these connections speak RESP3.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ProtocolVersion, PushInfo, PushKind, RedisError};

/// `size` shared connections; each request takes the next in turn.
pub struct Pool {
    client: redis::Client,
    config: AsyncConnectionConfig,
    slots: Vec<Slot>,
    next: AtomicUsize,
    /// Numbers connections, so a failure discards only the connection it happened on.
    made: AtomicU64,
}

#[derive(Default)]
struct Slot {
    live: Mutex<Option<Live>>,
    /// One connection attempt at a time per slot; the others wait for its result.
    connecting: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Live {
    redis: MultiplexedConnection,
    id: u64,
    /// Set by the client library when the connection closed.
    closed: Arc<AtomicBool>,
}

/// A connection lent for one request; report how it went with [`Pool::settle`].
pub struct Connection {
    pub redis: MultiplexedConnection,
    slot: usize,
    id: u64,
}

pub fn is_connection_failure(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_timeout()
        || err.is_unrecoverable_error()
}

impl Pool {
    /// Connects nothing yet: the first request does.
    pub fn new(client: &redis::Client, size: usize, timeout: Duration) -> Result<Self, RedisError> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        Ok(Self {
            client: resp3(client)?,
            config,
            slots: (0..size.max(1)).map(|_| Slot::default()).collect(),
            next: AtomicUsize::new(0),
            made: AtomicU64::new(0),
        })
    }

    /// The next connection in turn, connecting it first if it is missing or closed.
    pub async fn get(&self) -> Result<Connection, RedisError> {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let slot = &self.slots[index];
        if let Some(live) = slot.current() {
            return Ok(self.lend(index, live));
        }
        let _turn = slot.connecting.lock().await;
        if let Some(live) = slot.current() {
            return Ok(self.lend(index, live));
        }
        let live = self.connect().await?;
        *slot.lock() = Some(live.clone());
        Ok(self.lend(index, live))
    }

    /// Discards the connection a request used if the request failed on it or never finished
    /// (`result` is `None`): the next request connects afresh.
    pub fn settle<T>(&self, conn: &Connection, result: Option<&Result<T, RedisError>>) {
        let failed = match result {
            None => true,
            Some(Ok(_)) => false,
            Some(Err(err)) => is_connection_failure(err),
        };
        if failed {
            let mut live = self.slots[conn.slot].lock();
            if live.as_ref().is_some_and(|l| l.id == conn.id) {
                *live = None;
            }
        }
    }

    fn lend(&self, slot: usize, live: Live) -> Connection {
        Connection {
            redis: live.redis,
            slot,
            id: live.id,
        }
    }

    async fn connect(&self) -> Result<Live, RedisError> {
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
        Ok(Live {
            redis,
            id: self.made.fetch_add(1, Ordering::Relaxed),
            closed,
        })
    }
}

impl Slot {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Live>> {
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The slot's connection, unless it is missing or reported closed.
    fn current(&self) -> Option<Live> {
        let mut live = self.lock();
        if live
            .as_ref()
            .is_some_and(|l| l.closed.load(Ordering::Relaxed))
        {
            *live = None;
        }
        live.clone()
    }
}

/// The same client, speaking RESP3.
fn resp3(client: &redis::Client) -> Result<redis::Client, RedisError> {
    let info = client.get_connection_info().clone();
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    redis::Client::open(info.set_redis_settings(settings))
}
