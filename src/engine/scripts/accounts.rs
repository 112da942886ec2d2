//! The account and rate-limit scripts, which stand alone (no prelude). Their requests and
//! replies are built and read in `engine/accounts.rs` and `engine/rate.rs`.

use std::sync::LazyLock;

use redis::Script;

use super::standalone_script;

pub static CREATE_ACCOUNT: LazyLock<Script> = standalone_script!("create_account.lua");
pub static UPDATE_ACCOUNT: LazyLock<Script> = standalone_script!("update_account.lua");
pub static REVOKE_ACCOUNT: LazyLock<Script> = standalone_script!("revoke_account.lua");
pub static AUTHENTICATE: LazyLock<Script> = standalone_script!("authenticate.lua");
pub static COUNT_HIT: LazyLock<Script> = standalone_script!("count_hit.lua");
