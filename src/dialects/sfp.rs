//! The sfp dialect (`sfp.md`, the Locks API of sfp server): bearer JWTs with a role, and a FIFO
//! ticket queue per repository/resource. A ticket is acquired at once when the resource is free
//! and nobody queues, else it waits its turn; its lease starts when it is acquired and ends by
//! release or expiry, the next ticket being promoted in the same atomic step (also when nobody
//! calls at that moment: every call sees the resource as of its own instant).
//!
//! Beyond the original: `?waitSeconds` lets an acquire attempt block until the ticket is acquired
//! (woken by notification); queued tickets nobody polls are dropped; status objects carry the
//! requestor, a fencing token and why a ticket was released; every error is NestJS-shaped JSON.

use std::sync::Arc;
use std::time::Duration;

use poem::http::StatusCode;
use poem::{EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::auth::Bearer;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, OpenApiService, SecurityScheme};

use crate::accounts::{SfpCaller, SfpVerifier};
use crate::config::{Settings, SfpSettings};
use crate::domain::LockName;
use crate::engine::{
    EndReason, Engine, Enqueue, Liveness, LockRef, Namespace, Poll, TicketRecord, TicketSpec,
    TicketStatus, Withdraw,
};
use crate::http::connections::unless_client_leaves;
use crate::http::mount::{assemble, Mounted};
use crate::http::respond::{statuses, Documented};
use crate::http::schema::{Inline, Number, Timestamp};
use crate::http::strict::JsonString;
use crate::http::ApiError;

pub const TITLE: &str = "sfp server";
pub const VERSION: &str = "51.9.0";

/// What a caller without the role hears (the original's words).
const FORBIDDEN: &str = "Forbidden - Requires role: owner, application";

/// The registry's entry (see `dialects::DIALECTS`).
pub const DIALECT: super::Dialect = super::Dialect {
    name: "sfp",
    mount: |settings| &settings.sfp.mount,
    api: mounted,
    admin: Some(crate::admin::sfp::TOOLS),
};

/// The sfp routes under the configured mount; `None` (logged) when no token key is configured.
pub fn mounted(engine: &Engine, settings: &Settings) -> Option<Mounted> {
    let verifier = match SfpVerifier::from_settings(&settings.sfp) {
        Ok(Some(verifier)) => verifier,
        Ok(None) => {
            tracing::warn!(
                mount = %settings.sfp.mount,
                "sfp not served: set sfp.jwt_secret (HS256) or sfp.jwt_public_key_file \
                 (RS256/ES256) to verify its bearer tokens"
            );
            return None;
        }
        Err(err) => {
            // Configuration validation already read the key; it changed since.
            tracing::error!(error = %err, "sfp not served");
            return None;
        }
    };
    let api = SfpApi {
        engine: engine.clone(),
        rules: settings.sfp.clone(),
    };
    let service = OpenApiService::new(api, TITLE, VERSION);
    let mut mounted = assemble(
        DIALECT.name,
        &settings.sfp.mount,
        service,
        Route::new(),
        render,
        settings,
    );
    // The security scheme's checker finds the verifier here.
    mounted.endpoint = mounted.endpoint.data(Arc::new(verifier)).boxed();
    Some(mounted)
}

pub struct SfpApi {
    engine: Engine,
    rules: SfpSettings,
}

/// `Authorization: Bearer <JWT>`. Verified before anything else is read: a missing or invalid
/// token is 401, a token without role `owner` or `application` 403.
#[derive(SecurityScheme)]
#[oai(
    ty = "bearer",
    rename = "access-token",
    bearer_format = "JWT",
    checker = "check_token"
)]
pub struct AccessToken(SfpCaller);

async fn check_token(req: &Request, bearer: Bearer) -> poem::Result<SfpCaller> {
    let verifier = req.data::<Arc<SfpVerifier>>().ok_or(ApiError::Internal)?;
    let caller = verifier
        .verify(&bearer.token)
        .map_err(|err| ApiError::Unauthorized(err.to_string()))?;
    if !caller.may_use_api() {
        return Err(ApiError::Forbidden(FORBIDDEN.into()).into());
    }
    Ok(caller)
}

