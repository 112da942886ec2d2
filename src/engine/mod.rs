//! The lock engine: the only module that talks to Redis.
//!
//! Every operation is one Lua script (see `lua/`), so each is atomic and an uncontended request
//! costs one round trip. Waiting is the only thing done here between scripts: a waiter subscribes
//! to its lock's channel, joins the FIFO queue, and sleeps until a hand-off names it, the
//! holder's lease ends, its presence needs refreshing, or its time runs out.

mod accounts;
mod credentials;
mod error;
mod keys;
mod notifier;
mod outcome;
mod pool;
mod scripts;

use std::sync::Arc;
use std::time::Duration;

use redis::Script;
use tokio::sync::watch;
use tokio::time::Instant;

pub use accounts::{AccountRecord, AccountUpdate};
pub use credentials::{Credential, NOTE_REFRESH};
pub use error::EngineError;
pub use keys::{GroupedKeys, KeyBuilder, LockKeys, LockRef};
pub use notifier::Notifier;
pub use outcome::{Acquire, Holder, Lease, LockRecord, LockState, Release, Renew, TryAcquire};

use crate::config::RedisSettings;

/// Owner token of a lease or waiter: a mutex id, an account id... chosen by the dialect.
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
    /// How long a waiter stays queued without its gateway refreshing it.
    presence: Duration,
    /// How long a lock's fence key outlives its last use.
    fence_retention: Duration,
    shutdown: watch::Sender<bool>,
}

impl Engine {
    /// Builds the connections and the notifier without connecting: the first request does.
    pub fn new(settings: &RedisSettings, url: &str) -> Result<Self, EngineError> {
        let timeout = Duration::from_millis(settings.timeout_ms);
        let client = redis::Client::open(url)
            .map_err(|err| EngineError::Unavailable(format!("bad Redis URL: {err}")))?;
        let pool = pool::Pool::new(&client, settings.pool_size, timeout)
            .map_err(|err| EngineError::Unavailable(format!("Redis connections: {err}")))?;
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
        let _: String = self.command(&redis::cmd("PING")).await?;
        Ok(())
    }

    /// One attempt: take the lock if it is free and nobody waits for it.
    pub async fn try_acquire(
        &self,
        lock: &LockRef,
        owner: &Owner,
        lease: Duration,
    ) -> Result<TryAcquire, EngineError> {
        self.try_acquire_labelled(lock, owner, "", lease).await
    }

    /// [`Engine::try_acquire`] for a caller with a label (e.g. a requester name): if the holder
    /// has the same non-empty label, its lease is renewed and kept ([`TryAcquire::Resumed`]),
    /// so a retried request does not leak the lock.
    pub async fn try_acquire_labelled(
        &self,
        lock: &LockRef,
        owner: &Owner,
        label: &str,
        lease: Duration,
    ) -> Result<TryAcquire, EngineError> {
        let keys = self.inner.keys.lock(lock);
        let caller = Caller { owner, label };
        Ok(
            match self.acquire_step(&keys, caller, lease, false).await? {
                Step::Acquired(lease) => TryAcquire::Acquired(lease),
                Step::Resumed(holder) => TryAcquire::Resumed(holder),
                Step::Busy {
                    holder_ttl_ms,
                    holder_label,
                } => TryAcquire::HeldByOther {
                    holder_ttl_ms,
                    holder_label,
                },
                Step::Queued { holder_ttl_ms, .. } => TryAcquire::HeldByOther {
                    holder_ttl_ms,
                    holder_label: String::new(),
                },
            },
        )
    }

