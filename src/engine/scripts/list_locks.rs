//! `lua/list_locks.lua`: the records of a grouped namespace's locks.

use std::sync::LazyLock;

use redis::{Script, ScriptInvocation, Value};

use super::{standalone_script, Pairs, Standalone};
use crate::engine::keys::GroupKeys;
use crate::engine::LockRecord;

static SCRIPT: LazyLock<Script> = standalone_script!("list_locks.lua");

pub struct ListLocks<'a> {
    pub group: &'a GroupKeys,
    /// One lock's name, or `None` for all of the group's.
    pub only: Option<&'a str>,
}

impl Standalone for ListLocks<'_> {
    const NAME: &'static str = "list_locks";
    type Reply = Vec<LockRecord>;

    fn invocation(&self) -> ScriptInvocation<'static> {
        let mut invocation = SCRIPT.prepare_invoke();
        invocation
            .key(&self.group.index)
            .arg(&self.group.member_prefix)
            .arg(self.only.unwrap_or_default());
        invocation
    }

    fn reply(value: Value) -> Result<Vec<LockRecord>, String> {
        Pairs::each(value)?.iter().map(record).collect()
    }
}

fn record(pairs: &Pairs) -> Result<LockRecord, String> {
    let locked = pairs.int("locked")? == 1;
    Ok(LockRecord {
        name: pairs.text("name")?,
        locked,
        owner: pairs.text("owner")?,
        label: pairs.text("label")?,
        fencing_token: pairs.count("fence")?,
        created_at_ms: pairs.int("created_ms")?,
        updated_at_ms: pairs.int("updated_ms")?,
        expires_at_ms: if locked {
            Some(pairs.int("expires_ms")?)
        } else {
            None
        },
    })
}
