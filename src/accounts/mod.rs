//! Operator workflows on accounts, shared by the admin API and the `lockgate admin` CLI (so both
//! apply the same rules through the same engine calls), and the credential checks the dialects
//! run on every request.

mod courses;
mod lockable;
mod sfp;
mod synchronize;

pub use courses::{
    authenticate_course_session, create_course_session, delete_course, end_course_session,
    get_course, put_course, CourseSession, SessionUser,
};
pub use lockable::{
    authenticate_lockable, create_lockable, get_lockable, lockable_namespace, revoke_lockable,
    update_lockable, Created,
};
pub use sfp::{mint_sfp_token, SfpCaller, SfpVerifier};
pub use synchronize::{
    authenticate_synchronize, create_synchronize_user, get_synchronize_user,
    revoke_synchronize_user, synchronize_lock, synchronize_namespace, SynchronizeUser,
};

use crate::domain::lockable::InvalidAccount;
use crate::domain::{CourseNameError, RandomError};
use crate::engine::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Invalid(#[from] InvalidAccount),
    #[error(transparent)]
    InvalidName(#[from] CourseNameError),
    #[error("no account `{0}`")]
    NotFound(String),
    /// Something other than an account was not found (a course, a session): says what.
    #[error("{0}")]
    Missing(String),
    #[error("the account changed during the update too often; try again")]
    Contended,
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}
