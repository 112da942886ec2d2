//! The lock engine: the only module that talks to Redis.
//!
//! Every operation is one Lua script (`lua/`, one Rust file each in `scripts/`), so each is
//! atomic and an uncontended request costs one round trip. A lock is a *resource* with at most
//! one lease and a FIFO queue of *tickets*; leases without a queue (`locks.rs`), tickets
//! (`tickets.rs`) and the blocking wait built on them (`waiting.rs`) are its operations.
//! Requests whose outcome Redis left unknown are withdrawn once it answers (`healing.rs`).
//! `transport.rs` sends calls; `keys.rs` names every key; `accounts.rs`, `credentials.rs` and
//! `rate.rs` keep accounts, the credential cache and rate limits.

mod accounts;
mod courses;
mod credentials;
mod error;
mod healing;
mod keys;
mod locks;
mod notifier;
mod outcome;
mod pool;
mod rate;
mod scripts;
mod tickets;
mod transport;
mod waiting;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

pub use accounts::{AccountRecord, AccountUpdate};
pub use courses::{Course, CourseLock, CourseLocks, CoursePut, LockGadget, UnlockGadget};
pub use credentials::{Credential, NOTE_REFRESH};
pub use error::EngineError;
pub use keys::{GroupedKeys, KeyBuilder, LockKeys, LockRef, Namespace, NamespaceError};
pub use notifier::Notifier;
pub use outcome::{
    Acquire, EndReason, Enqueue, Holder, Lease, Liveness, LockRecord, LockState, Poll, Release,
    Renew, TicketRecord, TicketSpec, TicketStatus, Ticketed, TryAcquire, Withdraw,
};
pub use rate::Window;

use crate::config::RedisSettings;
use transport::Call;

/// Owner token of a lease or ticket: a mutex id, an account id... chosen by the dialect.
pub type Owner = str;

/// A cheap handle; clones share the Redis connections, one pub/sub task and one shutdown
/// signal.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    pool: pool::Pool,
    keys: KeyBuilder,
    notifier: Notifier,
    /// Credentials checked recently, trusted while invalidations can reach this process.
    credentials: Arc<credentials::CredentialCache>,
    /// Bound on every Redis call, so an unreachable Redis fails a request instead of hanging it.
    timeout: Duration,
    /// How long a waiting gateway's ticket stays queued without the gateway refreshing it.
    presence: Duration,
    /// How long a hand-off to a waiting gateway may stay unclaimed before it is passed on.
    claim_window: Duration,
    /// How long a lock's fence key outlives its last use.
    fence_retention: Duration,
    shutdown: watch::Sender<bool>,
}

impl Engine {
    /// Builds the connections and the notifier without connecting: the first request does.
    pub fn new(settings: &RedisSettings, url: &str) -> Result<Self, EngineError> {
        let timeout = Duration::from_millis(settings.timeout_ms);
        let client = redis::Client::open(url)
            .map_err(|err| EngineError::Settings(format!("bad Redis URL: {err}")))?;
        let pool = pool::Pool::new(&client, settings.pool_size, timeout)
            .map_err(|err| EngineError::Settings(format!("Redis connections: {err}")))?;
        let keys = KeyBuilder::new(settings.key_prefix.clone());
        let notifier = Notifier::new(client, timeout);
        let credentials = Arc::new(credentials::CredentialCache::new(
            notifier.clone(),
            keys.credentials_channel(),
        ));
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                keys,
                notifier,
                credentials,
                timeout,
                presence: Duration::from_millis(settings.presence_timeout_ms),
                claim_window: Duration::from_millis(settings.claim_timeout_ms),
                fence_retention: Duration::from_secs(settings.fence_retention_seconds),
                shutdown: watch::channel(false).0,
            }),
        })
    }

    pub fn keys(&self) -> &KeyBuilder {
        &self.inner.keys
    }

    /// Answers waiting acquisitions with [`Acquire::ShuttingDown`]; used on SIGTERM.
    pub fn begin_shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// Redis answers PING within the timeout.
    pub async fn ping(&self) -> Result<(), EngineError> {
        let _: String = self.command("ping", &redis::cmd("PING")).await?;
        Ok(())
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
