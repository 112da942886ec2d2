//! `lua/renew.lua`: the holder extends (and so confirms) its lease.

use std::time::Duration;

use redis::{Cmd, Value};

use super::{unexpected, LockScript, Pairs};
use crate::engine::{millis, Renew as Outcome};

pub struct Renew<'a> {
    pub owner: &'a str,
    pub nonce: &'a str,
    pub lease: Duration,
}

impl LockScript for Renew<'_> {
    const NAME: &'static str = "renew";
    type Reply = Outcome;

    fn args(&self, cmd: &mut Cmd) {
        cmd.arg(self.owner).arg(self.nonce).arg(millis(self.lease));
    }

    fn reply(value: Value) -> Result<Outcome, String> {
        let pairs = Pairs::new(value)?;
        match pairs.status()?.as_str() {
            "renewed" => Ok(Outcome::Renewed {
                expires_at_ms: pairs.int("expires_ms")?,
            }),
            "not_owner" => Ok(Outcome::NotOwner),
            "not_held" => Ok(Outcome::NotHeld),
            other => Err(unexpected(other)),
        }
    }
}
