//! `lua/clear.lua`: force-clears a resource: its lease and every queued ticket end.

use redis::{Cmd, Value};

use super::{unexpected, LockScript, Pairs};

pub struct Clear;

impl LockScript for Clear {
    const NAME: &'static str = "clear";
    /// How many tickets ended.
    type Reply = u64;

    fn args(&self, _: &mut Cmd) {}

    fn reply(value: Value) -> Result<u64, String> {
        let pairs = Pairs::new(value)?;
        match pairs.status()?.as_str() {
            "cleared" => pairs.count("count"),
            other => Err(unexpected(other)),
        }
    }
}