    /// Takes the lock, waiting up to `wait` in its FIFO queue. If the caller's future is dropped
    /// (its HTTP client went away), it leaves the queue, releasing a hand-off that reached it.
    pub async fn acquire(
        &self,
        lock: &LockRef,
        owner: &Owner,
        lease: Duration,
        wait: Duration,
    ) -> Result<Acquire, EngineError> {
        // A free lock costs this one round trip; only a busy one needs the channel and queue.
        match self.try_acquire(lock, owner, lease).await? {
            TryAcquire::Acquired(lease) | TryAcquire::Resumed(Holder { lease, .. }) => {
                return Ok(Acquire::Acquired(lease))
            }
            TryAcquire::HeldByOther { .. } => {}
        }
        if wait.is_zero() {
            return Ok(Acquire::TimedOut);
        }
        let deadline = Instant::now() + wait;
        let keys = self.inner.keys.lock(lock);
        // Subscribe before joining the queue, so no hand-off can be published unseen.
        let mut subscription = self
            .bounded(async { Ok(self.inner.notifier.subscribe(&keys.channel).await?) })
            .await?;
        let mut guard = QueueGuard {
            engine: self.clone(),
            keys: keys.clone(),
            owner: owner.to_owned(),
            armed: true,
        };
        let mut shutdown = self.inner.shutdown.subscribe();
        let refresh = self.inner.presence / 3;
        loop {
            let step = self
                .acquire_step(&keys, anonymous(owner), lease, true)
                .await;
            let (position, holder_ttl_ms) = match step {
                Ok(Step::Acquired(lease) | Step::Resumed(Holder { lease, .. })) => {
                    guard.armed = false;
                    return Ok(Acquire::Acquired(lease));
                }
                Ok(Step::Queued {
                    position,
                    holder_ttl_ms,
                }) => (position, holder_ttl_ms),
                Ok(Step::Busy { .. }) => {
                    return Err(EngineError::Protocol("busy reply while waiting".into()))
                }
                // The guard leaves the queue when Redis is back; the presence timeout covers it
                // if Redis stays away.
                Err(err) => return Err(err),
            };
            let now = Instant::now();
            if now >= deadline {
                guard.leave().await?;
                return Ok(Acquire::TimedOut);
            }
            // The head waiter also wakes when the holder's lease ends: no message comes then.
            let mut wake = (now + refresh).min(deadline);
            if position == 1 && holder_ttl_ms >= 0 {
                let lease_end = now + Duration::from_millis(holder_ttl_ms as u64 + 1);
                wake = wake.min(lease_end);
            }
            tokio::select! {
                _ = subscription.woken_for(owner) => {}
                _ = tokio::time::sleep_until(wake) => {}
                // The watch guard must not live across an await: drop it inside.
                _ = async { drop(shutdown.wait_for(|stopping| *stopping).await) } => {
                    guard.leave().await?;
                    return Ok(Acquire::ShuttingDown);
                }
            }
        }
    }

    /// Gives the lock up if `owner` holds it; the longest waiter gets it at once.
    pub async fn release(&self, lock: &LockRef, owner: &Owner) -> Result<Release, EngineError> {
        let keys = self.inner.keys.lock(lock);
        let (status,): (String,) = self
            .run(
                &scripts::RELEASE_LEASE,
                &keys,
                anonymous(owner),
                Duration::ZERO,
                None,
            )
            .await?;
        match status.as_str() {
            "released" => Ok(Release::Released),
            "not_owner" => Ok(Release::NotOwner),
            "not_held" => Ok(Release::NotHeld),
            "unknown" => Ok(Release::Unknown),
            other => Err(unexpected("release_lease", other)),
        }
    }

    /// Extends the holder's lease to `lease` from now.
    pub async fn renew(
        &self,
        lock: &LockRef,
        owner: &Owner,
        lease: Duration,
    ) -> Result<Renew, EngineError> {
        let keys = self.inner.keys.lock(lock);
        let (status, expires_at_ms): (String, i64) = self
            .run(&scripts::RENEW_LEASE, &keys, anonymous(owner), lease, None)
            .await?;
        match status.as_str() {
            "renewed" => Ok(Renew::Renewed { expires_at_ms }),
            "not_owner" => Ok(Renew::NotOwner),
            "not_held" => Ok(Renew::NotHeld),
            other => Err(unexpected("renew_lease", other)),
        }
    }

    /// Who holds the lock, and how many wait.
    pub async fn inspect(&self, lock: &LockRef) -> Result<LockState, EngineError> {
        let keys = self.inner.keys.lock(lock);
        let (status, owner, fence, acquired, expires, waiting): (
            String,
            String,
            u64,
            i64,
            i64,
            u64,
        ) = self
            .run(
                &scripts::INSPECT_LEASE,
                &keys,
                anonymous(""),
                Duration::ZERO,
                None,
            )
            .await?;
        let holder = match status.as_str() {
            "held" => Some(Holder {
                owner,
                lease: Lease {
                    fencing_token: fence,
                    acquired_at_ms: acquired,
                    expires_at_ms: expires,
                },
            }),
            "free" => None,
            other => return Err(unexpected("inspect_lease", other)),
        };
        Ok(LockState { holder, waiting })
    }

