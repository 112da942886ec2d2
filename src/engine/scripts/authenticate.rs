//! `lua/authenticate.lua`: check a presented credential, and note the lock the request is about
//! in the account's held-locks index.

use std::collections::HashMap;
use std::sync::LazyLock;

use redis::{Script, ScriptInvocation, Value};

use super::{standalone_script, Standalone};
use crate::engine::keys::AccountKeys;

static SCRIPT: LazyLock<Script> = standalone_script!("authenticate.lua");

pub struct Authenticate<'a> {
    pub keys: &'a AccountKeys,
    /// SHA-256 (hex) of the presented secret.
    pub secret_hash: &'a str,
    /// The lock the request acts on, noted in the index.
    pub about: Option<&'a str>,
    /// How long an index entry outlives its last use, in ms.
    pub keep_ms: u64,
}

impl Standalone for Authenticate<'_> {
    const NAME: &'static str = "authenticate";
    /// The account's record fields (without the secret's hash); empty when the account does not
    /// exist or the secret does not match.
    type Reply = HashMap<String, String>;

    fn invocation(&self) -> ScriptInvocation<'static> {
        let mut invocation = SCRIPT.prepare_invoke();
        invocation
            .key(&self.keys.record)
            .key(&self.keys.held)
            .arg(self.secret_hash)
            .arg(self.about.unwrap_or_default())
            .arg(self.keep_ms);
        invocation
    }

    fn reply(value: Value) -> Result<HashMap<String, String>, String> {
        redis::from_redis_value(value).map_err(|e| e.to_string())
    }
}
