//! `lua/release.lua`: the holder gives the lock up.

use std::sync::LazyLock;

use redis::{Script, ScriptInvocation, Value};

use super::{lock_script, unexpected, LockScript, Pairs};
use crate::engine::Release as Outcome;

static SCRIPT: LazyLock<Script> = lock_script!("release.lua");

pub struct Release<'a> {
    pub owner: &'a str,
}

impl LockScript for Release<'_> {
    const NAME: &'static str = "release";
    type Reply = Outcome;

    fn script() -> &'static Script {
        &SCRIPT
    }

    fn args(&self, invocation: &mut ScriptInvocation<'_>) {
        invocation.arg(self.owner);
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
