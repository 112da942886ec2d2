//! `lua/clear.lua`: force-clears a resource: its lease and every queued ticket end.

use std::sync::LazyLock;

use redis::{Cmd, Value};

use super::{lock_function, unexpected, LockScript, Pairs};

static FUNCTION: LazyLock<String> = lock_function!("clear");

pub struct Clear<'a> {
    pub reason: &'a str,
}

impl LockScript for Clear<'_> {
    const NAME: &'static str = "clear";
    /// How many tickets ended.
    type Reply = u64;

    fn function() -> &'static str {
        &FUNCTION
    }

    fn args(&self, cmd: &mut Cmd) {
        cmd.arg(self.reason);
    }

    fn reply(value: Value) -> Result<u64, String> {
        let pairs = Pairs::new(value)?;
        match pairs.status()?.as_str() {
            "cleared" => pairs.count("count"),
            other => Err(unexpected(other)),
        }
    }
}
