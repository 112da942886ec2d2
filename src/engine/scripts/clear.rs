//! `lua/clear.lua`: force-clears a resource: its lease and every queued ticket end.

use std::sync::LazyLock;

use redis::{Script, ScriptInvocation, Value};

use super::{lock_script, unexpected, LockScript, Pairs};

static SCRIPT: LazyLock<Script> = lock_script!("clear.lua");

pub struct Clear<'a> {
    pub reason: &'a str,
}

impl LockScript for Clear<'_> {
    const NAME: &'static str = "clear";
    /// How many tickets ended.
    type Reply = u64;

    fn script() -> &'static Script {
        &SCRIPT
    }

    fn args(&self, invocation: &mut ScriptInvocation<'_>) {
        invocation.arg(self.reason);
    }

    fn reply(value: Value) -> Result<u64, String> {
        let pairs = Pairs::new(value)?;
        match pairs.status()?.as_str() {
            "cleared" => pairs.count("count"),
            other => Err(unexpected(other)),
        }
    }
}
