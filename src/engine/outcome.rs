//! What engine operations answer, in words the dialects translate into their own.

/// A lease the caller now holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Strictly larger than every token issued before for this lock.
    pub fencing_token: u64,
    /// Redis time, ms since the epoch.
    pub acquired_at_ms: i64,
    pub expires_at_ms: i64,
}

/// One attempt to acquire, without waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TryAcquire {
    Acquired(Lease),
    /// Held by someone else (or promised to a waiter); the holder's lease ends in this many ms.
    HeldByOther {
        holder_ttl_ms: i64,
    },
}

/// The end of an acquisition that may have waited in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquire {
    Acquired(Lease),
    /// The wait ran out (or was zero) while someone else held the lock.
    TimedOut,
    /// The gateway is shutting down; the caller left the queue.
    ShuttingDown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    Released,
    NotOwner,
    NotHeld,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renew {
    Renewed { expires_at_ms: i64 },
    NotOwner,
    NotHeld,
}

/// Who holds a lock, as seen by `inspect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub owner: String,
    pub lease: Lease,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockState {
    pub holder: Option<Holder>,
    /// Waiters in the queue, including ones whose gateway vanished but are not pruned yet.
    pub waiting: u64,
}

/// One lock of a grouped namespace, as [`crate::engine::Engine::list`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedLock {
    pub name: String,
    pub holder: Option<Holder>,
    /// When a free lock became free (released, or its lease ran out), Redis ms; `None` if held.
    pub free_since_ms: Option<i64>,
}
