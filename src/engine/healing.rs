//! Queues that heal themselves: a request whose Redis call timed out or lost its connection may
//! still run once Redis answers again, taking a lock (or a place in a queue) for a client that
//! was told 503. The engine knows the owner token and the request's nonce it sent; it withdraws
//! them in a task of its own, retrying until Redis answers. The withdrawal is remembered for a
//! while, so the original call changes nothing should it reach Redis after it; a lease a later
//! request confirmed (a retried synchronize request that got it back, a renewal) is kept.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use tokio::time::Instant;

use super::{EndReason, Engine, EngineError, LockKeys, Ticketed, Withdraw};

/// How long a withdrawn request is remembered in Redis: far longer than a call can sit in a
/// connection's buffer once Redis answers again.
pub(super) const REMEMBER_WITHDRAWAL: Duration = Duration::from_secs(60);

/// A withdrawal still failing after this long is given up (and logged): by then the lease it
/// would free has mostly run out, and the queue's liveness has dropped the ticket.
const GIVE_UP_AFTER: Duration = Duration::from_secs(600);

/// Unique per process start (64 random bits), so nonces of different gateways never meet; short,
/// since every lease stores one.
static PROCESS: LazyLock<String> =
    LazyLock::new(|| format!("{:x}", uuid::Uuid::new_v4().as_u64_pair().0));

impl Engine {
    /// A new request nonce: the lease and the withdrawal record name the request by it.
    pub(super) fn nonce(&self) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let mut nonce = String::with_capacity(PROCESS.len() + 17);
        nonce.push_str(&PROCESS);
        nonce.push('.');
        nonce.push_str(&n.to_string());
        nonce
    }

    /// `result` as it is; when it failed with an outcome Redis left unknown, the request
    /// `nonce` of `ticket` is withdrawn once Redis answers.
    pub(super) fn heal_if_unknown<T>(
        &self,
        result: Result<T, EngineError>,
        keys: &LockKeys,
        ticket: &str,
        nonce: &str,
    ) -> Result<T, EngineError> {
        if let Err(err) = &result {
            if err.outcome_unknown() {
                self.withdraw_later(keys.clone(), ticket.to_owned(), nonce.to_owned());
            }
        }
        result
    }

    /// Withdraws the request `nonce` of `ticket` once Redis answers, in a task of its own.
    pub(super) fn withdraw_later(&self, keys: LockKeys, ticket: String, nonce: String) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let engine = Arc::downgrade(&self.inner);
        runtime.spawn(async move {
            let started = Instant::now();
            let mut pause = Duration::from_millis(50);
            loop {
                let Some(inner) = engine.upgrade() else {
                    return;
                };
                let engine = Engine { inner };
                match engine
                    .withdraw_at(&keys, &ticket, Some(&nonce), EndReason::Withdrawn, "")
                    .await
                {
                    Ok(Ticketed { outcome, .. }) => {
                        if outcome != Withdraw::Absent {
                            tracing::info!(lock = %keys.lease, ?outcome, "withdrew an unfinished request");
                        }
                        return;
                    }
                    Err(err) if err.is_unavailable() && started.elapsed() < GIVE_UP_AFTER => {
                        tracing::debug!(error = %err, "withdrawal waits for Redis");
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, lock = %keys.lease, "gave up withdrawing an unfinished request");
                        return;
                    }
                }
                drop(engine);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        });
    }
}
