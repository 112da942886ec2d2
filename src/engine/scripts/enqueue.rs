//! `lua/enqueue.lua`: a ticket takes the lock or joins its queue, without blocking.

use redis::{Cmd, Value};

use super::list_tickets::attached;
use super::{lease, unexpected, LockScript, Pairs, WITHDRAWN};
use crate::engine::{millis, Enqueue as Outcome, TicketSpec, Ticketed};

pub struct Enqueue<'a> {
    pub spec: &'a TicketSpec<'a>,
    pub nonce: &'a str,
    /// How long the ticket stays queued without a sign of life.
    pub live_ms: u64,
    /// A waiting gateway must claim a hand-off (gateway-driven liveness).
    pub claim: bool,
}

impl LockScript for Enqueue<'_> {
    const NAME: &'static str = "enqueue";
    type Reply = Ticketed<Outcome>;

    fn args(&self, cmd: &mut Cmd) {
        cmd.arg(self.spec.ticket)
            .arg(self.nonce)
            .arg(self.spec.label)
            .arg(millis(self.spec.lease))
            .arg(self.live_ms)
            .arg(if self.claim { "1" } else { "0" });
    }

    fn reply(value: Value) -> Result<Ticketed<Outcome>, String> {
        let pairs = Pairs::new(value)?;
        let outcome = match pairs.status()?.as_str() {
            "acquired" => Outcome::Acquired(lease(&pairs)?),
            "queued" => Outcome::Queued {
                position: pairs.count("position")?,
                holder_ttl_ms: pairs.int("ttl_ms")?,
            },
            "withdrawn" => return Err(WITHDRAWN.into()),
            other => return Err(unexpected(other)),
        };
        Ok(Ticketed {
            outcome,
            record: attached(&pairs)?,
        })
    }
}
