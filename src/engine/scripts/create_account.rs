//! `lua/create_account.lua`: store a new account record unless the id is taken.

use std::sync::LazyLock;

use redis::{Script, ScriptInvocation, Value};

use super::{standalone_script, Standalone};
use crate::engine::keys::AccountKeys;

static SCRIPT: LazyLock<Script> = standalone_script!("create_account.lua");

pub struct CreateAccount<'a> {
    pub keys: &'a AccountKeys,
    /// SHA-256 (hex) of the account's secret.
    pub secret_hash: &'a str,
    /// When set, the record vanishes this long after its creation (its `expires_ms` field says
    /// when).
    pub lifetime: Option<std::time::Duration>,
    pub fields: &'a [(&'a str, String)],
}

impl Standalone for CreateAccount<'_> {
    const NAME: &'static str = "create_account";
    /// The creation time (Redis ms), or `None` when the id is taken.
    type Reply = Option<i64>;

    fn invocation(&self) -> ScriptInvocation<'static> {
        let mut invocation = SCRIPT.prepare_invoke();
        invocation
            .key(&self.keys.record)
            .arg(self.secret_hash)
            .arg(self.lifetime.map_or(0, crate::engine::millis));
        for (field, value) in self.fields {
            invocation.arg(*field).arg(value);
        }
        invocation
    }

    fn reply(value: Value) -> Result<Option<i64>, String> {
        let created: i64 = redis::from_redis_value(value).map_err(|e| e.to_string())?;
        Ok((created != 0).then_some(created))
    }
}
