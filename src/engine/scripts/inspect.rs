//! `lua/inspect.lua`: who holds the lock and how many tickets are queued.

use redis::{Cmd, Value};

use super::{lease, unexpected, LockScript, Pairs};
use crate::engine::{Holder, LockState};

pub struct Inspect;

impl LockScript for Inspect {
    const NAME: &'static str = "inspect";
    type Reply = LockState;

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
