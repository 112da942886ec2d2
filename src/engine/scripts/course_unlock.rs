//! `lua/course_unlock.lua`: a user releases one of a course's locks by its id.

use redis::{Cmd, Value};

use super::{unexpected, CourseScript, Pairs};
use crate::engine::UnlockGadget;

pub struct CourseUnlock<'a> {
    pub lock_id: u64,
    pub user: &'a str,
    /// When the caller's session ends, Redis ms (0: no end).
    pub session_ends_ms: i64,
}

impl CourseScript for CourseUnlock<'_> {
    const NAME: &'static str = "course_unlock";
    type Reply = UnlockGadget;

    fn args(&self, cmd: &mut Cmd) {
        cmd.arg(self.lock_id)
            .arg(self.user)
            .arg(self.session_ends_ms);
    }

    fn reply(value: Value) -> Result<UnlockGadget, String> {
        match Pairs::new(value)?.status()?.as_str() {
            "released" => Ok(UnlockGadget::Released),
            "session_over" => Ok(UnlockGadget::SessionOver),
            "not_found" => Ok(UnlockGadget::NotFound),
            "forbidden" => Ok(UnlockGadget::Forbidden),
            other => Err(unexpected(other)),
        }
    }
}
