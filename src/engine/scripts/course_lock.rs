//! `lua/course_lock.lua`: a user locks a gadget of a course (one lock per user per course).

use redis::{Cmd, Value};

use super::{course_lock, unexpected, CourseScript, Pairs};
use crate::engine::{millis, LockGadget};

pub struct CourseLock<'a> {
    pub user: &'a str,
    pub gadget: &'a str,
    /// The id a new lock gets (see `keys::course_lock_id`).
    pub new_id: u64,
    pub lock_for: std::time::Duration,
    /// When the caller's session ends, Redis ms (0: no end).
    pub session_ends_ms: i64,
}

impl CourseScript for CourseLock<'_> {
    const NAME: &'static str = "course_lock";
    /// `None`: the new id was taken; draw another.
    type Reply = Option<LockGadget>;

    fn args(&self, cmd: &mut Cmd) {
        cmd.arg(self.user)
            .arg(self.gadget)
            .arg(self.new_id)
            .arg(millis(self.lock_for))
            .arg(self.session_ends_ms);
    }

    fn reply(value: Value) -> Result<Option<LockGadget>, String> {
        let pairs = Pairs::new(value)?;
        Ok(Some(match pairs.status()?.as_str() {
            status @ ("locked" | "renewed") => LockGadget::Locked {
                lock: course_lock(&pairs)?,
                now_ms: pairs.int("now_ms")?,
                renewed: status == "renewed",
            },
            "session_over" => LockGadget::SessionOver,
            "no_course" => LockGadget::NoCourse,
            "forbidden" => LockGadget::Forbidden,
            "no_gadget" => LockGadget::NoGadget,
            "held" => LockGadget::Held,
            "id_taken" => return Ok(None),
            other => return Err(unexpected(other)),
        }))
    }
}