#[derive(Debug, Object)]
#[oai(rename = "QueueLockRequest", rename_all = "camelCase")]
pub struct QueueLockRequest {
    /// 1 to 256 bytes of UTF-8, no control characters.
    pub repository: JsonString,
    /// 1 to 256 bytes of UTF-8, no control characters.
    pub resource: JsonString,
    /// How long the lease lasts once acquired: more than 0 (fractions allowed, rounded to
    /// milliseconds), at most `sfp.max_lease_seconds` (86400).
    pub lease_duration_seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "LockState", rename_all = "lowercase")]
pub enum LockState {
    Queued,
    Acquired,
    Released,
}

/// Why a ticket was released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "ReleaseReason", rename_all = "snake_case")]
pub enum ReleaseReason {
    /// Released by its requestor.
    Released,
    /// Released by another subject.
    ForceReleased,
    /// Withdrawn (DELETE) while queued.
    Withdrawn,
    /// Its lease ran out.
    Expired,
    /// Queued without a poll for `sfp.queue_idle_seconds`.
    DroppedIdle,
    /// The resource was cleared.
    Cleared,
}

/// A ticket: a lock request of one requestor on one resource. Fields that do not apply are
/// absent, never `null`.
#[derive(Debug, Object)]
#[oai(rename = "LockStatus", rename_all = "camelCase")]
pub struct LockStatus {
    /// The same as `ticketId`.
    pub id: String,
    pub resource: String,
    /// A UUID.
    pub ticket_id: String,
    pub status: Inline<LockState>,
    /// While queued: 1 is next in line.
    #[oai(skip_serializing_if_is_none)]
    pub queue_position: Option<Number>,
    /// Once acquired (kept after release): when its lease started.
    #[oai(skip_serializing_if_is_none)]
    pub lease_start: Option<Timestamp>,
    /// Once acquired (kept after release).
    #[oai(skip_serializing_if_is_none)]
    pub lease_duration_seconds: Option<Number>,
    pub created_at: Timestamp,
    /// Its last change: queued, acquired or released.
    pub updated_at: Timestamp,
    pub repository: String,
    /// The `sub` of the token that queued it.
    pub requestor: String,
    /// Once acquired (kept after release): strictly larger than every token issued before for
    /// this resource.
    #[oai(skip_serializing_if_is_none)]
    pub fencing_token: Option<u64>,
    /// Once released.
    #[oai(skip_serializing_if_is_none)]
    pub release_reason: Option<Inline<ReleaseReason>>,
}

#[derive(Debug, Object)]
#[oai(rename = "AcquireResult", rename_all = "camelCase")]
pub struct AcquireResult {
    /// Whether the ticket holds the lock now.
    pub acquired: bool,
    pub message: String,
    /// While queued: 1 is next in line.
    #[oai(skip_serializing_if_is_none)]
    pub queue_position: Option<Number>,
    /// When acquired: strictly larger than every token issued before for this resource.
    #[oai(skip_serializing_if_is_none)]
    pub fencing_token: Option<u64>,
}

#[derive(Debug, Object)]
#[oai(rename = "ClearResult")]
pub struct ClearResult {
    /// How many tickets (held and queued) were released.
    pub cleared: u64,
}

/// Every error, in the original (NestJS) shape.
#[derive(Debug, Object)]
#[oai(rename = "Error", rename_all = "camelCase")]
pub struct ErrorBody {
    pub status_code: u16,
    pub message: String,
    /// The reason phrase of `statusCode`, e.g. `Not Found`.
    pub error: String,
}

/// A new ticket's answer. Built once and turned into a response at once, so the size gap
/// between its variants costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, ApiResponse)]
pub enum Queued {
    /// The ticket, `acquired` or `queued`.
    #[oai(status = 201)]
    Created(
        Json<LockStatus>,
        /// When acquired: the fencing token, as in the body.
        #[oai(header = "Fencing-Token")]
        Option<u64>,
    ),
    /// An error; each operation's document lists the statuses it returns.
    Error(StatusCode, Json<ErrorBody>),
}

