//! The Lua scripts, one Rust file per script: a typed request that writes exactly the KEYS and
//! ARGV its script's header declares, and a typed reply read by name from the name/value pairs
//! the script returns. Lock scripts are functions of one library with the helpers of
//! `lua/_prelude.lua` (`library.rs`), called with FCALL; the others stand alone and run with
//! EVALSHA (`redis::Script` loads them on NOSCRIPT).

pub mod acquire;
pub mod authenticate;
pub mod clear;
pub mod count_hit;
pub mod course_lock;
pub mod course_locks;
pub mod course_unlock;
pub mod create_account;
pub mod delete_course;
pub mod enqueue;
pub mod inspect;
pub mod library;
pub mod list_locks;
pub mod list_tickets;
pub mod poll;
pub mod put_course;
pub mod release;
pub mod renew;
pub mod revoke_account;
pub mod show_course;
pub mod update_account;
pub mod withdraw;

use std::time::Duration;

use redis::{Cmd, ScriptInvocation, Value};

use super::keys::{CourseKeys, LockKeys};
use super::millis;

/// A script that stands alone, without the prelude (accounts, rate limits, group listing).
macro_rules! standalone_script {
    ($file:literal) => {
        std::sync::LazyLock::new(|| {
            redis::Script::new(include_str!(concat!("../../../lua/", $file)))
        })
    };
}
pub(crate) use standalone_script;

/// A script that works on one lock (resource): its KEYS are the resource's keys, its own
/// arguments come first, then the resource's settings (see `resource()` in `_prelude.lua`).
pub trait LockScript {
    /// The script's file name without `.lua`: its function's name in the library, and the name
    /// in errors and logs.
    const NAME: &'static str;
    type Reply;
    /// The Redis function that runs it.
    fn function() -> &'static str {
        library::function(Self::NAME)
    }
    /// The script's own ARGV, before the resource's settings.
    fn args(&self, cmd: &mut Cmd);
    fn reply(value: Value) -> Result<Self::Reply, String>;
}

/// A script that works on one course (`lua/_courses.lua`): its KEYS are the course's keys, its
/// own arguments come first, then the course id and the fence retention.
pub trait CourseScript {
    /// The script's file name without `.lua`: its function's name in the library.
    const NAME: &'static str;
    type Reply;
    fn function() -> &'static str {
        library::function(Self::NAME)
    }
    /// The script's own ARGV, before the course's settings.
    fn args(&self, cmd: &mut Cmd);
    fn reply(value: Value) -> Result<Self::Reply, String>;
}

impl CourseKeys {
    /// `FCALL <function> 7 KEYS... <the script's own ARGV> <course id> <fence retention>`.
    pub fn command<S: CourseScript>(&self, script: &S, fence_retention: Duration) -> Cmd {
        let mut cmd = redis::cmd("FCALL");
        cmd.arg(S::function())
            .arg(7)
            .arg(&self.course)
            .arg(&self.gadgets)
            .arg(&self.editors)
            .arg(&self.locks)
            .arg(&self.fence)
            .arg(&self.index)
            .arg(&self.expiry);
        script.args(&mut cmd);
        cmd.arg(&self.id).arg(millis(fence_retention));
        cmd
    }
}

/// A script that stands alone (no prelude, run with EVALSHA): accounts, rate limits, group
/// listing. Off the hot path, so EVALSHA's per-call cost does not matter.
pub trait Standalone {
    /// The script's file name without `.lua`, for errors and logs.
    const NAME: &'static str;
    type Reply;
    /// KEYS and ARGV as the script's header declares them.
    fn invocation(&self) -> ScriptInvocation<'static>;
    fn reply(value: Value) -> Result<Self::Reply, String>;
}

/// The settings of one resource that every lock script passes to `resource()` in the prelude,
/// in the order it reads them.
pub struct ResourceSettings<'a> {
    pub keys: &'a LockKeys,
    /// How long a fence key outlives its last use.
    pub fence_retention: Duration,
    /// How long a hand-off to a waiting gateway stays unclaimed before it is passed on.
    pub claim_window: Duration,
}

impl ResourceSettings<'_> {
    /// `FCALL <function> <numkeys> KEYS... <the script's own ARGV> <these settings>`.
    pub fn command<S: LockScript>(&self, script: &S) -> Cmd {
        let keys = self.keys;
        let mut cmd = redis::cmd("FCALL");
        cmd.arg(S::function()).arg(keys.script_keys().count());
        for key in keys.script_keys() {
            cmd.arg(key);
        }
        script.args(&mut cmd);
        let retention = keys.grouped.as_ref().map_or(0, |g| millis(g.retention));
        cmd.arg(&keys.channel)
            .arg(&keys.name)
            .arg(millis(self.fence_retention))
            .arg(millis(self.claim_window))
            .arg(retention)
            .arg(millis(keys.ticket_retention));
        cmd
    }
}

