//! Tickets as first-class operations: enqueue without blocking, poll (sign of life and claim),
//! withdraw, list, force-clear. The blocking acquire of `waiting.rs` is built on these.

use super::scripts::{clear, enqueue, list_tickets, poll, withdraw};
use super::{
    millis, EndReason, Engine, EngineError, Enqueue, Liveness, LockKeys, LockRef, Poll,
    TicketRecord, TicketSpec, Ticketed, Withdraw,
};

impl Engine {
    /// Takes the lock for the ticket if it is free and nobody is queued, else queues the ticket.
    /// Asking again for a ticket already queued or holding answers its state. If Redis does not
    /// answer, the ticket is withdrawn once it does, since the caller never learned of it.
    pub async fn enqueue(
        &self,
        lock: &LockRef,
        spec: &TicketSpec<'_>,
    ) -> Result<Ticketed<Enqueue>, EngineError> {
        let keys = self.inner.keys.lock(lock);
        let nonce = self.nonce();
        self.enqueue_at(&keys, spec, &nonce).await
    }

    pub(super) async fn enqueue_at(
        &self,
        keys: &LockKeys,
        spec: &TicketSpec<'_>,
        nonce: &str,
    ) -> Result<Ticketed<Enqueue>, EngineError> {
        let (live_ms, claim) = match spec.liveness {
            Liveness::Client { idle } => (millis(idle), false),
            Liveness::Gateway => (millis(self.inner.presence), true),
        };
        let script = enqueue::Enqueue {
            spec,
            nonce,
            live_ms,
            claim,
        };
        let done = self.run_lock(keys, &script).await;
        self.heal_if_unknown(done, keys, spec.ticket, nonce)
    }

    /// The ticket's sign of life: a queued ticket stays queued for its idle time from now, and
    /// a gateway-driven ticket that was handed the lock claims it.
    pub async fn poll(&self, lock: &LockRef, ticket: &str) -> Result<Ticketed<Poll>, EngineError> {
        let keys = self.inner.keys.lock(lock);
        self.poll_at(&keys, ticket, "").await
    }

    pub(super) async fn poll_at(
        &self,
        keys: &LockKeys,
        ticket: &str,
        nonce: &str,
    ) -> Result<Ticketed<Poll>, EngineError> {
        self.run_lock(keys, &poll::Poll { ticket, nonce }).await
    }

    /// Ends the ticket: a queued one leaves the queue, a holding one releases the lock to the
    /// next ticket. `reason` is kept in its record.
    pub async fn withdraw(
        &self,
        lock: &LockRef,
        ticket: &str,
        reason: EndReason,
    ) -> Result<Ticketed<Withdraw>, EngineError> {
        let keys = self.inner.keys.lock(lock);
        self.withdraw_at(&keys, ticket, None, reason, "").await
    }

    /// Ends the ticket on behalf of `by` (a label): a holder's lease is `released` when `by` is
    /// its own label, else `force_released`; a queued ticket is `withdrawn`. A ticket already
    /// ended is left as it is (`Withdraw::Absent`, with its record while kept).
    pub async fn end_ticket(
        &self,
        lock: &LockRef,
        ticket: &str,
        by: &str,
    ) -> Result<Ticketed<Withdraw>, EngineError> {
        let keys = self.inner.keys.lock(lock);
        self.withdraw_at(&keys, ticket, None, EndReason::Released, by)
            .await
    }

    pub(super) async fn withdraw_at(
        &self,
        keys: &LockKeys,
        ticket: &str,
        nonce: Option<&str>,
        reason: EndReason,
        by: &str,
    ) -> Result<Ticketed<Withdraw>, EngineError> {
        let script = withdraw::Withdraw {
            ticket,
            nonce,
            reason,
            by,
            remember: super::healing::REMEMBER_WITHDRAWAL,
        };
        self.run_lock(keys, &script).await
    }

    /// Every ticket of the lock: the holder, the queue in order, then released tickets whose
    /// record is kept, newest first.
    pub async fn tickets(&self, lock: &LockRef) -> Result<Vec<TicketRecord>, EngineError> {
        let keys = self.inner.keys.lock(lock);
        self.run_lock(&keys, &list_tickets::ListTickets).await
    }

    /// Force-clears the lock: its lease and every queued ticket end (`cleared`); waiters are
    /// woken to learn it. Returns how many tickets ended.
    pub async fn clear(&self, lock: &LockRef) -> Result<u64, EngineError> {
        let keys = self.inner.keys.lock(lock);
        self.run_lock(&keys, &clear::Clear).await
    }
}
