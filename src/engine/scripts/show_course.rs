//! `lua/show_course.lua`: a course as the operator sees it.

use redis::{Cmd, Value};

use super::{unexpected, CourseScript, Pairs};
use crate::engine::Course;

pub struct ShowCourse;

impl CourseScript for ShowCourse {
    const NAME: &'static str = "show_course";
    /// `None`: no such course. The id is filled in by the caller.
    type Reply = Option<Course>;

    fn args(&self, _: &mut Cmd) {}

    fn reply(value: Value) -> Result<Option<Course>, String> {
        let pairs = Pairs::new(value)?;
        match pairs.status()?.as_str() {
            "found" => Ok(Some(course(&pairs)?)),
            "missing" => Ok(None),
            other => Err(unexpected(other)),
        }
    }
}

/// The course as the course scripts report it (`course_reply()` in `_courses.lua`); its id is
/// the caller's to fill in.
pub fn course(pairs: &Pairs) -> Result<Course, String> {
    Ok(Course {
        id: String::new(),
        gadgets: texts(pairs, "gadgets")?,
        editors: texts(pairs, "editors")?,
        created_at_ms: pairs.int("created_ms")?,
        updated_at_ms: pairs.int("updated_ms")?,
        active_locks: pairs.count("locks")?,
    })
}

fn texts(pairs: &Pairs, name: &str) -> Result<Vec<String>, String> {
    redis::from_redis_value(pairs.get(name).cloned().unwrap_or(Value::Array(vec![])))
        .map_err(|e| format!("{name}: {e}"))
}