    /// The records of a grouped namespace's locks, held ones and released ones still retained,
    /// sorted by name.
    pub async fn list(&self, namespace: &str) -> Result<Vec<LockRecord>, EngineError> {
        self.records(namespace, "").await
    }

    /// The record of one grouped lock, or `None` if it is unknown (never acquired, or released
    /// longer ago than its retention).
    pub async fn describe(&self, lock: &LockRef) -> Result<Option<LockRecord>, EngineError> {
        Ok(self
            .records(&lock.namespace, lock.name.as_str())
            .await?
            .into_iter()
            .next())
    }

    async fn records(&self, namespace: &str, only: &str) -> Result<Vec<LockRecord>, EngineError> {
        let group = self.inner.keys.group(namespace);
        let mut invocation = scripts::LIST_LOCKS.prepare_invoke();
        invocation
            .key(&group.index)
            .arg(&group.member_prefix)
            .arg(only);
        let flat: Vec<redis::Value> = self.invoke(&invocation).await?;
        let bad = |e: redis::ParsingError| EngineError::Protocol(format!("list_locks: {e}"));
        flat.chunks(8)
            .map(|row| {
                let [name, owner, label, fence, created, updated, locked, expires] = row else {
                    return Err(unexpected("list_locks", "a short row"));
                };
                let int = |v: &redis::Value| redis::from_redis_value_ref::<i64>(v).map_err(bad);
                let text = |v: &redis::Value| redis::from_redis_value_ref::<String>(v).map_err(bad);
                let locked = int(locked)? == 1;
                Ok(LockRecord {
                    name: text(name)?,
                    locked,
                    owner: text(owner)?,
                    label: text(label)?,
                    fencing_token: u64::try_from(int(fence)?)
                        .map_err(|_| unexpected("list_locks", "negative fence"))?,
                    created_at_ms: int(created)?,
                    updated_at_ms: int(updated)?,
                    expires_at_ms: if locked { Some(int(expires)?) } else { None },
                })
            })
            .collect()
    }

    async fn acquire_step(
        &self,
        keys: &LockKeys,
        caller: Caller<'_>,
        lease: Duration,
        wait: bool,
    ) -> Result<Step, EngineError> {
        let flag = if wait { "1" } else { "0" };
        let (status, a, b, c, holder): (String, i64, i64, i64, String) = self
            .run(&scripts::ACQUIRE_LEASE, keys, caller, lease, Some(flag))
            .await?;
        let lease = || -> Result<Lease, EngineError> {
            Ok(Lease {
                fencing_token: u64::try_from(a)
                    .map_err(|_| unexpected("acquire_lease", "negative fence"))?,
                expires_at_ms: b,
                acquired_at_ms: c,
            })
        };
        match status.as_str() {
            "acquired" => Ok(Step::Acquired(lease()?)),
            "resumed" => Ok(Step::Resumed(Holder {
                lease: lease()?,
                owner: holder,
            })),
            "queued" => Ok(Step::Queued {
                position: a,
                holder_ttl_ms: b,
            }),
            "busy" => Ok(Step::Busy {
                holder_ttl_ms: a,
                holder_label: holder,
            }),
            other => Err(unexpected("acquire_lease", other)),
        }
    }

    async fn leave_queue(&self, keys: &LockKeys, owner: &Owner) -> Result<(), EngineError> {
        let (status,): (String,) = self
            .run(
                &scripts::LEAVE_QUEUE,
                keys,
                anonymous(owner),
                Duration::ZERO,
                None,
            )
            .await?;
        match status.as_str() {
            "left" | "released" => Ok(()),
            other => Err(unexpected("leave_queue", other)),
        }
    }