/// The answer of the other operations.
#[derive(Debug, ApiResponse)]
pub enum SfpResponse<T: poem_openapi::types::ToJSON + Send + Sync> {
    #[oai(status = 200)]
    Ok(
        Json<T>,
        /// When acquired: the fencing token, as in the body.
        #[oai(header = "Fencing-Token")]
        Option<u64>,
    ),
    /// An error; each operation's document lists the statuses it returns.
    Error(StatusCode, Json<ErrorBody>),
}

/// The one place an [`ApiError`] becomes an sfp error.
fn error_body(err: &ApiError) -> (StatusCode, Json<ErrorBody>) {
    let status = err.status();
    let error = status.canonical_reason().unwrap_or("Error");
    // Every 401 starts as the original's ("Unauthorized"), then says why.
    let message = match err {
        ApiError::Unauthorized(why) => format!("{error}: {why}"),
        other => other.to_string(),
    };
    let body = ErrorBody {
        status_code: status.as_u16(),
        message,
        error: error.to_owned(),
    };
    (status, Json(body))
}

impl From<ApiError> for Queued {
    fn from(err: ApiError) -> Self {
        let (status, body) = error_body(&err);
        Queued::Error(status, body)
    }
}

impl<T: poem_openapi::types::ToJSON + Send + Sync> From<ApiError> for SfpResponse<T> {
    fn from(err: ApiError) -> Self {
        let (status, body) = error_body(&err);
        SfpResponse::Error(status, body)
    }
}

fn render(err: &ApiError) -> Response {
    error_body(err).into_response()
}

/// A body and the fencing token of an acquisition, if it is one.
type Answer<T> = (T, Option<u64>);

fn respond<T: poem_openapi::types::ToJSON + Send + Sync>(
    result: Result<Answer<T>, ApiError>,
) -> SfpResponse<T> {
    result.map_or_else(SfpResponse::from, |(body, fence)| {
        SfpResponse::Ok(Json(body), fence)
    })
}

fn not_found() -> ApiError {
    ApiError::NotFound("Lock not found".into())
}

/// One resource, as its requests name it.
struct Resource {
    repository: String,
    resource: String,
    lock: LockRef,
}

impl SfpApi {
    fn resource(&self, repository: &str, resource: &str) -> Result<Resource, ApiError> {
        let field = |what: &str, name: &str| {
            LockName::parse(name).map_err(|err| ApiError::BadRequest(format!("{what}: {err}")))
        };
        let name = LockName::pair(
            &field("repository", repository)?,
            &field("resource", resource)?,
        );
        let lock = Namespace::shared("sfp")
            .lock(name)
            .keeping_tickets(Duration::from_secs(self.rules.retention_seconds));
        Ok(Resource {
            repository: repository.to_owned(),
            resource: resource.to_owned(),
            lock,
        })
    }

    fn idle(&self) -> Duration {
        Duration::from_secs(self.rules.queue_idle_seconds)
    }

    fn lease(&self, seconds: f64) -> Result<Duration, ApiError> {
        let max = self.rules.max_lease_seconds;
        let ms = (seconds * 1000.0).round();
        if !(seconds > 0.0 && ms >= 1.0 && seconds <= max as f64) {
            return Err(ApiError::BadRequest(format!(
                "leaseDurationSeconds must be a number above 0 and at most {max}"
            )));
        }
        Ok(Duration::from_millis(ms as u64))
    }

    async fn queue(
        &self,
        caller: &SfpCaller,
        body: QueueLockRequest,
    ) -> Result<Answer<LockStatus>, ApiError> {
        let at = self.resource(&body.repository.0, &body.resource.0)?;
        let lease = self.lease(body.lease_duration_seconds)?;
        let ticket = uuid::Uuid::new_v4().to_string();
        let spec = TicketSpec {
            ticket: &ticket,
            label: &caller.subject,
            lease,
            liveness: Liveness::Client { idle: self.idle() },
        };
        let queued = self.engine.enqueue(&at.lock, &spec).await?;
        let fence = match &queued.outcome {
            Enqueue::Acquired(lease) => Some(lease.fencing_token),
            Enqueue::Queued { .. } => None,
        };
        let record = queued.record.ok_or_else(|| {
            tracing::error!(ticket, "a new ticket has no record");
            ApiError::Internal
        })?;
        Ok((at.status(record), fence))
    }

