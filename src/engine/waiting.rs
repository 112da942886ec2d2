//! The blocking acquire: a gateway-driven ticket whose gateway waits for it. The waiter
//! subscribes to its lock's channel, enqueues, and sleeps until a hand-off names it, the lease
//! it waits behind ends, its presence needs refreshing, or its time runs out. Every waiter (not
//! only the head) wakes when the lease ends, so a lock whose head waiter's gateway died is
//! passed on within the claim window; hand-off messages carry the new lease's length, so
//! waiters learn it without a round trip.

use std::time::Duration;

use tokio::time::Instant;

use super::notifier::Wake;
use super::{
    Acquire, EndReason, Engine, EngineError, Enqueue, Holder, Liveness, LockKeys, LockRef, Owner,
    Poll, TicketSpec, Ticketed, TryAcquire,
};

impl Engine {
    /// Takes the lock, waiting up to `wait` in its FIFO queue. If the caller's future is dropped
    /// (its HTTP client went away) or Redis stops answering, the ticket is withdrawn, releasing a
    /// hand-off that reached it.
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
        // Subscribe before enqueueing, so no hand-off can be published unseen.
        let mut subscription = self
            .bounded("subscribe", async {
                Ok(self.inner.notifier.subscribe(&keys.channel).await?)
            })
            .await?;
        let spec = TicketSpec {
            ticket: owner,
            label: "",
            lease,
            liveness: Liveness::Gateway,
        };
        let mut guard = QueueGuard {
            engine: self.clone(),
            keys,
            ticket: owner.to_owned(),
            nonce: self.nonce(),
            armed: true,
        };
        let (keys, nonce) = (&guard.keys, guard.nonce.as_str());
        let mut lease_end = match self.enqueue_at(keys, &spec, nonce).await?.outcome {
            Enqueue::Acquired(lease) => {
                guard.armed = false;
                return Ok(Acquire::Acquired(lease));
            }
            Enqueue::Queued { holder_ttl_ms, .. } => ends_in(holder_ttl_ms),
        };
        let mut shutdown = self.inner.shutdown.subscribe();
        let refresh = self.inner.presence / 3;
        let mut next_refresh = Instant::now() + refresh;
        // Halfway through another waiter's unclaimed hand-off: a sign of life, so this waiter
        // is not taken for one of a dead gateway's should that hand-off lapse.
        let mut mid_claim: Option<Instant> = None;
        loop {
            let wake = [Some(next_refresh), Some(deadline), lease_end, mid_claim]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(deadline);
            tokio::select! {
                woke = subscription.next_wake(owner) => match woke {
                    Wake::Other { lease_ms, unclaimed } => {
                        let now = Instant::now();
                        lease_end = Some(now + Duration::from_millis(lease_ms + 1));
                        mid_claim = unclaimed.then(|| now + Duration::from_millis(lease_ms / 2));
                        continue;
                    }
                    Wake::Mine | Wake::All => {}
                },
                _ = tokio::time::sleep_until(wake) => {}
                // The watch guard must not live across an await: drop it inside.
                _ = async { drop(shutdown.wait_for(|stopping| *stopping).await) } => {
                    guard.leave().await?;
                    return Ok(Acquire::ShuttingDown);
                }
            }
            // An error leaves the guard armed: it withdraws the ticket once Redis answers.
            let (keys, nonce) = (&guard.keys, guard.nonce.as_str());
            next_refresh = Instant::now() + refresh;
            mid_claim = None;
            lease_end = match self.poll_at(keys, owner, nonce).await?.outcome {
                Poll::Acquired(lease) => {
                    guard.armed = false;
                    return Ok(Acquire::Acquired(lease));
                }
                Poll::Queued { holder_ttl_ms, .. } => ends_in(holder_ttl_ms),
                // Dropped while this gateway could not reach Redis: queue again, at the back.
                Poll::Released { .. } | Poll::Unknown => {
                    match self.enqueue_at(keys, &spec, nonce).await?.outcome {
                        Enqueue::Acquired(lease) => {
                            guard.armed = false;
                            return Ok(Acquire::Acquired(lease));
                        }
                        Enqueue::Queued { holder_ttl_ms, .. } => ends_in(holder_ttl_ms),
                    }
                }
            };
            // Polled first: a lease that ended just at the deadline still reaches this waiter.
            if Instant::now() >= deadline {
                guard.leave().await?;
                return Ok(Acquire::TimedOut);
            }
        }
    }
}

