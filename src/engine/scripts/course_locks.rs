//! `lua/course_locks.lua`: the active locks of a course, for a user who may edit it.

use redis::{Cmd, Value};

use super::{course_lock, unexpected, CourseScript, Pairs};
use crate::engine::CourseLocks as Outcome;

pub struct CourseLocks<'a> {
    pub user: &'a str,
    /// When the caller's session ends, Redis ms (0: no end).
    pub session_ends_ms: i64,
}

impl CourseScript for CourseLocks<'_> {
    const NAME: &'static str = "course_locks";
    type Reply = Outcome;

    fn args(&self, cmd: &mut Cmd) {
        cmd.arg(self.user).arg(self.session_ends_ms);
    }

    fn reply(value: Value) -> Result<Outcome, String> {
        let pairs = Pairs::new(value)?;
        match pairs.status()?.as_str() {
            "listed" => {
                let locks = pairs.get("locks").cloned().unwrap_or(Value::Array(vec![]));
                Ok(Outcome::Listed {
                    locks: Pairs::each(locks)?
                        .iter()
                        .map(course_lock)
                        .collect::<Result<_, _>>()?,
                    now_ms: pairs.int("now_ms")?,
                })
            }
            "session_over" => Ok(Outcome::SessionOver),
            "no_course" => Ok(Outcome::NoCourse),
            "forbidden" => Ok(Outcome::Forbidden),
            other => Err(unexpected(other)),
        }
    }
}
