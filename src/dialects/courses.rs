//! The courses dialect (`courses.txt`, the locking endpoints of a course-editing API): users
//! signed in by a `SID` session lock gadgets of a course for editing; a user holds at most one
//! gadget lock per course, and locking another gadget releases the first in the same step.
//!
//! Beyond the original: locks carry an id (for `DELETE /locks/{lockId}`), their creation and
//! expiry times and a fencing token; sessions are created and ended by the operator, and an
//! ended one is refused on every gateway at once.

use std::time::Duration;

use poem::http::StatusCode;
use poem::{EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::auth::ApiKey;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, OpenApiService, SecurityScheme};

use crate::accounts::{authenticate_course_session, SessionUser};
use crate::config::{CoursesSettings, Settings};
use crate::domain::{CourseId, SubjectId};
use crate::engine::{CourseLock, CourseLocks, Engine, LockGadget, UnlockGadget};
use crate::http::mount::{assemble, Mounted};
use crate::http::respond::{statuses, Documented};
use crate::http::schema::{Inline, Timestamp};
use crate::http::strict::JsonString;
use crate::http::ApiError;

pub const TITLE: &str = "courses";
pub const VERSION: &str = "1.0.0";

/// The original's words for its refusals.
const INVALID_CREDENTIALS: &str = "Invalid credentials";
const INSUFFICIENT_PERMISSIONS: &str = "Insufficient permissions";
const RESOURCE_LOCKED: &str = "Resource locked";

/// The registry's entry (see `dialects::DIALECTS`).
pub const DIALECT: super::Dialect = super::Dialect {
    name: "courses",
    mount: |settings| &settings.courses.mount,
    api: mounted,
    admin: Some(crate::admin::courses::TOOLS),
};

/// The courses routes under the configured mount.
pub fn mounted(engine: &Engine, settings: &Settings) -> Option<Mounted> {
    let api = CoursesApi {
        engine: engine.clone(),
        rules: settings.courses.clone(),
    };
    let service = OpenApiService::new(api, TITLE, VERSION);
    let mut mounted = assemble(
        DIALECT.name,
        &settings.courses.mount,
        service,
        Route::new(),
        render,
        settings,
    );
    // The security scheme's checker finds the engine here.
    mounted.endpoint = mounted.endpoint.data(engine.clone()).boxed();
    Some(mounted)
}

pub struct CoursesApi {
    engine: Engine,
    rules: CoursesSettings,
}

/// The `SID` header: a user session created by the operator (admin API). Checked before
/// anything else is read: missing or unknown → 401.
#[derive(SecurityScheme)]
#[oai(
    ty = "api_key",
    key_name = "SID",
    key_in = "header",
    checker = "check_session"
)]
pub struct Sid(SessionUser);

async fn check_session(req: &Request, sid: ApiKey) -> poem::Result<SessionUser> {
    let engine = req.data::<Engine>().ok_or(ApiError::Internal)?;
    authenticate_course_session(engine, &sid.key)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::Unauthorized(INVALID_CREDENTIALS.into()).into())
}

/// What a lock is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "LockType", rename_all = "lowercase")]
pub enum LockType {
    Gadget,
}

#[derive(Debug, Object)]
#[oai(rename = "LockSubject", rename_all = "camelCase")]
pub struct LockSubject {
    /// The course key.
    pub course_id: JsonString,
    /// A gadget of that course.
    pub gadget_id: JsonString,
}

/// Lock request.
#[derive(Debug, Object)]
#[oai(rename = "LockRequest")]
pub struct LockRequest {
    /// Only `gadget`.
    #[oai(rename = "type")]
    pub kind: Inline<LockType>,
    pub subject: LockSubject,
}

#[derive(Debug, Object)]
#[oai(rename = "ResourceLockSubject", rename_all = "camelCase")]
pub struct ResourceLockSubject {
    pub course_id: String,
    pub gadget_id: String,
}

/// Resource lock.
#[derive(Debug, Object)]
#[oai(rename = "ResourceLock", rename_all = "camelCase")]
pub struct ResourceLock {
    /// The lock's id, for `DELETE /locks/{lockId}`: a positive 64-bit integer, as a string.
    pub id: String,
    #[oai(rename = "type")]
    pub kind: Inline<LockType>,
    pub subject: ResourceLockSubject,
    /// The user holding it.
    pub owner_id: String,
    /// Milliseconds until it is released unless locked again (Redis time).
    pub expires_in: i64,
    /// RFC 3339, UTC: its first lock call.
    pub created_at: Timestamp,
    /// RFC 3339, UTC.
    pub expires_at: Timestamp,
    /// Strictly larger than every token issued before for this course.
    pub fencing_token: u64,
}

