//! `lua/withdraw.lua`: a ticket gives up, or a gateway takes back a request it could not finish.

use std::time::Duration;

use redis::{Cmd, Value};

use super::list_tickets::attached;
use super::{unexpected, LockScript, Pairs};
use crate::engine::{millis, EndReason, Ticketed, Withdraw as Outcome};

pub struct Withdraw<'a> {
    pub ticket: &'a str,
    /// The request taken back; `None` ends the ticket whatever request took it.
    pub nonce: Option<&'a str>,
    pub reason: EndReason,
    /// Who ends it (a label), or "": when set, the reason follows from it instead (`released`
    /// by the holder's own label, else `force_released`; `withdrawn` while queued).
    pub by: &'a str,
    /// How long the withdrawn nonce is remembered, so the request changes nothing should it
    /// still reach Redis.
    pub remember: Duration,
}

impl LockScript for Withdraw<'_> {
    const NAME: &'static str = "withdraw";
    type Reply = Ticketed<Outcome>;

    fn args(&self, cmd: &mut Cmd) {
        cmd.arg(self.ticket)
            .arg(self.nonce.unwrap_or_default())
            .arg(self.reason.as_str())
            .arg(millis(self.remember))
            .arg(self.by);
    }

    fn reply(value: Value) -> Result<Ticketed<Outcome>, String> {
        let pairs = Pairs::new(value)?;
        let outcome = match pairs.status()?.as_str() {
            "released" => Outcome::Released,
            "left" => Outcome::Left,
            "kept" => Outcome::Kept,
            "absent" => Outcome::Absent,
            other => return Err(unexpected(other)),
        };
        Ok(Ticketed {
            outcome,
            record: attached(&pairs)?,
        })
    }
}
