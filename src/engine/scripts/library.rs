//! The lock and course scripts as one Redis function library: `lua/_prelude.lua` and
//! `lua/_courses.lua` followed by every script, each registered as the function
//! `<library>_<script>`. A function's helpers are
//! compiled and defined once, when the library is loaded, where a script run by EVALSHA
//! re-created all of them on every call (measured: a quarter of Redis's time per lock cycle).
//!
//! The library's name carries a hash of its text, so gateways of different versions sharing one
//! Redis each call their own functions. Redis forgets functions when it restarts without
//! persistence; a call that finds its function missing loads the library and runs again
//! (`transport.rs`).

use std::sync::LazyLock;

/// Every lock script, by the name its wrapper's `LockScript::NAME` gives.
const SCRIPTS: &[(&str, &str)] = &[
    ("acquire", include_str!("../../../lua/acquire.lua")),
    ("enqueue", include_str!("../../../lua/enqueue.lua")),
    ("poll", include_str!("../../../lua/poll.lua")),
    ("withdraw", include_str!("../../../lua/withdraw.lua")),
    ("release", include_str!("../../../lua/release.lua")),
    ("renew", include_str!("../../../lua/renew.lua")),
    ("inspect", include_str!("../../../lua/inspect.lua")),
    (
        "list_tickets",
        include_str!("../../../lua/list_tickets.lua"),
    ),
    ("clear", include_str!("../../../lua/clear.lua")),
    ("course_lock", include_str!("../../../lua/course_lock.lua")),
    (
        "course_unlock",
        include_str!("../../../lua/course_unlock.lua"),
    ),
    (
        "course_locks",
        include_str!("../../../lua/course_locks.lua"),
    ),
    ("put_course", include_str!("../../../lua/put_course.lua")),
    ("show_course", include_str!("../../../lua/show_course.lua")),
    (
        "delete_course",
        include_str!("../../../lua/delete_course.lua"),
    ),
];

/// The helpers: the locks' and the courses'.
const PRELUDE: &str = concat!(
    include_str!("../../../lua/_prelude.lua"),
    "\n",
    include_str!("../../../lua/_courses.lua")
);

pub struct Library {
    /// `lockgate_<hash>`.
    pub name: String,
    /// What `FUNCTION LOAD REPLACE` takes.
    pub code: String,
}

pub static LIBRARY: LazyLock<Library> = LazyLock::new(|| {
    let mut body = String::from(PRELUDE);
    for (script, code) in SCRIPTS {
        body.push_str(&format!(
            "\nredis.register_function('@LIB@_{script}', function(KEYS, ARGV)\nnow()\n{code}\nend)\n"
        ));
    }
    let name = format!("lockgate_{:016x}", fnv1a(&body));
    let code = format!("#!lua name={name}\n{}", body.replace("@LIB@", &name));
    Library { name, code }
});

/// Every lock script's function name, made once.
static FUNCTIONS: LazyLock<Vec<(&'static str, String)>> = LazyLock::new(|| {
    SCRIPTS
        .iter()
        .map(|(script, _)| (*script, format!("{}_{script}", LIBRARY.name)))
        .collect()
});

/// The function that runs lock script `script` ("" for a script not in the library, which
/// Redis then refuses as unknown: a test checks every wrapper names one that is).
pub fn function(script: &str) -> &'static str {
    FUNCTIONS
        .iter()
        .find(|(name, _)| *name == script)
        .map_or("", |(_, function)| function.as_str())
}

/// Whether `script` is in the library (for the wrappers' test).
#[cfg(test)]
pub fn has(script: &str) -> bool {
    SCRIPTS.iter().any(|(name, _)| *name == script)
}

/// A stable 64-bit hash of the library's text: it names the version, it protects nothing.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
