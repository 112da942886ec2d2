//! `lua/inspect.lua`: who holds the lock and how many tickets are queued.

use std::sync::LazyLock;

use redis::{Script, ScriptInvocation, Value};

use super::{lease, lock_script, unexpected, LockScript, Pairs};
use crate::engine::{Holder, LockState};

static SCRIPT: LazyLock<Script> = lock_script!("inspect.lua");

pub struct Inspect;

impl LockScript for Inspect {
    const NAME: &'static str = "inspect";
    type Reply = LockState;

    fn script() -> &'static Script {
        &SCRIPT
    }

    fn args(&self, _: &mut ScriptInvocation<'_>) {}

    fn reply(value: Value) -> Result<LockState, String> {
        let pairs = Pairs::new(value)?;
        let holder = match pairs.status()?.as_str() {
            "held" => Some(Holder {
                owner: pairs.text("owner")?,
                lease: lease(&pairs)?,
            }),
            "free" => None,
            other => return Err(unexpected(other)),
        };
        Ok(LockState {
            holder,
            waiting: pairs.count("queued")?,
        })
    }
}
