//! Leases without a queue of one's own: take, renew, release, inspect, list. The acquisitions
//! here never wait; `waiting.rs` builds the blocking acquire on tickets.

use std::time::Duration;

use super::scripts::{acquire, inspect, list_locks, release, renew};
use super::{
    Engine, EngineError, LockRecord, LockRef, LockState, Namespace, Owner, Release, Renew,
    TryAcquire,
};

impl Engine {
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
    /// so a retried request does not leak the lock. If Redis does not answer, the attempt is
    /// withdrawn once it does (see `healing.rs`).
    pub async fn try_acquire_labelled(
        &self,
        lock: &LockRef,
        owner: &Owner,
        label: &str,
        lease: Duration,
    ) -> Result<TryAcquire, EngineError> {
        let keys = self.inner.keys.lock(lock);
        let nonce = self.nonce();
        let script = acquire::Acquire {
            owner,
            nonce: &nonce,
            label,
            lease,
        };
        let reply = self.run_lock(&keys, &script).await;
        let reply = self.heal_if_unknown(reply, &keys, owner, &nonce)?;
        Ok(match reply {
            acquire::Reply::Acquired(lease) => TryAcquire::Acquired(lease),
            acquire::Reply::Resumed(holder) => TryAcquire::Resumed(holder),
            acquire::Reply::Busy { ttl_ms, label } => TryAcquire::HeldByOther {
                holder_ttl_ms: ttl_ms,
                holder_label: label,
            },
        })
    }

    /// Gives the lock up if `owner` holds it; the longest waiter gets it at once.
    pub async fn release(&self, lock: &LockRef, owner: &Owner) -> Result<Release, EngineError> {
        let keys = self.inner.keys.lock(lock);
        self.run_lock(&keys, &release::Release { owner }).await
    }

    /// Extends the holder's lease to `lease` from now.
    pub async fn renew(
        &self,
        lock: &LockRef,
        owner: &Owner,
        lease: Duration,
    ) -> Result<Renew, EngineError> {
        let keys = self.inner.keys.lock(lock);
        let nonce = self.nonce();
        let script = renew::Renew {
            owner,
            nonce: &nonce,
            lease,
        };
        self.run_lock(&keys, &script).await
    }

    /// Who holds the lock, and how many wait.
    pub async fn inspect(&self, lock: &LockRef) -> Result<LockState, EngineError> {
        let keys = self.inner.keys.lock(lock);
        self.run_lock(&keys, &inspect::Inspect).await
    }

    /// The records of a grouped namespace's locks, held ones and released ones still retained,
    /// sorted by name.
    pub async fn list(&self, namespace: &Namespace) -> Result<Vec<LockRecord>, EngineError> {
        self.records(namespace, None).await
    }

    /// The record of one grouped lock, or `None` if it is unknown (never acquired, or released
    /// longer ago than its retention).
    pub async fn describe(&self, lock: &LockRef) -> Result<Option<LockRecord>, EngineError> {
        Ok(self
            .records(&lock.namespace, Some(lock.name.as_str()))
            .await?
            .into_iter()
            .next())
    }

    async fn records(
        &self,
        namespace: &Namespace,
        only: Option<&str>,
    ) -> Result<Vec<LockRecord>, EngineError> {
        if !namespace.is_group() {
            return Err(EngineError::Inconsistent(
                "only a grouped namespace can be listed".into(),
            ));
        }
        let group = self.inner.keys.group(namespace);
        self.run_script(&list_locks::ListLocks {
            group: &group,
            only,
        })
        .await
    }
}
