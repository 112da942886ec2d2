//! `lua/count_hit.lua`: count one hit in a fixed window shared by every gateway.

use std::sync::LazyLock;
use std::time::Duration;

use redis::{Script, ScriptInvocation, Value};

use super::{standalone_script, Standalone};
use crate::engine::{millis, Window};

static SCRIPT: LazyLock<Script> = standalone_script!("count_hit.lua");

pub struct CountHit<'a> {
    /// The window's counter.
    pub key: &'a str,
    pub window: Duration,
}

impl Standalone for CountHit<'_> {
    const NAME: &'static str = "count_hit";
    type Reply = Window;

    fn invocation(&self) -> ScriptInvocation<'static> {
        let mut invocation = SCRIPT.prepare_invoke();
        invocation.key(self.key).arg(millis(self.window));
        invocation
    }

    fn reply(value: Value) -> Result<Window, String> {
        let (hits, ends_in_ms): (u64, u64) =
            redis::from_redis_value(value).map_err(|e| e.to_string())?;
        Ok(Window { hits, ends_in_ms })
    }
}