    async fn status(
        &self,
        repository: &str,
        resource: &str,
        ticket: &str,
    ) -> Result<Answer<LockStatus>, ApiError> {
        let at = self.resource(repository, resource)?;
        let ticket = ticket_id(ticket)?;
        let polled = self.engine.poll(&at.lock, &ticket).await?;
        let record = polled.record.ok_or_else(not_found)?;
        Ok((at.status(record), None))
    }

    async fn attempt(
        &self,
        req: &Request,
        repository: &str,
        resource: &str,
        ticket: &str,
        wait_seconds: Option<f64>,
    ) -> Result<Answer<AcquireResult>, ApiError> {
        let at = self.resource(repository, resource)?;
        let ticket = ticket_id(ticket)?;
        let wait = match wait_seconds {
            None => Duration::ZERO,
            Some(seconds) if seconds >= 0.0 && seconds.is_finite() => {
                Duration::from_secs_f64(seconds.min(self.rules.max_wait_seconds as f64))
            }
            Some(_) => {
                return Err(ApiError::BadRequest(
                    "waitSeconds must be a number of at least 0".into(),
                ))
            }
        };
        // A client that hangs up stops the wait, and with it the polls that kept its ticket alive.
        let waited = self
            .engine
            .await_ticket(&at.lock, &ticket, wait, self.idle());
        let polled = unless_client_leaves(req, waited).await??;
        Ok(match polled.outcome {
            Poll::Acquired(lease) => (
                AcquireResult {
                    acquired: true,
                    message: "Lock acquired".into(),
                    queue_position: None,
                    fencing_token: Some(lease.fencing_token),
                },
                Some(lease.fencing_token),
            ),
            Poll::Queued { position, .. } => (
                AcquireResult {
                    acquired: false,
                    message: format!("Lock is queued at position {position}"),
                    queue_position: Some(position.into()),
                    fencing_token: None,
                },
                None,
            ),
            Poll::Released { reason } => (
                AcquireResult {
                    acquired: false,
                    message: format!("Lock was released ({}); queue a new lock", reason.as_str()),
                    queue_position: None,
                    fencing_token: None,
                },
                None,
            ),
            Poll::Unknown => return Err(not_found()),
        })
    }

    async fn release(
        &self,
        caller: &SfpCaller,
        repository: &str,
        resource: &str,
        ticket: &str,
    ) -> Result<Answer<LockStatus>, ApiError> {
        let at = self.resource(repository, resource)?;
        let ticket = ticket_id(ticket)?;
        let ended = self
            .engine
            .end_ticket(&at.lock, &ticket, &caller.subject)
            .await?;
        let record = ended.record.ok_or_else(not_found)?;
        let forced = matches!(
            record.status,
            TicketStatus::Released {
                reason: EndReason::ForceReleased,
                ..
            }
        );
        if forced && ended.outcome == Withdraw::Released {
            tracing::info!(
                ticket,
                requestor = %record.label,
                by = %caller.subject,
                repository = %at.repository,
                resource = %at.resource,
                "sfp lock released by another subject"
            );
        }
        Ok((at.status(record), None))
    }

    async fn list(
        &self,
        repository: &str,
        resource: &str,
    ) -> Result<Answer<Vec<LockStatus>>, ApiError> {
        let at = self.resource(repository, resource)?;
        let records = self.engine.tickets(&at.lock).await?;
        Ok((records.into_iter().map(|r| at.status(r)).collect(), None))
    }

    async fn clear(
        &self,
        repository: &str,
        resource: &str,
    ) -> Result<Answer<ClearResult>, ApiError> {
        let at = self.resource(repository, resource)?;
        let cleared = self.engine.clear(&at.lock).await?;
        Ok((ClearResult { cleared }, None))
    }
}

/// A ticket id as a client sent it: anything but a UUID names no ticket.
fn ticket_id(raw: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|id| id.to_string())
        .map_err(|_| not_found())
}

