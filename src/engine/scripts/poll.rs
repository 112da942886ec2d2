//! `lua/poll.lua`: a ticket's sign of life, and its claim of a hand-off.

use redis::{Cmd, Value};

use super::list_tickets::attached;
use super::{lease, reason, unexpected, LockScript, Pairs, WITHDRAWN};
use crate::engine::{Poll as Outcome, Ticketed};

pub struct Poll<'a> {
    pub ticket: &'a str,
    pub nonce: &'a str,
}

impl LockScript for Poll<'_> {
    const NAME: &'static str = "poll";
    type Reply = Ticketed<Outcome>;

    fn args(&self, cmd: &mut Cmd) {
        cmd.arg(self.ticket).arg(self.nonce);
    }

    fn reply(value: Value) -> Result<Ticketed<Outcome>, String> {
        let pairs = Pairs::new(value)?;
        let outcome = match pairs.status()?.as_str() {
            "acquired" => Outcome::Acquired(lease(&pairs)?),
            "queued" => Outcome::Queued {
                position: pairs.count("position")?,
                holder_ttl_ms: pairs.int("ttl_ms")?,
            },
            "released" => Outcome::Released {
                reason: reason(&pairs)?,
            },
            "unknown" => Outcome::Unknown,
            "withdrawn" => return Err(WITHDRAWN.into()),
            other => return Err(unexpected(other)),
        };
        Ok(Ticketed {
            outcome,
            record: attached(&pairs)?,
        })
    }
}
