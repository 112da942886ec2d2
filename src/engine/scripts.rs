//! The Lua scripts, one per engine operation; the per-lock ones are joined to the shared helpers
//! in `lua/_lock_lib.lua`. `redis::Script` runs them with EVALSHA and loads them on NOSCRIPT.

use std::sync::LazyLock;

use redis::Script;

macro_rules! lock_script {
    ($file:literal) => {
        LazyLock::new(|| {
            Script::new(concat!(
                include_str!("../../lua/_lock_lib.lua"),
                "\n",
                include_str!(concat!("../../lua/", $file))
            ))
        })
    };
}

/// Scripts that stand alone, without the lock helpers (accounts, group listing).
macro_rules! standalone_script {
    ($file:literal) => {
        LazyLock::new(|| Script::new(include_str!(concat!("../../lua/", $file))))
    };
}

pub static ACQUIRE_LEASE: LazyLock<Script> = lock_script!("acquire_lease.lua");
pub static RELEASE_LEASE: LazyLock<Script> = lock_script!("release_lease.lua");
pub static RENEW_LEASE: LazyLock<Script> = lock_script!("renew_lease.lua");
pub static INSPECT_LEASE: LazyLock<Script> = lock_script!("inspect_lease.lua");
pub static LEAVE_QUEUE: LazyLock<Script> = lock_script!("leave_queue.lua");

/// Works on a group's index, not on one lock.
pub static LIST_LOCKS: LazyLock<Script> = standalone_script!("list_locks.lua");

pub static CREATE_ACCOUNT: LazyLock<Script> = standalone_script!("create_account.lua");
pub static UPDATE_ACCOUNT: LazyLock<Script> = standalone_script!("update_account.lua");
pub static REVOKE_ACCOUNT: LazyLock<Script> = standalone_script!("revoke_account.lua");
pub static AUTHENTICATE: LazyLock<Script> = standalone_script!("authenticate.lua");
pub static COUNT_HIT: LazyLock<Script> = standalone_script!("count_hit.lua");