/// A script's reply: name/value pairs, read by name.
pub struct Pairs(Vec<Value>);

impl Pairs {
    pub fn new(value: Value) -> Result<Self, String> {
        match value {
            Value::Array(items) if items.len() % 2 == 0 => Ok(Self(items)),
            other => Err(format!("expected name/value pairs, got {other:?}")),
        }
    }

    /// Every item of an array reply, each read as pairs (listings).
    pub fn each(value: Value) -> Result<Vec<Self>, String> {
        match value {
            Value::Array(items) => items.into_iter().map(Self::new).collect(),
            other => Err(format!("expected an array, got {other:?}")),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0
            .chunks_exact(2)
            .find(|pair| is_name(&pair[0], name))
            .map(|pair| &pair[1])
    }

    pub fn status(&self) -> Result<String, String> {
        self.text("status")
    }

    pub fn text(&self, name: &str) -> Result<String, String> {
        match self.get(name) {
            Some(Value::BulkString(bytes)) => Ok(String::from_utf8_lossy(bytes).into_owned()),
            Some(Value::SimpleString(text)) => Ok(text.clone()),
            Some(Value::Int(n)) => Ok(n.to_string()),
            other => Err(format!("{name}: expected text, got {other:?}")),
        }
    }

    pub fn int(&self, name: &str) -> Result<i64, String> {
        match self.get(name) {
            Some(Value::Int(n)) => Ok(*n),
            Some(Value::BulkString(bytes)) => std::str::from_utf8(bytes)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("{name}: not an integer")),
            other => Err(format!("{name}: expected an integer, got {other:?}")),
        }
    }

    pub fn count(&self, name: &str) -> Result<u64, String> {
        u64::try_from(self.int(name)?).map_err(|_| format!("{name}: negative"))
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

fn is_name(value: &Value, name: &str) -> bool {
    match value {
        Value::BulkString(bytes) => bytes == name.as_bytes(),
        Value::SimpleString(text) => text == name,
        _ => false,
    }
}

/// A ticket's end reason, as stored.
pub fn reason(pairs: &Pairs) -> Result<super::EndReason, String> {
    let text = pairs.text("reason")?;
    super::EndReason::parse(&text).ok_or_else(|| format!("unknown reason {text:?}"))
}

/// The "withdrawn" status: the script found its own request withdrawn. Only a request the
/// engine gave up on can be, and the engine never goes on with one, so it is an error.
pub const WITHDRAWN: &str = "the request was withdrawn before it ran";

/// A status the script's header does not list.
pub fn unexpected(status: &str) -> String {
    format!("unknown status {status:?}")
}

/// A course lock as the course scripts report it (`lock_reply()` in `_courses.lua`).
pub fn course_lock(pairs: &Pairs) -> Result<super::CourseLock, String> {
    let id = pairs.text("id")?;
    Ok(super::CourseLock {
        id: id.parse().map_err(|_| format!("id: {id:?}"))?,
        gadget: pairs.text("gadget")?,
        owner: pairs.text("owner")?,
        created_at_ms: pairs.int("created_ms")?,
        expires_at_ms: pairs.int("expires_ms")?,
        fencing_token: pairs.count("fence")?,
    })
}

/// A lease as the acquiring scripts report it.
pub fn lease(pairs: &Pairs) -> Result<super::Lease, String> {
    Ok(super::Lease {
        fencing_token: pairs.count("fence")?,
        acquired_at_ms: pairs.int("acquired_ms")?,
        expires_at_ms: pairs.int("expires_ms")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named<S: LockScript>() -> (&'static str, &'static str) {
        (S::NAME, S::function())
    }

    fn course<S: CourseScript>() -> (&'static str, &'static str) {
        (S::NAME, S::function())
    }

    /// Every wrapper calls a function the library registers, under its own name.
    #[test]
    fn every_library_script_wrapper_names_a_function_of_the_library() {
        for (name, function) in [
            named::<acquire::Acquire>(),
            named::<enqueue::Enqueue>(),
            named::<poll::Poll>(),
            named::<withdraw::Withdraw>(),
            named::<release::Release>(),
            named::<renew::Renew>(),
            named::<inspect::Inspect>(),
            named::<list_tickets::ListTickets>(),
            named::<clear::Clear>(),
            course::<course_lock::CourseLock>(),
            course::<course_unlock::CourseUnlock>(),
            course::<course_locks::CourseLocks>(),
            course::<put_course::PutCourse>(),
            course::<show_course::ShowCourse>(),
            course::<delete_course::DeleteCourse>(),
        ] {
            assert!(library::has(name), "{name}");
            assert!(!function.is_empty(), "{name}");
            assert!(library::LIBRARY.code.contains(&format!("'{function}'")));
        }
    }
}
