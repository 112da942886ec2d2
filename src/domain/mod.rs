//! Values validated once, at the edge; inside, their types are trusted.

mod course;
mod lock_name;
pub mod lockable;
mod requester;
mod secret;

pub use course::{CourseId, CourseNameError, SubjectId};
pub use lock_name::{LockName, LockNameError};
pub use requester::{Requester, RequesterError};
pub use secret::{sha256_hex, RandomError, Token};
