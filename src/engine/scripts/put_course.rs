//! `lua/put_course.lua`: creates or replaces a course, releasing the locks that depended on a
//! removed gadget or editor.

use redis::{Cmd, Value};

use super::{unexpected, CourseScript, Pairs};
use crate::engine::CoursePut;

pub struct PutCourse<'a> {
    pub gadgets: &'a [String],
    pub editors: &'a [String],
}

impl CourseScript for PutCourse<'_> {
    const NAME: &'static str = "put_course";
    type Reply = CoursePut;

    fn args(&self, cmd: &mut Cmd) {
        cmd.arg(self.gadgets.len());
        for gadget in self.gadgets {
            cmd.arg(gadget);
        }
        for editor in self.editors {
            cmd.arg(editor);
        }
    }

    fn reply(value: Value) -> Result<CoursePut, String> {
        let pairs = Pairs::new(value)?;
        let created = match pairs.status()?.as_str() {
            "created" => true,
            "replaced" => false,
            other => return Err(unexpected(other)),
        };
        Ok(CoursePut {
            created,
            released: pairs.count("released")?,
            course: super::show_course::course(&pairs)?,
        })
    }
}
