//! The synchronize dialect (`synchronize.txt`): anonymous users with Bearer API keys, locks per
//! user account, lease ids, released locks shown for a retention period.
//!
//! Beyond the original: the same requester acquiring again gets its lease back (renewed) instead
//! of leaking it; leases are bounded by `synchronize.max_lease_seconds` (a crashed client cannot
//! hold a lock forever) or by an optional `leaseSeconds`; acquisitions carry a fencing token;
//! sign-ups are rate-limited per client address across all gateways.

use std::net::IpAddr;
use std::time::Duration;

use poem::http::StatusCode;
use poem::{IntoResponse, Request, Response, Route};
use poem_openapi::auth::Bearer;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, OpenApiService, SecurityScheme};

use crate::accounts::{
    authenticate_synchronize, create_synchronize_user, synchronize_lock, synchronize_namespace,
};
use crate::config::{Settings, SynchronizeSettings};
use crate::domain::{LockName, Requester};
use crate::engine::{Engine, LockRecord, Release, TryAcquire};
use crate::http::client_ip::{client_ip, Cidr};
use crate::http::mount::{assemble, Mounted};
use crate::http::respond::{statuses, Documented};
use crate::http::strict::JsonString;
use crate::http::time::rfc3339_ms;
use crate::http::ApiError;

pub const TITLE: &str = "synchronize";
pub const VERSION: &str = "0.1.0";

/// The registry's entry (see `dialects::DIALECTS`).
pub const DIALECT: super::Dialect = super::Dialect {
    name: "synchronize",
    mount: |settings| &settings.synchronize.mount,
    api: mounted,
    admin: Some(crate::admin::synchronize::TOOLS),
};

/// The synchronize routes under the configured mount.
pub fn mounted(engine: &Engine, settings: &Settings) -> Option<Mounted> {
    let api = SynchronizeApi {
        engine: engine.clone(),
        rules: settings.synchronize.clone(),
        trusted_proxies: settings
            .server
            .trusted_proxies
            .iter()
            .filter_map(|p| Cidr::parse(p))
            .collect(),
    };
    let service = OpenApiService::new(api, TITLE, VERSION);
    Some(assemble(
        DIALECT.name,
        &settings.synchronize.mount,
        service,
        Route::new(),
        render,
        settings,
    ))
}

pub struct SynchronizeApi {
    engine: Engine,
    rules: SynchronizeSettings,
    trusted_proxies: Vec<Cidr>,
}

/// `Authorization: Bearer <apiKey>`, the key from `POST /v0/users/anonymous`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", rename = "apiKey")]
pub struct ApiKey(Bearer);

#[derive(Debug, Object)]
#[oai(rename = "AnonymousUser", rename_all = "camelCase")]
pub struct AnonymousUser {
    pub user_id: String,
    /// A UUID; send it as `Authorization: Bearer <apiKey>`. Shown only here.
    pub api_key: String,
}

#[derive(Debug, Object)]
#[oai(rename = "LockRequest", rename_all = "camelCase")]
pub struct LockRequest {
    /// The name of the lock: 1 to 256 bytes of UTF-8, no control characters.
    pub lock_name: JsonString,
    /// Who asks; asking again as the same requester renews the lease and returns its `leaseId`.
    pub requester: JsonString,
    /// Lease length in seconds (lockgate extension); default and maximum
    /// `synchronize.max_lease_seconds` (24 h).
    pub lease_seconds: Option<u64>,
}

#[derive(Debug, Object)]
#[oai(rename = "LockResult", rename_all = "camelCase")]
pub struct LockResult {
    /// Whether the caller holds the lock now.
    pub locked: bool,
    /// The lease's id, when `locked`; needed to unlock.
    #[oai(skip_serializing_if_is_none)]
    pub lease_id: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub message: Option<String>,
    /// When `locked`: strictly larger than every token issued before for this lock (lockgate
    /// extension).
    #[oai(skip_serializing_if_is_none)]
    pub fencing_token: Option<u64>,
}

#[derive(Debug, Object)]
#[oai(rename = "LockInfo", rename_all = "camelCase")]
pub struct LockInfo {
    pub lock_name: String,
    /// Whether a lease is running now.
    pub locked: bool,
    /// The current lease's id, or the last one's once released.
    pub lease_id: String,
    /// The requester of that lease.
    pub leased_by: String,
    /// When the lock was first acquired (within the retention period), RFC 3339 UTC.
    pub created_at: Option<String>,
    /// Its last acquisition, renewal or release, RFC 3339 UTC.
    pub updated_at: Option<String>,
}

#[derive(Debug, Object)]
#[oai(rename = "LockList")]
pub struct LockList {
    /// The account's locks, held ones and recently released ones, sorted by name.
    pub locks: Vec<LockInfo>,
}

#[derive(Debug, Object)]
#[oai(rename = "UnlockRequest", rename_all = "camelCase")]
pub struct UnlockRequest {
    pub lock_name: JsonString,
    /// The `leaseId` the lock was acquired with.
    pub lease_id: JsonString,
}