impl Resource {
    fn status(&self, record: TicketRecord) -> LockStatus {
        let held = record.acquired_at_ms.is_some();
        let (status, queue_position, release_reason) = match record.status {
            TicketStatus::Acquired { .. } => (LockState::Acquired, None, None),
            TicketStatus::Queued { position } => (LockState::Queued, Some(position.into()), None),
            TicketStatus::Released { reason, .. } => {
                (LockState::Released, None, Some(Inline(reason.into())))
            }
        };
        LockStatus {
            id: record.ticket.clone(),
            resource: self.resource.clone(),
            ticket_id: record.ticket,
            status: Inline(status),
            queue_position,
            lease_start: record.acquired_at_ms.map(Timestamp::from_ms),
            lease_duration_seconds: held.then(|| Number::seconds_from_ms(record.lease_ms)),
            created_at: Timestamp::from_ms(record.created_at_ms),
            updated_at: Timestamp::from_ms(record.updated_at_ms),
            repository: self.repository.clone(),
            requestor: record.label,
            fencing_token: record.fencing_token,
            release_reason,
        }
    }
}

impl From<EndReason> for ReleaseReason {
    fn from(reason: EndReason) -> Self {
        match reason {
            EndReason::Released => ReleaseReason::Released,
            EndReason::ForceReleased => ReleaseReason::ForceReleased,
            EndReason::Withdrawn => ReleaseReason::Withdrawn,
            EndReason::Expired => ReleaseReason::Expired,
            EndReason::DroppedIdle => ReleaseReason::DroppedIdle,
            EndReason::Cleared => ReleaseReason::Cleared,
        }
    }
}

statuses!(QueueFails:
    400 "an invalid body: a missing field, a bad repository or resource name, or \
         `leaseDurationSeconds` not above 0 or over `sfp.max_lease_seconds`",
    401 "a missing, malformed, badly signed or expired token, or one without `sub`",
    403 "Forbidden - Requires role: owner, application",
    413 "a body over the configured limit",
    503 "the lock store is unavailable",
);
statuses!(TicketFails:
    400 "a bad repository or resource name",
    401 "a missing, malformed, badly signed or expired token, or one without `sub`",
    403 "Forbidden - Requires role: owner, application",
    404 "Lock not found: no such ticket on this resource (or its record is gone)",
    503 "the lock store is unavailable",
);
statuses!(AttemptFails:
    400 "a bad repository or resource name, or a negative `waitSeconds`",
    401 "a missing, malformed, badly signed or expired token, or one without `sub`",
    403 "Forbidden - Requires role: owner, application",
    404 "Lock not found: no such ticket on this resource (or its record is gone)",
    503 "the lock store is unavailable",
);
statuses!(ResourceFails:
    400 "a bad repository or resource name",
    401 "a missing, malformed, badly signed or expired token, or one without `sub`",
    403 "Forbidden - Requires role: owner, application",
    503 "the lock store is unavailable",
);

#[derive(poem_openapi::Tags)]
enum SfpTags {
    /// Ticket queues per repository and resource.
    Locks,
}

