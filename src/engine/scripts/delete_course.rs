//! `lua/delete_course.lua`: deletes a course and releases its locks.

use redis::{Cmd, Value};

use super::{unexpected, CourseScript, Pairs};

pub struct DeleteCourse;

impl CourseScript for DeleteCourse {
    const NAME: &'static str = "delete_course";
    /// How many locks were released; `None`: no such course.
    type Reply = Option<u64>;

    fn args(&self, _: &mut Cmd) {}

    fn reply(value: Value) -> Result<Option<u64>, String> {
        let pairs = Pairs::new(value)?;
        match pairs.status()?.as_str() {
            "deleted" => Ok(Some(pairs.count("released")?)),
            "missing" => Ok(None),
            other => Err(unexpected(other)),
        }
    }
}
