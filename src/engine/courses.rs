//! Course editing locks (the courses dialect): one lock per gadget, at most one per user per
//! course, all of a course's state in one Redis Cluster slot (see `lua/_courses.lua`). Each
//! operation is one script; releasing by lock id first finds the lock's course in the index of
//! the id's slot.

use std::time::Duration;

use super::keys::course_lock_id;
use super::scripts::{
    course_lock, course_locks, course_unlock, delete_course, put_course, show_course,
};
use super::{Call, Engine, EngineError};

/// A gadget's editing lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseLock {
    /// A positive 63-bit integer; its remainder by 16384 is its course's cluster slot.
    pub id: u64,
    pub gadget: String,
    /// The user holding it.
    pub owner: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub fencing_token: u64,
}

/// What locking a gadget did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockGadget {
    /// The user holds the lock; `renewed`: it already did, and its expiry moved.
    Locked {
        lock: CourseLock,
        now_ms: i64,
        renewed: bool,
    },
    /// The caller's session ended.
    SessionOver,
    NoCourse,
    /// The user may not edit the course.
    Forbidden,
    NoGadget,
    /// Another user holds the gadget.
    Held,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnlockGadget {
    Released,
    SessionOver,
    /// Unknown, released or expired.
    NotFound,
    /// Another user's lock.
    Forbidden,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CourseLocks {
    Listed { locks: Vec<CourseLock>, now_ms: i64 },
    SessionOver,
    NoCourse,
    Forbidden,
}

/// A course as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Course {
    pub id: String,
    pub gadgets: Vec<String>,
    pub editors: Vec<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub active_locks: u64,
}

/// What putting a course did, and the course as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoursePut {
    pub created: bool,
    /// Locks released because their gadget or their owner left the course.
    pub released: u64,
    pub course: Course,
}

/// How many fresh ids a lock request draws before giving up (a clash needs two equal random
/// 49-bit numbers in one slot).
const ID_ATTEMPTS: usize = 3;

impl Engine {
    /// `user` locks `gadget` of `course` for `lock_for`. `session_ends_ms`: when the caller's
    /// session ends (Redis ms, 0: no end), checked with Redis's clock.
    pub async fn lock_gadget(
        &self,
        course: &str,
        user: &str,
        gadget: &str,
        lock_for: Duration,
        session_ends_ms: i64,
    ) -> Result<LockGadget, EngineError> {
        let keys = self.keys().course(course);
        for _ in 0..ID_ATTEMPTS {
            let script = course_lock::CourseLock {
                user,
                gadget,
                new_id: course_lock_id(keys.slot, uuid::Uuid::new_v4().as_u64_pair().0),
                lock_for,
                session_ends_ms,
            };
            if let Some(outcome) = self.run_course(&keys, &script).await? {
                return Ok(outcome);
            }
        }
        Err(EngineError::Inconsistent(
            "no free course lock id after several draws".into(),
        ))
    }

    /// `user` releases lock `lock_id`: two round trips, the id's course from the index (with
    /// Redis's clock, for the session), then the course's script.
    pub async fn unlock_gadget(
        &self,
        lock_id: u64,
        user: &str,
        session_ends_ms: i64,
    ) -> Result<UnlockGadget, EngineError> {
        let Some(index) = self.keys().course_index_of(lock_id) else {
            return Ok(UnlockGadget::NotFound);
        };
        let mut pipe = redis::pipe();
        pipe.cmd("TIME").cmd("HGET").arg(&index).arg(lock_id);
        let ((seconds, micros), course): ((i64, i64), Option<String>) =
            self.call("course_of_lock", Call::Pipeline(&pipe)).await?;
        if session_ends_ms > 0 && session_ends_ms <= seconds * 1000 + micros / 1000 {
            return Ok(UnlockGadget::SessionOver);
        }
        let Some(course) = course else {
            return Ok(UnlockGadget::NotFound);
        };
        let keys = self.keys().course(&course);
        let script = course_unlock::CourseUnlock {
            lock_id,
            user,
            session_ends_ms,
        };
        self.run_course(&keys, &script).await
    }

    /// The active locks of `course`, for `user`.
    pub async fn course_locks(
        &self,
        course: &str,
        user: &str,
        session_ends_ms: i64,
    ) -> Result<CourseLocks, EngineError> {
        let keys = self.keys().course(course);
        let script = course_locks::CourseLocks {
            user,
            session_ends_ms,
        };
        self.run_course(&keys, &script).await
    }

    /// Creates or replaces `course` with its gadgets and editors.
    pub async fn put_course(
        &self,
        course: &str,
        gadgets: &[String],
        editors: &[String],
    ) -> Result<CoursePut, EngineError> {
        let keys = self.keys().course(course);
        let mut put = self
            .run_course(&keys, &put_course::PutCourse { gadgets, editors })
            .await?;
        put.course.id = course.to_owned();
        Ok(put)
    }

    pub async fn course(&self, course: &str) -> Result<Option<Course>, EngineError> {
        let keys = self.keys().course(course);
        let found = self.run_course(&keys, &show_course::ShowCourse).await?;
        Ok(found.map(|found| Course {
            id: course.to_owned(),
            ..found
        }))
    }

    /// Deletes `course`, releasing its locks; how many, or `None` if there is no such course.
    pub async fn delete_course(&self, course: &str) -> Result<Option<u64>, EngineError> {
        let keys = self.keys().course(course);
        self.run_course(&keys, &delete_course::DeleteCourse).await
    }
}