/// The empty answer of a release.
#[derive(Debug, Object)]
#[oai(rename = "Released")]
pub struct Released {}

/// Every error, in the original's shape.
#[derive(Debug, Object)]
#[oai(rename = "Error")]
pub struct ErrorBody {
    /// The HTTP status.
    pub error: u16,
    pub message: String,
}

#[derive(Debug, ApiResponse)]
pub enum LockResponse {
    /// The user's lock on the gadget: new, or the one it held, renewed.
    #[oai(status = 201)]
    Created(
        Json<ResourceLock>,
        /// The fencing token, as in the body.
        #[oai(header = "Fencing-Token")]
        u64,
    ),
    /// An error; each operation's document lists the statuses it returns.
    Error(StatusCode, Json<ErrorBody>),
}

#[derive(Debug, ApiResponse)]
pub enum ListResponse {
    /// The course's active locks.
    #[oai(status = 200)]
    Ok(Json<Vec<ResourceLock>>),
    /// An error; each operation's document lists the statuses it returns.
    Error(StatusCode, Json<ErrorBody>),
}

#[derive(Debug, ApiResponse)]
pub enum UnlockResponse {
    /// Released.
    #[oai(status = 200)]
    Ok(Json<Released>),
    /// An error; each operation's document lists the statuses it returns.
    Error(StatusCode, Json<ErrorBody>),
}

/// The one place an [`ApiError`] becomes a courses error.
fn error_body(err: &ApiError) -> (StatusCode, Json<ErrorBody>) {
    let status = err.status();
    // Every 401 in the original's words, also poem's own (no `SID` header at all).
    let message = match err {
        ApiError::Unauthorized(_) => INVALID_CREDENTIALS.to_owned(),
        other => other.to_string(),
    };
    let body = ErrorBody {
        error: status.as_u16(),
        message,
    };
    (status, Json(body))
}

crate::http::respond::error_from!(error_body => LockResponse, ListResponse, UnlockResponse);

fn render(err: &ApiError) -> Response {
    error_body(err).into_response()
}

fn no_course(key: &str) -> ApiError {
    ApiError::NotFound(format!("Course '{key}' not found"))
}

fn forbidden() -> ApiError {
    ApiError::Forbidden(INSUFFICIENT_PERMISSIONS.into())
}

fn session_over() -> ApiError {
    ApiError::Unauthorized(INVALID_CREDENTIALS.into())
}

/// A course key as a client sent it: empty is a bad request; anything else that is not a
/// course id names no course.
fn course_key(key: &str) -> Result<CourseId, ApiError> {
    if key.is_empty() {
        return Err(ApiError::BadRequest(
            "subject.courseId must not be empty".into(),
        ));
    }
    CourseId::parse(key).map_err(|_| no_course(key))
}

fn resource_lock(course: &str, lock: CourseLock, now_ms: i64) -> ResourceLock {
    ResourceLock {
        id: lock.id.to_string(),
        kind: Inline(LockType::Gadget),
        subject: ResourceLockSubject {
            course_id: course.to_owned(),
            gadget_id: lock.gadget,
        },
        owner_id: lock.owner,
        expires_in: (lock.expires_at_ms - now_ms).max(0),
        created_at: Timestamp::from_ms(lock.created_at_ms),
        expires_at: Timestamp::from_ms(lock.expires_at_ms),
        fencing_token: lock.fencing_token,
    }
}

impl CoursesApi {
    async fn lock(&self, user: &SessionUser, body: LockRequest) -> Result<ResourceLock, ApiError> {
        let gadget = SubjectId::parse("subject.gadgetId", &body.subject.gadget_id.0)
            .map_err(|err| ApiError::BadRequest(err.to_string()))?;
        let key = &body.subject.course_id.0;
        let course = course_key(key)?;
        let outcome = self
            .engine
            .lock_gadget(
                course.as_str(),
                &user.user_id,
                gadget.as_str(),
                Duration::from_secs(self.rules.lock_seconds),
                user.ends_ms,
            )
            .await?;
        match outcome {
            LockGadget::Locked { lock, now_ms, .. } => Ok(resource_lock(key, lock, now_ms)),
            LockGadget::SessionOver => Err(session_over()),
            LockGadget::NoCourse => Err(no_course(key)),
            LockGadget::Forbidden => Err(forbidden()),
            LockGadget::NoGadget => Err(ApiError::NotFound(format!(
                "Gadget '{}' not found",
                gadget.as_str()
            ))),
            LockGadget::Held => Err(ApiError::Forbidden(RESOURCE_LOCKED.into())),
        }
    }

