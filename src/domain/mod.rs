//! Values validated once, at the edge; inside, their types are trusted.

mod lock_name;
pub mod lockable;
mod secret;

pub use lock_name::{LockName, LockNameError};
pub use secret::{RandomError, Token};
