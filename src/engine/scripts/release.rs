//! `lua/release.lua`: the holder gives the lock up.

use redis::{Cmd, Value};

use super::{unexpected, LockScript, Pairs};
use crate::engine::Release as Outcome;

pub struct Release<'a> {
    pub owner: &'a str,
}

impl LockScript for Release<'_> {
    const NAME: &'static str = "release";
    type Reply = Outcome;

    fn args(&self, cmd: &mut Cmd) {
        cmd.arg(self.owner);
    }

    fn reply(value: Value) -> Result<Outcome, String> {
        match Pairs::new(value)?.status()?.as_str() {
            "released" => Ok(Outcome::Released),
            "not_owner" => Ok(Outcome::NotOwner),
            "not_held" => Ok(Outcome::NotHeld),
            "unknown" => Ok(Outcome::Unknown),
            other => Err(unexpected(other)),
        }
    }
}
