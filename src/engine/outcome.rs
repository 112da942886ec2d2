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
    /// The holder had the caller's label: its lease was renewed and keeps its owner token.
    Resumed(Holder),
    /// Held by someone else (or promised to a waiter); the holder's lease ends in this many ms.
    HeldByOther {
        holder_ttl_ms: i64,
        /// The holder's label ("" if it has none).
        holder_label: String,
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
    /// Nobody holds it, and a grouped lock has no record: never held, or forgotten.
    Unknown,
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

/// The record of a grouped namespace's lock: its current lease, or its last one for as long as
/// the group's retention keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRecord {
    pub name: String,
    /// Whether a lease is running now.
    pub locked: bool,
    /// Owner token of the current or last lease.
    pub owner: String,
    /// Label of the current or last holder ("" if it had none).
    pub label: String,
    pub fencing_token: u64,
    /// When the record was created (the first acquisition it remembers), Redis ms.
    pub created_at_ms: i64,
    /// Its last acquisition, renewal or release, Redis ms.
    pub updated_at_ms: i64,
    /// When the running lease ends, if locked.
    pub expires_at_ms: Option<i64>,
}
