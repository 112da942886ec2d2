//! The lockable dialect: named leases held by an account and kept alive by heartbeats
//! (`lockable.md`). HTTP Basic with the account's token as user name; every answer is
//! `{"response": true|false}`, a failed acquire included (clients call `raise_for_status()`).
//!
//! Beyond the original: a successful acquire also carries a fencing token.

use std::sync::Arc;
use std::time::Duration;

use poem::endpoint::BoxEndpoint;
use poem::http::{header, HeaderValue, Method, StatusCode};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response};
use poem_openapi::auth::Basic;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, OpenApiService, SecurityScheme};

use crate::accounts::{authenticate_lockable, lockable_namespace};
use crate::config::{LockableSettings, Settings};
use crate::domain::lockable::LockableAccount;
use crate::domain::LockName;
use crate::engine::{Engine, Holder, LockRef, Release, Renew, TryAcquire};
use crate::http::mount::{assemble, empty_name_routes, Mounted};
use crate::http::respond::{statuses, Documented};
use crate::http::ApiError;

pub const TITLE: &str = "lockable";
pub const VERSION: &str = "1.0.0";

/// The registry's entry (see `dialects::DIALECTS`).
pub const DIALECT: super::Dialect = super::Dialect {
    name: "lockable",
    mount: |settings| &settings.lockable.mount,
    api: mounted,
    admin: Some(crate::admin::lockable::TOOLS),
};

/// The lockable routes under the configured mount.
pub fn mounted(engine: &Engine, settings: &Settings) -> Option<Mounted> {
    let api = LockableApi {
        engine: engine.clone(),
        rules: settings.lockable.clone(),
    };
    let service = OpenApiService::new(api, TITLE, VERSION);
    let mut mounted = assemble(
        DIALECT.name,
        &settings.lockable.mount,
        service,
        empty_name_routes(&["/acquire/", "/heartbeat/", "/release/"], render),
        render,
        settings,
    );
    mounted.endpoint = mounted.endpoint.around(refuse_head).boxed();
    Some(mounted)
}

/// poem answers HEAD with the GET handler, and lockable's GETs take, renew and free locks: a
/// monitoring probe or a proxy sending HEAD must change nothing, so HEAD is refused (405, with
/// the methods that work in `Allow`). Only the document may be HEADed.
async fn refuse_head(next: Arc<BoxEndpoint<'static>>, req: Request) -> poem::Result<Response> {
    if req.method() != Method::HEAD || req.uri().path().ends_with("/openapi.json") {
        return next.call(req).await;
    }
    let mut response = render(&ApiError::MethodNotAllowed(
        "HEAD would change the lock; use GET or POST".into(),
    ));
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    Ok(response)
}

pub struct LockableApi {
    engine: Engine,
    rules: LockableSettings,
}

/// HTTP Basic: the account's token as the user name, an empty password.
#[derive(SecurityScheme)]
#[oai(ty = "basic", rename = "token")]
pub struct TokenAuth(Basic);

/// The answer to every operation.
#[derive(Debug, Object)]
#[oai(rename = "LockableResponse")]
pub struct Answer {
    /// Whether the lock was acquired, renewed or released.
    pub response: bool,
    /// On a successful acquire: strictly larger than every token issued before for this lock
    /// (lockgate extension).
    #[oai(skip_serializing_if_is_none)]
    pub fencing_token: Option<u64>,
}

/// Every error of this API.
#[derive(Debug, Object)]
#[oai(rename = "Error")]
pub struct ErrorBody {
    pub message: String,
}

#[derive(Debug, ApiResponse)]
pub enum LockableResponse {
    /// `response` says whether it worked; `false` is not an error.
    #[oai(status = 200)]
    Ok(
        Json<Answer>,
        /// On a successful acquire, the fencing token, as in the body.
        #[oai(header = "Fencing-Token")]
        Option<u64>,
    ),
    /// An error; each operation's document lists the statuses it returns.
    Error(
        StatusCode,
        Json<ErrorBody>,
        /// `Basic` on 401, so clients know how to authenticate.
        #[oai(header = "WWW-Authenticate")]
        Option<String>,
    ),
}

/// The dialect's error answer; the one place an [`ApiError`] becomes lockable JSON.
fn error_response(err: &ApiError) -> LockableResponse {
    LockableResponse::Error(
        err.status(),
        Json(ErrorBody {
            message: err.to_string(),
        }),
        err.challenge("Basic"),
    )
}

fn render(err: &ApiError) -> Response {
    error_response(err).into_response()
}

/// What `response` will say.
enum Verdict {
    /// Done; an acquire also has its fencing token.
    Yes {
        fence: Option<u64>,
    },
    No,
}

impl From<Verdict> for LockableResponse {
    fn from(verdict: Verdict) -> Self {
        let (response, fence) = match verdict {
            Verdict::Yes { fence } => (true, fence),
            Verdict::No => (false, None),
        };
        LockableResponse::Ok(
            Json(Answer {
                response,
                fencing_token: fence,
            }),
            fence,
        )
    }
}