    /// Runs a lock script with the keys and arguments they all share (see `lua/_lock_lib.lua`).
    async fn run<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        keys: &LockKeys,
        caller: Caller<'_>,
        lease: Duration,
        extra: Option<&str>,
    ) -> Result<T, EngineError> {
        let mut invocation = script.prepare_invoke();
        for key in keys.script_keys() {
            invocation.key(key);
        }
        let retention = keys
            .grouped
            .as_ref()
            .map_or(Duration::ZERO, |g| g.retention);
        invocation
            .arg(caller.owner)
            .arg(millis(lease))
            .arg(millis(self.inner.presence))
            .arg(millis(self.inner.fence_retention))
            .arg(&keys.channel)
            .arg(&keys.name)
            .arg(millis(retention))
            .arg(caller.label);
        if let Some(extra) = extra {
            invocation.arg(extra);
        }
        self.invoke(&invocation).await
    }

    /// Runs one plain command on a shared connection, within the timeout.
    async fn command<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, EngineError> {
        self.call(Call::Command(cmd)).await
    }

    /// Runs a prepared script on a shared connection, within the timeout.
    async fn invoke<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, EngineError> {
        self.call(Call::Script(invocation)).await
    }

    /// One request on a shared connection; a connection whose request failed on the wire or was
    /// cut off by the timeout is replaced (see `pool.rs`).
    async fn call<T: redis::FromRedisValue>(&self, call: Call<'_, '_>) -> Result<T, EngineError> {
        let pool = &self.inner.pool;
        // Boxed: connecting makes this future large, and every waiting request would carry it.
        let work = Box::pin(async move {
            let mut flight = InFlight {
                pool,
                conn: pool.get().await?,
                finished: false,
            };
            let redis = &mut flight.conn.redis;
            let result = match call {
                Call::Command(cmd) => cmd.query_async(redis).await,
                Call::Script(invocation) => invocation.invoke_async(redis).await,
                Call::Pipeline(pipe) => pipe.query_async(redis).await,
            };
            flight.finished = true;
            pool.settle(&flight.conn, Some(&result));
            Ok(result?)
        });
        self.bounded(work).await
    }

    async fn bounded<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, EngineError>>,
    ) -> Result<T, EngineError> {
        match tokio::time::timeout(self.inner.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(EngineError::Unavailable(format!(
                "no answer within {} ms",
                self.inner.timeout.as_millis()
            ))),
        }
    }
}

/// A request on a shared connection; one dropped unfinished (cut off by the timeout) makes the
/// pool replace that connection.
struct InFlight<'a> {
    pool: &'a pool::Pool,
    conn: pool::Connection,
    finished: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.pool.settle::<()>(&self.conn, None);
        }
    }
}

enum Call<'a, 's> {
    Command(&'a redis::Cmd),
    Script(&'a redis::ScriptInvocation<'s>),
    Pipeline(&'a redis::Pipeline),
}

/// Who runs a lock script: an owner token, and a label or "".
#[derive(Clone, Copy)]
struct Caller<'a> {
    owner: &'a Owner,
    label: &'a str,
}

fn anonymous(owner: &Owner) -> Caller<'_> {
    Caller { owner, label: "" }
}

enum Step {
    Acquired(Lease),
    Resumed(Holder),
    Queued {
        position: i64,
        holder_ttl_ms: i64,
    },
    Busy {
        holder_ttl_ms: i64,
        holder_label: String,
    },
}

/// Takes a waiter out of the queue unless it ended holding the lock. On drop (the request's
/// future was cancelled) it does so in a task of its own.
struct QueueGuard {
    engine: Engine,
    keys: LockKeys,
    owner: String,
    armed: bool,
}

impl QueueGuard {
    async fn leave(&mut self) -> Result<(), EngineError> {
        self.armed = false;
        self.engine.leave_queue(&self.keys, &self.owner).await
    }
}

impl Drop for QueueGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let engine = self.engine.clone();
        let keys = self.keys.clone();
        let owner = std::mem::take(&mut self.owner);
        runtime.spawn(async move {
            if let Err(err) = engine.leave_queue(&keys, &owner).await {
                tracing::warn!(error = %err, lock = %keys.lease, "could not leave queue; presence timeout will");
            }
        });
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn unexpected(script: &str, status: &str) -> EngineError {
    EngineError::Protocol(format!("{script} returned {status:?}"))
}