#[derive(Debug, Object)]
#[oai(rename = "UnlockResult")]
pub struct UnlockResult {
    /// Whether the lease was released; false for a wrong or stale `leaseId`.
    pub unlocked: bool,
}

/// Every error of this API.
#[derive(Debug, Object)]
#[oai(rename = "Error")]
pub struct ErrorBody {
    pub message: String,
}

/// The answer of any operation: its body, or an error with the headers errors may carry.
#[derive(Debug, ApiResponse)]
pub enum SyncResponse<T: poem_openapi::types::ToJSON + Send + Sync> {
    /// The operation's result.
    #[oai(status = 200)]
    Ok(Json<T>),
    /// An error; each operation's document lists the statuses it returns.
    Error(
        StatusCode,
        Json<ErrorBody>,
        /// `Bearer` on 401.
        #[oai(header = "WWW-Authenticate")]
        Option<String>,
        /// Seconds to wait, on 429.
        #[oai(header = "Retry-After")]
        Option<u64>,
    ),
}

/// The one place an [`ApiError`] becomes a synchronize error.
impl<T: poem_openapi::types::ToJSON + Send + Sync> From<ApiError> for SyncResponse<T> {
    fn from(err: ApiError) -> Self {
        SyncResponse::Error(
            err.status(),
            Json(ErrorBody {
                message: err.to_string(),
            }),
            err.challenge("Bearer"),
            err.retry_after(),
        )
    }
}

fn respond<T: poem_openapi::types::ToJSON + Send + Sync>(
    result: Result<T, ApiError>,
) -> SyncResponse<T> {
    result.map_or_else(SyncResponse::from, |body| SyncResponse::Ok(Json(body)))
}

fn render(err: &ApiError) -> Response {
    SyncResponse::<UnlockResult>::from(err.clone()).into_response()
}

impl From<LockRecord> for LockInfo {
    fn from(record: LockRecord) -> Self {
        Self {
            lock_name: record.name,
            locked: record.locked,
            lease_id: record.owner,
            leased_by: record.label,
            created_at: Some(rfc3339_ms(record.created_at_ms)),
            updated_at: Some(rfc3339_ms(record.updated_at_ms)),
        }
    }
}

impl SynchronizeApi {
    async fn user(&self, key: &ApiKey) -> Result<String, ApiError> {
        authenticate_synchronize(&self.engine, &key.0.token)
            .await?
            .ok_or_else(|| ApiError::Unauthorized("missing or unknown API key".into()))
    }

