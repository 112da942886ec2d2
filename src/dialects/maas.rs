//! The maas dialect: named mutexes with a blocking, fair acquire (`maas.md`).
//!
//! Beyond the original: `mutex_id` is a random UUID (not derived from the name), waiting is FIFO
//! and woken by notification, and every acquisition carries a fencing token.

use std::time::Duration;

use poem::http::StatusCode;
use poem::{IntoResponse, Request, Response};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, OpenApiService};
use uuid::Uuid;

use crate::config::{MaasSettings, Settings};
use crate::domain::LockName;
use crate::engine::{Acquire, Engine, LockRef, Namespace, Release};
use crate::http::mount::{assemble, empty_name_routes, Mounted};
use crate::http::respond::{error_from, statuses, Documented};
use crate::http::{connections, ApiError};

/// Namespace of maas locks in Redis.
const NAMESPACE: &str = "maas";

pub const TITLE: &str = "maas";
pub const VERSION: &str = "0.1.0";

/// The registry's entry (see `dialects::DIALECTS`).
pub const DIALECT: super::Dialect = super::Dialect {
    name: "maas",
    mount: |settings| &settings.maas.mount,
    api: mounted,
    admin: None,
};

/// The maas routes under the configured mount.
pub fn mounted(engine: &Engine, settings: &Settings) -> Option<Mounted> {
    let api = MaasApi::new(engine.clone(), settings.maas.clone());
    let service = OpenApiService::new(api, TITLE, VERSION);
    let routes = empty_name_routes(&["/lock/"], render);
    Some(assemble(
        DIALECT.name,
        &settings.maas.mount,
        service,
        routes,
        render,
        settings,
    ))
}

pub struct MaasApi {
    engine: Engine,
    settings: MaasSettings,
}

impl MaasApi {
    pub fn new(engine: Engine, settings: MaasSettings) -> Self {
        Self { engine, settings }
    }

    fn lock_ref(name: &str) -> Result<LockRef, ApiError> {
        Ok(Namespace::shared(NAMESPACE).lock(LockName::parse(name)?))
    }

    async fn is_locked_inner(&self, name: &str) -> Result<MutexData, ApiError> {
        let state = self.engine.inspect(&Self::lock_ref(name)?).await?;
        Ok(MutexData {
            name: name.to_owned(),
            is_locked: state.holder.is_some(),
        })
    }

    async fn lock_inner(
        &self,
        req: &Request,
        name: &str,
        timeout: Option<u64>,
    ) -> Result<LockMutexData, ApiError> {
        let lock = Self::lock_ref(name)?;
        let max = self.settings.max_lock_seconds;
        let wait = timeout
            .unwrap_or(self.settings.default_timeout_seconds)
            .min(max);
        let mutex_id = Uuid::new_v4().to_string();
        let acquire = self.engine.acquire(
            &lock,
            &mutex_id,
            Duration::from_secs(max),
            Duration::from_secs(wait),
        );
        let outcome = connections::unless_client_leaves(req, acquire).await??;
        match outcome {
            Acquire::Acquired(lease) => Ok(LockMutexData {
                mutex_id,
                name: name.to_owned(),
                is_locked: true,
                fencing_token: lease.fencing_token,
            }),
            Acquire::TimedOut => Err(ApiError::Timeout(format!(
                "timed out after {wait} s waiting for mutex `{name}`"
            ))),
            Acquire::ShuttingDown => Err(ApiError::Unavailable(
                "gateway is shutting down; retry on another".into(),
            )),
        }
    }

    async fn unlock_inner(&self, name: &str, mutex_id: &str) -> Result<MutexData, ApiError> {
        let lock = Self::lock_ref(name)?;
        // Hyphenated lower case, as issued, whatever form of UUID the client sent back.
        let owner = Uuid::parse_str(mutex_id)
            .map_err(|_| ApiError::BadRequest(format!("mutex_id `{mutex_id}` is not a UUID")))?
            .to_string();
        match self.engine.release(&lock, &owner).await? {
            Release::Released => Ok(MutexData {
                name: name.to_owned(),
                is_locked: false,
            }),
            Release::NotHeld | Release::Unknown => {
                Err(ApiError::NotFound(format!("mutex `{name}` is not locked")))
            }
            Release::NotOwner => Err(ApiError::Forbidden(format!(
                "mutex_id does not hold mutex `{name}`"
            ))),
        }
    }
}

/// The state of a mutex.
#[derive(Debug, Object)]
#[oai(rename = "MutexData")]
pub struct MutexData {
    pub name: String,
    pub is_locked: bool,
}

