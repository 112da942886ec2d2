//! `lua/inspect.lua`: who holds the lock and how many tickets are queued.

use std::sync::LazyLock;

use redis::{Cmd, Value};

use super::{lease, lock_function, unexpected, LockScript, Pairs};
use crate::engine::{Holder, LockState};

static FUNCTION: LazyLock<String> = lock_function!("inspect");

pub struct Inspect;

impl LockScript for Inspect {
    const NAME: &'static str = "inspect";
    type Reply = LockState;

    fn function() -> &'static str {
        &FUNCTION
    }

    fn args(&self, _: &mut Cmd) {}

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
