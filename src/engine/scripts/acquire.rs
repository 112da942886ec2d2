//! `lua/acquire.lua`: one try to take a lock, without queueing.

use std::time::Duration;

use redis::{Cmd, Value};

use super::{lease, unexpected, LockScript, Pairs, WITHDRAWN};
use crate::engine::{millis, Holder, Lease};

pub struct Acquire<'a> {
    pub owner: &'a str,
    pub nonce: &'a str,
    /// "" for none; a holder with the same label gets its lease renewed.
    pub label: &'a str,
    pub lease: Duration,
}

pub enum Reply {
    Acquired(Lease),
    Resumed(Holder),
    Busy { ttl_ms: i64, label: String },
}

impl LockScript for Acquire<'_> {
    const NAME: &'static str = "acquire";
    type Reply = Reply;

    fn args(&self, cmd: &mut Cmd) {
        cmd.arg(self.owner)
            .arg(self.nonce)
            .arg(self.label)
            .arg(millis(self.lease));
    }

    fn reply(value: Value) -> Result<Reply, String> {
        let pairs = Pairs::new(value)?;
        match pairs.status()?.as_str() {
            "acquired" => Ok(Reply::Acquired(lease(&pairs)?)),
            "resumed" => Ok(Reply::Resumed(Holder {
                owner: pairs.text("owner")?,
                lease: lease(&pairs)?,
            })),
            "busy" => Ok(Reply::Busy {
                ttl_ms: pairs.int("ttl_ms")?,
                label: pairs.text("label")?,
            }),
            "withdrawn" => Err(WITHDRAWN.into()),
            other => Err(unexpected(other)),
        }
    }
}
