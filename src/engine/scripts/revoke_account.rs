//! `lua/revoke_account.lua`: delete an account, announce it, and hand back its held-locks index.

use std::sync::LazyLock;

use redis::{Script, ScriptInvocation, Value};

use super::{standalone_script, unexpected, Standalone};
use crate::engine::keys::AccountKeys;

static SCRIPT: LazyLock<Script> = standalone_script!("revoke_account.lua");

pub struct RevokeAccount<'a> {
    pub keys: &'a AccountKeys,
    /// Where account changes are announced, and the id announced.
    pub channel: &'a str,
    pub id: &'a str,
}

impl Standalone for RevokeAccount<'_> {
    const NAME: &'static str = "revoke_account";
    /// The names of the locks the account acted on, or `None` when there was no such account.
    type Reply = Option<Vec<String>>;

    fn invocation(&self) -> ScriptInvocation<'static> {
        let mut invocation = SCRIPT.prepare_invoke();
        invocation
            .key(&self.keys.record)
            .key(&self.keys.held)
            .arg(self.channel)
            .arg(self.id);
        invocation
    }

    fn reply(value: Value) -> Result<Option<Vec<String>>, String> {
        let reply: Vec<String> = redis::from_redis_value(value).map_err(|e| e.to_string())?;
        match reply.split_first() {
            Some((status, held)) if status == "revoked" => Ok(Some(held.to_vec())),
            Some((status, _)) if status == "missing" => Ok(None),
            Some((status, _)) => Err(unexpected(status)),
            None => Err("an empty reply".into()),
        }
    }
}
