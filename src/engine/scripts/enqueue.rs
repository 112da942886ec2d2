//! `lua/enqueue.lua`: a ticket takes the lock or joins its queue, without blocking.

use redis::{Cmd, Value};

use super::{lease, unexpected, LockScript, Pairs};
use crate::engine::{millis, Lease, TicketSpec};

pub struct Enqueue<'a> {
    pub spec: &'a TicketSpec<'a>,
    pub nonce: &'a str,
    /// How long the ticket stays queued without a sign of life.
    pub live_ms: u64,
    /// A waiting gateway must claim a hand-off (gateway-driven liveness).
    pub claim: bool,
}

pub enum Reply {
    Acquired(Lease),
    Queued { position: u64, ttl_ms: i64 },
    Withdrawn,
}

impl LockScript for Enqueue<'_> {
    const NAME: &'static str = "enqueue";
    type Reply = Reply;

    fn args(&self, cmd: &mut Cmd) {
        cmd.arg(self.spec.ticket)
            .arg(self.nonce)
            .arg(self.spec.label)
            .arg(millis(self.spec.lease))
            .arg(self.live_ms)
            .arg(if self.claim { "1" } else { "0" });
    }

    fn reply(value: Value) -> Result<Reply, String> {
        let pairs = Pairs::new(value)?;
        match pairs.status()?.as_str() {
            "acquired" => Ok(Reply::Acquired(lease(&pairs)?)),
            "queued" => Ok(Reply::Queued {
                position: pairs.count("position")?,
                ttl_ms: pairs.int("ttl_ms")?,
            }),
            "withdrawn" => Ok(Reply::Withdrawn),
            other => Err(unexpected(other)),
        }
    }
}