    async fn list(&self, user: &SessionUser, key: &str) -> Result<Vec<ResourceLock>, ApiError> {
        let course = course_key(key)?;
        let outcome = self
            .engine
            .course_locks(course.as_str(), &user.user_id, user.ends_ms)
            .await?;
        match outcome {
            CourseLocks::Listed { locks, now_ms } => Ok(locks
                .into_iter()
                .map(|lock| resource_lock(key, lock, now_ms))
                .collect()),
            CourseLocks::SessionOver => Err(session_over()),
            CourseLocks::NoCourse => Err(no_course(key)),
            CourseLocks::Forbidden => Err(forbidden()),
        }
    }

    async fn unlock(&self, user: &SessionUser, lock_id: &str) -> Result<Released, ApiError> {
        let not_found = || ApiError::NotFound(format!("Lock '{lock_id}' not found"));
        let id: u64 = lock_id.parse().map_err(|_| not_found())?;
        match self
            .engine
            .unlock_gadget(id, &user.user_id, user.ends_ms)
            .await?
        {
            UnlockGadget::Released => Ok(Released {}),
            UnlockGadget::SessionOver => Err(session_over()),
            UnlockGadget::NotFound => Err(not_found()),
            UnlockGadget::Forbidden => Err(forbidden()),
        }
    }
}

statuses!(ListFails:
    400 "the `subject.courseId` parameter is missing or empty",
    401 "Invalid credentials: a missing, unknown or ended `SID`",
    403 "Insufficient permissions: the user may not edit the course",
    404 "Course '<key>' not found",
    503 "the lock store is unavailable",
);
statuses!(LockFails:
    400 "a bad body: a missing field, a wrong type, `type` other than `gadget`, a bad gadget id",
    401 "Invalid credentials: a missing, unknown or ended `SID`",
    403 "Insufficient permissions (the user may not edit the course), or Resource locked (another \
         user holds the gadget)",
    404 "Course '<key>' not found, or Gadget '<gadgetId>' not found",
    413 "a body over the configured limit",
    503 "the lock store is unavailable",
);
statuses!(UnlockFails:
    401 "Invalid credentials: a missing, unknown or ended `SID`",
    403 "Insufficient permissions: another user's lock",
    404 "Lock '<lockId>' not found: unknown, released or expired",
    503 "the lock store is unavailable",
);

#[derive(poem_openapi::Tags)]
enum CoursesTags {
    /// Locking endpoints.
    Locks,
}

#[OpenApi(tag = "CoursesTags::Locks")]
impl CoursesApi {
    /// Get active locks
    ///
    /// All active gadget locks of the course, for a user who may edit it.
    #[oai(path = "/locks", method = "get", operation_id = "GetActiveLocks")]
    async fn get_active_locks(
        &self,
        sid: Sid,
        /// The course key.
        #[oai(name = "subject.courseId")]
        course_id: Query<String>,
    ) -> Documented<ListResponse, ListFails> {
        match self.list(&sid.0, &course_id).await {
            Ok(locks) => ListResponse::Ok(Json(locks)),
            Err(err) => err.into(),
        }
        .into()
    }

    /// Lock resource
    ///
    /// Locks a gadget of a course for the user. A user holds at most one lock per course:
    /// locking another gadget releases the first. Locking the gadget the user holds answers the
    /// same lock, its expiry renewed (`courses.lock_seconds`, 15 min, from now).
    #[oai(path = "/locks", method = "post", operation_id = "AcquireResourceLock")]
    async fn acquire_resource_lock(
        &self,
        sid: Sid,
        body: Json<LockRequest>,
    ) -> Documented<LockResponse, LockFails> {
        match self.lock(&sid.0, body.0).await {
            Ok(lock) => {
                let fence = lock.fencing_token;
                LockResponse::Created(Json(lock), fence)
            }
            Err(err) => err.into(),
        }
        .into()
    }

    /// Unlock resource
    ///
    /// Deletes the lock, if it is the user's own.
    #[oai(
        path = "/locks/:lockId",
        method = "delete",
        operation_id = "ReleaseResourceLock"
    )]
    async fn release_resource_lock(
        &self,
        sid: Sid,
        #[oai(name = "lockId")] lock_id: Path<String>,
    ) -> Documented<UnlockResponse, UnlockFails> {
        match self.unlock(&sid.0, &lock_id).await {
            Ok(released) => UnlockResponse::Ok(Json(released)),
            Err(err) => err.into(),
        }
        .into()
    }
}