    async fn sign_up(&self, req: &Request) -> Result<AnonymousUser, ApiError> {
        let peer = req
            .remote_addr()
            .as_socket_addr()
            .map(|addr| addr.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        let client = client_ip(peer, forwarded, &self.trusted_proxies);
        let window = self
            .engine
            .count_hit(&format!("signup:{client}"), Duration::from_secs(60))
            .await?;
        if window.hits > self.rules.signups_per_minute {
            return Err(ApiError::TooManyRequests {
                message: format!(
                    "at most {} sign-ups per minute from one address",
                    self.rules.signups_per_minute
                ),
                retry_after: window.ends_in_ms.div_ceil(1000).max(1),
            });
        }
        let (user_id, api_key) = create_synchronize_user(&self.engine).await?;
        Ok(AnonymousUser { user_id, api_key })
    }

    async fn lock(&self, key: &ApiKey, body: LockRequest) -> Result<LockResult, ApiError> {
        let user = self.user(key).await?;
        let name = LockName::parse(&body.lock_name.0)?;
        let requester = Requester::parse(&body.requester.0)?;
        let max = self.rules.max_lease_seconds;
        let seconds = body.lease_seconds.unwrap_or(max);
        if seconds == 0 || seconds > max {
            return Err(ApiError::BadRequest(format!(
                "leaseSeconds must be between 1 and {max}"
            )));
        }
        let lock = synchronize_lock(&self.rules, &user, name)?;
        let lease_id = uuid::Uuid::new_v4().to_string();
        let outcome = self
            .engine
            .try_acquire_labelled(
                &lock,
                &lease_id,
                requester.as_str(),
                Duration::from_secs(seconds),
            )
            .await?;
        Ok(match outcome {
            TryAcquire::Acquired(lease) => LockResult {
                locked: true,
                lease_id: Some(lease_id),
                message: None,
                fencing_token: Some(lease.fencing_token),
            },
            TryAcquire::Resumed(holder) => LockResult {
                locked: true,
                lease_id: Some(holder.owner),
                message: Some("already held by this requester; lease renewed".into()),
                fencing_token: Some(holder.lease.fencing_token),
            },
            TryAcquire::HeldByOther { holder_label, .. } => LockResult {
                locked: false,
                lease_id: None,
                message: Some(if holder_label.is_empty() {
                    "held by another requester".into()
                } else {
                    format!("held by {holder_label}")
                }),
                fencing_token: None,
            },
        })
    }

    async fn info(&self, key: &ApiKey, lock_name: &str) -> Result<LockInfo, ApiError> {
        let user = self.user(key).await?;
        let lock = synchronize_lock(&self.rules, &user, LockName::parse(lock_name)?)?;
        self.engine
            .describe(&lock)
            .await?
            .map(LockInfo::from)
            .ok_or_else(|| ApiError::NotFound(format!("lock `{lock_name}` not found")))
    }

    async fn unlock(&self, key: &ApiKey, body: UnlockRequest) -> Result<UnlockResult, ApiError> {
        let user = self.user(key).await?;
        let lock = synchronize_lock(&self.rules, &user, LockName::parse(&body.lock_name.0)?)?;
        let unlocked = match self.engine.release(&lock, &body.lease_id.0).await? {
            Release::Released => true,
            Release::NotOwner => false,
            // Released or lapsed: a stale lease id, of a lock still remembered.
            Release::NotHeld => false,
            Release::Unknown => {
                return Err(ApiError::NotFound(format!(
                    "lock `{}` not found",
                    body.lock_name.0
                )))
            }
        };
        Ok(UnlockResult { unlocked })
    }

    async fn locks(&self, key: &ApiKey) -> Result<LockList, ApiError> {
        let user = self.user(key).await?;
        let records = self
            .engine
            .list(&synchronize_namespace(&self.rules, &user)?)
            .await?;
        Ok(LockList {
            locks: records.into_iter().map(LockInfo::from).collect(),
        })
    }
}

statuses!(SignUpFails:
    429 "too many sign-ups from this address; `Retry-After` says when to try again",
    503 "the lock store is unavailable",
);
statuses!(LockFails:
    400 "an invalid request: bad lock name, requester or `leaseSeconds`",
    401 "a missing or unknown API key (`WWW-Authenticate: Bearer`)",
    413 "a body over the configured limit",
    503 "the lock store is unavailable",
);
statuses!(InfoFails:
    400 "a bad lock name",
    401 "a missing or unknown API key (`WWW-Authenticate: Bearer`)",
    404 "a lock never seen, or released longer ago than the retention",
    503 "the lock store is unavailable",
);
statuses!(UnlockFails:
    400 "an invalid request: bad lock name or lease id",
    401 "a missing or unknown API key (`WWW-Authenticate: Bearer`)",
    404 "a lock never seen, or released longer ago than the retention",
    413 "a body over the configured limit",
    503 "the lock store is unavailable",
);
statuses!(ListFails:
    401 "a missing or unknown API key (`WWW-Authenticate: Bearer`)",
    503 "the lock store is unavailable",
);

#[OpenApi]
impl SynchronizeApi {
    /// Create Anonymous User
    ///
    /// Creates an anonymous user and returns an API key for authentication. No authentication
    /// needed; limited to `synchronize.signups_per_minute` per client address (429 beyond).
    #[oai(
        path = "/v0/users/anonymous",
        method = "post",
        operation_id = "createAnonymousUser"
    )]
    async fn create_anonymous_user(
        &self,
        req: &Request,
    ) -> Documented<SyncResponse<AnonymousUser>, SignUpFails> {
        respond(self.sign_up(req).await).into()
    }

    /// Create a Lock
    ///
    /// Acquires the lock `lockName` for `requester`. Held by another requester: 200 with
    /// `locked: false` and a message naming the holder. Held by the same requester: 200 with
    /// `locked: true`, the same `leaseId`, and the lease renewed.
    #[oai(path = "/v0/lock", method = "post", operation_id = "createLock")]
    async fn create_lock(
        &self,
        auth: ApiKey,
        body: Json<LockRequest>,
    ) -> Documented<SyncResponse<LockResult>, LockFails> {
        respond(self.lock(&auth, body.0).await).into()
    }

    /// Get Lock Information
    ///
    /// The lock's state; a released lock is shown with `locked: false` until the retention
    /// period after its last change ends. A lock never seen (or forgotten): 404.
    #[oai(path = "/v0/lock", method = "get", operation_id = "getLock")]
    async fn get_lock(
        &self,
        auth: ApiKey,
        /// The name of the lock.
        #[oai(name = "lockName")]
        lock_name: Query<String>,
    ) -> Documented<SyncResponse<LockInfo>, InfoFails> {
        respond(self.info(&auth, &lock_name).await).into()
    }

    /// Unlock a Resource
    ///
    /// Releases the lock if `leaseId` is its current lease: `unlocked: true`. A wrong or stale
    /// `leaseId`: `unlocked: false`. An unknown `lockName`: 404.
    #[oai(path = "/v0/unlock", method = "post", operation_id = "unlock")]
    async fn unlock_lock(
        &self,
        auth: ApiKey,
        body: Json<UnlockRequest>,
    ) -> Documented<SyncResponse<UnlockResult>, UnlockFails> {
        respond(self.unlock(&auth, body.0).await).into()
    }

    /// Get All Locks
    ///
    /// Every lock of the authenticated user, held or recently released, sorted by name.
    #[oai(path = "/v0/locks", method = "get", operation_id = "getLocks")]
    async fn get_locks(&self, auth: ApiKey) -> Documented<SyncResponse<LockList>, ListFails> {
        respond(self.locks(&auth).await).into()
    }
}