/// A mutex the caller now holds.
#[derive(Debug, Object)]
#[oai(rename = "LockMutexData")]
pub struct LockMutexData {
    /// Proof of ownership: pass it to `unlock`.
    pub mutex_id: String,
    pub name: String,
    pub is_locked: bool,
    /// Strictly larger than every token issued before for this mutex (lockgate extension). Pass it
    /// to the resource you protect so it can refuse writes from an older holder.
    pub fencing_token: u64,
}

/// Every error of this API.
#[derive(Debug, Object)]
#[oai(rename = "CustomError")]
pub struct CustomError {
    pub message: String,
    /// The HTTP status code, repeated.
    pub code: u16,
}

#[derive(Debug, ApiResponse)]
pub enum MutexResponse {
    /// The mutex's name and state.
    #[oai(status = 200)]
    Ok(Json<MutexData>),
    /// An error; each operation's document lists the statuses it returns.
    Error(StatusCode, Json<CustomError>),
}

#[derive(Debug, ApiResponse)]
pub enum LockResponse {
    /// The caller holds the mutex.
    #[oai(status = 200)]
    Ok(
        Json<LockMutexData>,
        /// The fencing token, as in the body.
        #[oai(header = "Fencing-Token")]
        u64,
    ),
    /// An error; each operation's document lists the statuses it returns.
    Error(StatusCode, Json<CustomError>),
}

/// The dialect's error body; the one place an [`ApiError`] becomes maas JSON.
pub fn custom_error(err: &ApiError) -> (StatusCode, Json<CustomError>) {
    let status = err.status();
    (
        status,
        Json(CustomError {
            message: err.to_string(),
            code: status.as_u16(),
        }),
    )
}

fn render(err: &ApiError) -> Response {
    custom_error(err).into_response()
}

error_from!(custom_error => MutexResponse, LockResponse);

statuses!(IsLockedFails: 400 "a bad name", 503 "the lock store is unavailable");
statuses!(LockFails:
    400 "a bad name or `timeout`",
    408 "timed out waiting for the mutex",
    503 "the lock store is unavailable, or the gateway is shutting down",
);
statuses!(UnlockFails:
    400 "a bad name, or a `mutex_id` that is not a UUID",
    403 "`mutex_id` does not hold the mutex",
    404 "the mutex is not locked",
    503 "the lock store is unavailable",
);

#[OpenApi]
impl MaasApi {
    /// Returns if a mutex with the given name is locked
    ///
    /// Returns a struct with the `name` and the `is_locked` property of a mutex.
    #[oai(path = "/lock/:name", method = "get", operation_id = "is_locked")]
    async fn is_locked(
        &self,
        /// The name of the mutex: 1 to 256 bytes of UTF-8, no control characters.
        name: Path<String>,
    ) -> Documented<MutexResponse, IsLockedFails> {
        match self.is_locked_inner(&name).await {
            Ok(data) => MutexResponse::Ok(Json(data)),
            Err(err) => err.into(),
        }
        .into()
    }

    /// Tries to get ownership of a mutex
    ///
    /// Waits up to `timeout` seconds for the mutex named `name`; waiters are served first come,
    /// first served, and woken the moment the mutex is free. The wait never exceeds the server's
    /// maximum mutex lifetime, and a held mutex is released automatically after that lifetime.
    /// Returns a `mutex_id`, the proof that you hold the lock, needed to unlock it.
    #[oai(path = "/lock/:name", method = "put", operation_id = "lock")]
    async fn lock(
        &self,
        req: &Request,
        /// The name of the mutex.
        name: Path<String>,
        /// The maximum amount of seconds to wait for the mutex. Default: 60. Use 0 to return
        /// instantly.
        timeout: Query<Option<u64>>,
    ) -> Documented<LockResponse, LockFails> {
        match self.lock_inner(req, &name, timeout.0).await {
            Ok(data) => {
                let fence = data.fencing_token;
                LockResponse::Ok(Json(data), fence)
            }
            Err(err) => err.into(),
        }
        .into()
    }

    /// Releases ownership of a mutex
    ///
    /// Releases the mutex named `name` if it is locked and `mutex_id` is the id its `lock`
    /// returned. The longest waiter, if any, gets it at once.
    #[oai(path = "/lock/:name", method = "delete", operation_id = "unlock")]
    async fn unlock(
        &self,
        /// The name of the mutex.
        name: Path<String>,
        /// The `mutex_id` returned by `lock`.
        mutex_id: Query<String>,
    ) -> Documented<MutexResponse, UnlockFails> {
        match self.unlock_inner(&name, &mutex_id).await {
            Ok(data) => MutexResponse::Ok(Json(data)),
            Err(err) => err.into(),
        }
        .into()
    }
}
