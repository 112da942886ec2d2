//! Values validated once, at the edge; inside, their types are trusted.

mod lock_name;

pub use lock_name::{LockName, LockNameError};