impl LockableApi {
    /// Authenticates first (a stranger learns nothing about names), then resolves the name in
    /// the account's namespace.
    async fn resolve(
        &self,
        auth: &TokenAuth,
        name: &str,
    ) -> Result<(LockableAccount, LockRef), ApiError> {
        let parsed = LockName::parse(name);
        let account = authenticate_lockable(
            &self.engine,
            &self.rules,
            &auth.0.username,
            parsed.as_ref().ok(),
        )
        .await?
        .ok_or_else(|| ApiError::Unauthorized("missing, invalid or revoked token".into()))?;
        let lock = lockable_namespace(&account)?.lock(parsed?);
        Ok((account, lock))
    }

    async fn run(&self, auth: &TokenAuth, name: &str, op: Op) -> LockableResponse {
        let outcome = async {
            let (account, lock) = self.resolve(auth, name).await?;
            let lease = Duration::from_secs(account.lease_seconds);
            let verdict = match op {
                Op::Acquire => match self.engine.try_acquire(&lock, &account.id, lease).await? {
                    // Resumed needs a label; lockable has none, so it only comes as Acquired.
                    TryAcquire::Acquired(lease) | TryAcquire::Resumed(Holder { lease, .. }) => {
                        Verdict::Yes {
                            fence: Some(lease.fencing_token),
                        }
                    }
                    TryAcquire::HeldByOther { .. } => Verdict::No,
                },
                Op::Heartbeat => match self.engine.renew(&lock, &account.id, lease).await? {
                    Renew::Renewed { .. } => Verdict::Yes { fence: None },
                    Renew::NotOwner | Renew::NotHeld => Verdict::No,
                },
                Op::Release => match self.engine.release(&lock, &account.id).await? {
                    Release::Released => Verdict::Yes { fence: None },
                    Release::NotOwner | Release::NotHeld | Release::Unknown => Verdict::No,
                },
            };
            Ok::<_, ApiError>(verdict)
        }
        .await;
        match outcome {
            Ok(verdict) => verdict.into(),
            Err(err) => error_response(&err),
        }
    }
}

enum Op {
    Acquire,
    Heartbeat,
    Release,
}

statuses!(LockableFails:
    400 "a bad lock name",
    401 "a missing, malformed, unknown or revoked token (`WWW-Authenticate: Basic`)",
    503 "the lock store is unavailable",
);

/// Every lockable operation fails alike.
type Reply = Documented<LockableResponse, LockableFails>;

/// GET is what lockable documents and its clients send; POST is accepted too, for clients that
/// will not change state with a GET. Each method needs an operation of its own in the document.
#[OpenApi]
impl LockableApi {
    /// Acquire a lock
    ///
    /// `{"response": true}` if the account now holds the lock, with a lease of its plan's length
    /// (renew it with heartbeats); `{"response": false}` if it is held, by another account or by
    /// this one.
    #[oai(path = "/acquire/:name", method = "get", operation_id = "acquire")]
    async fn acquire(
        &self,
        auth: TokenAuth,
        /// The lock's name: 1 to 256 bytes of UTF-8, no control characters.
        name: Path<String>,
    ) -> Reply {
        self.run(&auth, &name, Op::Acquire).await.into()
    }

    /// Acquire a lock (POST)
    ///
    /// The same as `GET /acquire/{name}`.
    #[oai(
        path = "/acquire/:name",
        method = "post",
        operation_id = "acquireByPost"
    )]
    async fn acquire_by_post(&self, auth: TokenAuth, name: Path<String>) -> Reply {
        self.run(&auth, &name, Op::Acquire).await.into()
    }

    /// Renew a lease
    ///
    /// `{"response": true}` if the account holds the lock; its lease starts again in full.
    /// `{"response": false}` otherwise (never held, lapsed, or held by another account).
    #[oai(path = "/heartbeat/:name", method = "get", operation_id = "heartbeat")]
    async fn heartbeat(
        &self,
        auth: TokenAuth,
        /// The lock's name.
        name: Path<String>,
    ) -> Reply {
        self.run(&auth, &name, Op::Heartbeat).await.into()
    }

    /// Renew a lease (POST)
    ///
    /// The same as `GET /heartbeat/{name}`.
    #[oai(
        path = "/heartbeat/:name",
        method = "post",
        operation_id = "heartbeatByPost"
    )]
    async fn heartbeat_by_post(&self, auth: TokenAuth, name: Path<String>) -> Reply {
        self.run(&auth, &name, Op::Heartbeat).await.into()
    }

    /// Release a lock
    ///
    /// `{"response": true}` if the account held the lock and now does not; `{"response": false}`
    /// otherwise.
    #[oai(path = "/release/:name", method = "get", operation_id = "release")]
    async fn release(
        &self,
        auth: TokenAuth,
        /// The lock's name.
        name: Path<String>,
    ) -> Reply {
        self.run(&auth, &name, Op::Release).await.into()
    }

    /// Release a lock (POST)
    ///
    /// The same as `GET /release/{name}`.
    #[oai(
        path = "/release/:name",
        method = "post",
        operation_id = "releaseByPost"
    )]
    async fn release_by_post(&self, auth: TokenAuth, name: Path<String>) -> Reply {
        self.run(&auth, &name, Op::Release).await.into()
    }
}
