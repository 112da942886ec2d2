//! The courses dialect's operator side: user sessions (a `SID` per session, stored only as a
//! hash, ended at once by the operator or by time) and courses (their gadgets and editors).

use std::time::Duration;

use super::AccountError;
use crate::config::CoursesSettings;
use crate::domain::{CourseId, SubjectId, Token};
use crate::engine::{Course, CoursePut, Engine, EngineError};

/// Account kind of course sessions in Redis.
const SESSION: &str = "course-session";

/// A session as the operator sees it; `sid` only when it was just created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseSession {
    /// The secret to send as the `SID` header: shown once, never stored.
    pub sid: Option<String>,
    /// Public: for logs and for ending it.
    pub session_id: String,
    pub user_id: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

/// Who a `SID` signs in, and until when (Redis ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    pub user_id: String,
    pub ends_ms: i64,
}

pub async fn create_course_session(
    engine: &Engine,
    rules: &CoursesSettings,
    user_id: &str,
) -> Result<CourseSession, AccountError> {
    let user = SubjectId::parse("userId", user_id)?;
    let session_id = uuid::Uuid::new_v4().to_string();
    let token = Token::generate(&session_id)?;
    let lifetime = Duration::from_secs(rules.session_seconds);
    let created_at_ms = engine
        .create_account(
            SESSION,
            &session_id,
            &token.secret_hash(),
            Some(lifetime),
            &[("user_id", user.as_str().to_owned())],
        )
        .await?
        .ok_or_else(|| EngineError::Inconsistent(format!("session id {session_id} taken")))?;
    Ok(CourseSession {
        sid: Some(token.reveal()),
        session_id,
        user_id: user.into_string(),
        created_at_ms,
        expires_at_ms: created_at_ms + lifetime.as_millis() as i64,
    })
}

/// Ends a session at once, on every gateway.
pub async fn end_course_session(engine: &Engine, session_id: &str) -> Result<(), AccountError> {
    engine
        .delete_account(SESSION, session_id)
        .await?
        .map(drop)
        .ok_or_else(|| AccountError::Missing(format!("no session `{session_id}`")))
}

/// The user a `SID` signs in, if it is a live session's (answered from this gateway's cache of
/// checked credentials when it can be trusted; see `engine::credentials`).
pub async fn authenticate_course_session(
    engine: &Engine,
    sid: &str,
) -> Result<Option<SessionUser>, EngineError> {
    let Some(token) = Token::parse(sid) else {
        return Ok(None);
    };
    let Some(credential) = engine
        .check_account(SESSION, &token.account_id, &token.secret_hash(), None, 0)
        .await?
    else {
        return Ok(None);
    };
    let field = |name: &str| credential.fields.get(name).cloned();
    Ok(field("user_id").map(|user_id| SessionUser {
        user_id,
        ends_ms: field("expires_ms")
            .and_then(|e| e.parse().ok())
            .unwrap_or(0),
    }))
}

/// Creates or replaces a course; answers what the put did and the course as stored.
pub async fn put_course(
    engine: &Engine,
    id: &str,
    gadgets: &[String],
    editors: &[String],
) -> Result<CoursePut, AccountError> {
    let id = CourseId::parse(id)?;
    let gadgets = distinct("gadgets", gadgets)?;
    let editors = distinct("editors", editors)?;
    Ok(engine.put_course(id.as_str(), &gadgets, &editors).await?)
}

pub async fn get_course(engine: &Engine, id: &str) -> Result<Course, AccountError> {
    let id = CourseId::parse(id)?;
    engine
        .course(id.as_str())
        .await?
        .ok_or_else(|| no_course(&id))
}

/// Deletes a course; answers how many of its locks were released.
pub async fn delete_course(engine: &Engine, id: &str) -> Result<u64, AccountError> {
    let id = CourseId::parse(id)?;
    engine
        .delete_course(id.as_str())
        .await?
        .ok_or_else(|| no_course(&id))
}

fn no_course(id: &CourseId) -> AccountError {
    AccountError::Missing(format!("no course `{}`", id.as_str()))
}

/// Each id checked, duplicates dropped, in the order given.
fn distinct(what: &'static str, ids: &[String]) -> Result<Vec<String>, AccountError> {
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        let id = SubjectId::parse(what, id)?.into_string();
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}
