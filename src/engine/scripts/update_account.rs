//! `lua/update_account.lua`: change an account's settings unless they changed since read, and
//! announce it so every gateway drops what it cached.

use std::sync::LazyLock;

use redis::{Script, ScriptInvocation, Value};

use super::{standalone_script, unexpected, Standalone};
use crate::engine::keys::AccountKeys;
use crate::engine::AccountUpdate;

static SCRIPT: LazyLock<Script> = standalone_script!("update_account.lua");

pub struct UpdateAccount<'a> {
    pub keys: &'a AccountKeys,
    /// Where account changes are announced, and the id announced.
    pub channel: &'a str,
    pub id: &'a str,
    /// The revision the caller read.
    pub rev: u64,
    pub fields: &'a [(&'a str, String)],
}

impl Standalone for UpdateAccount<'_> {
    const NAME: &'static str = "update_account";
    type Reply = AccountUpdate;

    fn invocation(&self) -> ScriptInvocation<'static> {
        let mut invocation = SCRIPT.prepare_invoke();
        invocation
            .key(&self.keys.record)
            .arg(self.channel)
            .arg(self.id)
            .arg(self.rev);
        for (field, value) in self.fields {
            invocation.arg(*field).arg(value);
        }
        invocation
    }

    fn reply(value: Value) -> Result<AccountUpdate, String> {
        let status: String = redis::from_redis_value(value).map_err(|e| e.to_string())?;
        match status.as_str() {
            "updated" => Ok(AccountUpdate::Updated),
            "missing" => Ok(AccountUpdate::Missing),
            "conflict" => Ok(AccountUpdate::Conflict),
            other => Err(unexpected(other)),
        }
    }
}