impl Engine {
    /// Polls a client-driven ticket and, while it stays queued, waits up to `wait` for it to
    /// get the lock: woken by a hand-off naming it, at the end of the lease it waits behind
    /// (which nobody announces: the next poll ends it), and every third of `idle` to give the
    /// sign of life that keeps it queued. Answers the last poll: acquired, ended, or still
    /// queued when the wait ran out. Nothing is left to undo if the caller goes away.
    pub async fn await_ticket(
        &self,
        lock: &LockRef,
        ticket: &str,
        wait: Duration,
        idle: Duration,
    ) -> Result<Ticketed<Poll>, EngineError> {
        let keys = self.inner.keys.lock(lock);
        if wait.is_zero() {
            return self.poll_at(&keys, ticket, "").await;
        }
        let deadline = Instant::now() + wait;
        // Subscribed before the first poll, so no hand-off after it goes unseen.
        let mut subscription = self
            .bounded("subscribe", async {
                Ok(self.inner.notifier.subscribe(&keys.channel).await?)
            })
            .await?;
        let mut shutdown = self.inner.shutdown.subscribe();
        let refresh = (idle / 3).max(Duration::from_millis(100));
        loop {
            let polled = self.poll_at(&keys, ticket, "").await?;
            let mut lease_end = match &polled.outcome {
                Poll::Queued { holder_ttl_ms, .. } => ends_in(*holder_ttl_ms),
                _ => return Ok(polled),
            };
            if Instant::now() >= deadline {
                return Ok(polled);
            }
            let next_refresh = Instant::now() + refresh;
            loop {
                let wake = [Some(next_refresh), Some(deadline), lease_end]
                    .into_iter()
                    .flatten()
                    .min()
                    .unwrap_or(deadline);
                tokio::select! {
                    woke = subscription.next_wake(ticket) => match woke {
                        Wake::Other { lease_ms, .. } => {
                            lease_end = Some(Instant::now() + Duration::from_millis(lease_ms + 1));
                        }
                        Wake::Mine | Wake::All => break,
                    },
                    _ = tokio::time::sleep_until(wake) => break,
                    _ = async { drop(shutdown.wait_for(|stopping| *stopping).await) } => {
                        return Ok(polled);
                    }
                }
            }
        }
    }
}

/// When a lease with `ttl_ms` left ends (just after, so it has expired in Redis); `None` for a
/// lease without an end in sight (PTTL's -1 and -2).
fn ends_in(ttl_ms: i64) -> Option<Instant> {
    u64::try_from(ttl_ms)
        .ok()
        .map(|ms| Instant::now() + Duration::from_millis(ms + 1))
}

/// Withdraws a waiting ticket unless it ended holding the lock: at once when the wait ends, in
/// a task of its own (retrying until Redis answers) when the request's future was dropped or
/// its Redis call failed.
struct QueueGuard {
    engine: Engine,
    keys: LockKeys,
    ticket: String,
    nonce: String,
    armed: bool,
}

impl QueueGuard {
    async fn leave(&mut self) -> Result<(), EngineError> {
        let reason = EndReason::Withdrawn;
        let left = self
            .engine
            .withdraw_at(&self.keys, &self.ticket, Some(&self.nonce), reason, "")
            .await;
        // Only a failure whose outcome is unknown needs the retrying task of `drop`.
        if left
            .as_ref()
            .map_or_else(|e| !e.outcome_unknown(), |_| true)
        {
            self.armed = false;
        }
        left.map(drop)
    }
}

impl Drop for QueueGuard {
    fn drop(&mut self) {
        if self.armed {
            self.engine.withdraw_later(
                self.keys.clone(),
                std::mem::take(&mut self.ticket),
                std::mem::take(&mut self.nonce),
            );
        }
    }
}
