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

/// A ticket: a place in a lock's FIFO queue, or the lock itself once it reaches the head.
#[derive(Debug, Clone, Copy)]
pub struct TicketSpec<'a> {
    /// Unique per ticket: it is the owner token once the ticket holds the lock.
    pub ticket: &'a str,
    /// Who asked (e.g. a requestor), "" for none.
    pub label: &'a str,
    /// How long the lease lasts once the ticket holds the lock.
    pub lease: std::time::Duration,
    pub liveness: Liveness,
}

/// Who keeps a queued ticket alive, and so what a hand-off to it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// The client polls; a ticket without a poll for `idle` is dropped. A hand-off starts the
    /// ticket's lease at once: it holds the lock whether or not it polls again.
    Client { idle: std::time::Duration },
    /// A gateway waits for the ticket and refreshes it; a hand-off must be claimed by that
    /// gateway within the claim window, else it passes to the next ticket.
    Gateway,
}

/// What enqueueing a ticket did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enqueue {
    Acquired(Lease),
    /// `position` 1 is next in line; the holder's lease ends in `holder_ttl_ms`.
    Queued {
        position: u64,
        holder_ttl_ms: i64,
    },
}

/// A ticket's state, as its poll (sign of life, claim) found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    Acquired(Lease),
    Queued {
        position: u64,
        holder_ttl_ms: i64,
    },
    /// The ticket ended; its record is still kept.
    Released {
        reason: EndReason,
    },
    /// No such ticket, or its record is gone.
    Unknown,
}

/// What withdrawing a ticket did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withdraw {
    /// It held the lock; the lock went to the next ticket or became free.
    Released,
    /// It was queued and left the queue.
    Left,
    /// It holds a lease a later request confirmed: kept.
    Kept,
    /// It neither held nor waited.
    Absent,
}

/// What a ticket operation did, and the ticket's record after it (`None` once the ticket is
/// unknown, e.g. released on a resource that keeps no records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticketed<T> {
    pub outcome: T,
    pub record: Option<TicketRecord>,
}

/// One ticket of a resource, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRecord {
    pub ticket: String,
    pub status: TicketStatus,
    pub label: String,
    pub lease_ms: u64,
    pub created_at_ms: i64,
    /// Its last change: queued, acquired or released.
    pub updated_at_ms: i64,
    /// Set once the ticket held the lock.
    pub fencing_token: Option<u64>,
    pub acquired_at_ms: Option<i64>,
    /// While it holds the lock.
    pub expires_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketStatus {
    /// Holds the lock; `claimed` is false while a hand-off waits for its gateway's claim.
    Acquired {
        claimed: bool,
    },
    Queued {
        position: u64,
    },
    Released {
        reason: EndReason,
        released_at_ms: i64,
    },
}

/// Why a ticket ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// Its holder released it.
    Released,
    /// Someone other than its holder released it.
    ForceReleased,
    /// It gave up while queued, or its gateway took back a request it could not finish.
    Withdrawn,
    /// Its lease ran out.
    Expired,
    /// It gave no sign of life within its idle time while queued.
    DroppedIdle,
    /// The whole resource was cleared.
    Cleared,
}

impl EndReason {
    const ALL: [EndReason; 6] = [
        EndReason::Released,
        EndReason::ForceReleased,
        EndReason::Withdrawn,
        EndReason::Expired,
        EndReason::DroppedIdle,
        EndReason::Cleared,
    ];

    /// As the scripts store it.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Released => "released",
            EndReason::ForceReleased => "force_released",
            EndReason::Withdrawn => "withdrawn",
            EndReason::Expired => "expired",
            EndReason::DroppedIdle => "dropped_idle",
            EndReason::Cleared => "cleared",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.as_str() == text)
    }
}