#[OpenApi(tag = "SfpTags::Locks")]
impl SfpApi {
    /// Queue a lock for a resource
    ///
    /// Requests a lock on a specific resource within a repository: acquired at once when the
    /// resource is free and nobody is queued, else queued (`queuePosition` 1 is next in line).
    /// Returns the ticket, whose `ticketId` is used to check status, attempt acquisition, or
    /// release the lock. The lease lasts `leaseDurationSeconds` from acquisition.
    #[oai(
        path = "/locks",
        method = "post",
        operation_id = "MutexController_queueLock"
    )]
    async fn queue_lock(
        &self,
        auth: AccessToken,
        body: Json<QueueLockRequest>,
    ) -> Documented<Queued, QueueFails> {
        match self.queue(&auth.0, body.0).await {
            Ok((status, fence)) => Queued::Created(Json(status), fence),
            Err(err) => err.into(),
        }
        .into()
    }

    /// Get status of a specific lock
    ///
    /// The ticket as of now: `queued` with its position, `acquired` with its lease, or
    /// `released` with the reason, for `sfp.retention_seconds` after release. Counts as the
    /// ticket's sign of life while queued.
    #[oai(
        path = "/locks/:repository/:resource/:ticketId",
        method = "get",
        operation_id = "MutexController_getLockStatus"
    )]
    async fn get_lock_status(
        &self,
        _auth: AccessToken,
        repository: Path<String>,
        resource: Path<String>,
        #[oai(name = "ticketId")] ticket_id: Path<String>,
    ) -> Documented<SfpResponse<LockStatus>, TicketFails> {
        respond(self.status(&repository, &resource, &ticket_id).await).into()
    }

    /// Release a lock
    ///
    /// Releases an acquired ticket (the next queued one acquires the lock in the same step) or
    /// withdraws a queued one; answers the ticket, now `released`. Released by someone other
    /// than its requestor: `force_released` (logged with both subjects). A ticket already
    /// released is answered unchanged.
    #[oai(
        path = "/locks/:repository/:resource/:ticketId",
        method = "delete",
        operation_id = "MutexController_releaseLock"
    )]
    async fn release_lock(
        &self,
        auth: AccessToken,
        repository: Path<String>,
        resource: Path<String>,
        #[oai(name = "ticketId")] ticket_id: Path<String>,
    ) -> Documented<SfpResponse<LockStatus>, TicketFails> {
        respond(
            self.release(&auth.0, &repository, &resource, &ticket_id)
                .await,
        )
        .into()
    }

    /// Get all locks for a resource
    ///
    /// The acquired ticket first, then the queue in order, then released tickets (kept for
    /// `sfp.retention_seconds`), newest first.
    #[oai(
        path = "/locks/:repository/:resource",
        method = "get",
        operation_id = "MutexController_getResourceLocks"
    )]
    async fn get_resource_locks(
        &self,
        _auth: AccessToken,
        repository: Path<String>,
        resource: Path<String>,
    ) -> Documented<SfpResponse<Vec<LockStatus>>, ResourceFails> {
        respond(self.list(&repository, &resource).await).into()
    }

    /// Clear all locks for a resource
    ///
    /// Force clears every ticket of the resource, acquired and queued: each becomes `released`
    /// (`cleared`), and attempts waiting on them answer at once. For recovery.
    #[oai(
        path = "/locks/:repository/:resource",
        method = "delete",
        operation_id = "MutexController_clearAllLocks"
    )]
    async fn clear_all_locks(
        &self,
        _auth: AccessToken,
        repository: Path<String>,
        resource: Path<String>,
    ) -> Documented<SfpResponse<ClearResult>, ResourceFails> {
        respond(self.clear(&repository, &resource).await).into()
    }

    /// Attempt to acquire a lock for a queued ticket
    ///
    /// `acquired: true` (with the fencing token) when the ticket holds the lock, else `false`
    /// with its position, or saying it was released. Counts as the ticket's sign of life: a
    /// queued ticket nobody polls for `sfp.queue_idle_seconds` is dropped. With `waitSeconds`,
    /// waits up to that long (at most `sfp.max_wait_seconds`) for the lock, woken as soon as
    /// the ticket is promoted.
    #[oai(
        path = "/locks/:repository/:resource/:ticketId/acquire",
        method = "post",
        operation_id = "MutexController_attemptLockAcquisition"
    )]
    async fn attempt_lock_acquisition(
        &self,
        req: &Request,
        _auth: AccessToken,
        repository: Path<String>,
        resource: Path<String>,
        #[oai(name = "ticketId")] ticket_id: Path<String>,
        /// Seconds to wait for the lock (lockgate extension); default 0, capped at
        /// `sfp.max_wait_seconds` (60).
        #[oai(name = "waitSeconds")]
        wait_seconds: Query<Option<f64>>,
    ) -> Documented<SfpResponse<AcquireResult>, AttemptFails> {
        respond(
            self.attempt(req, &repository, &resource, &ticket_id, wait_seconds.0)
                .await,
        )
        .into()
    }
}
