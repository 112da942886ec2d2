//! The operator's tools: the admin API under `/admin/v1` (Bearer auth with `admin.token`; with
//! no token configured it is disabled and every path under it answers 404 JSON) and the
//! `lockgate admin` commands. Each dialect with accounts brings its part of both ([`AdminTools`],
//! named in its `dialects::DIALECTS` entry); this module merges the parts.

pub mod courses;
pub mod lockable;
pub mod sfp;
pub mod synchronize;

use std::future::Future;
use std::pin::Pin;

use poem::endpoint::BoxEndpoint;
use poem::http::StatusCode;
use poem::web::Json;
use poem::{Endpoint, EndpointExt, IntoResponse, Response, Route};
use poem_openapi::auth::Bearer;
use poem_openapi::{Object, OpenApi, OpenApiService, SecurityScheme};
use serde_json::{json, Value};

use crate::config::Settings;
use crate::engine::Engine;
use crate::http::mount::{frame, Mounted};
use crate::http::respond::Documented;
use crate::http::ApiError;

pub use lockable::{CreatedLockableAccount, LockableAccountView, RevokedAccount};
pub use synchronize::{RevokedUser, SynchronizeUserView};

pub const TITLE: &str = "lockgate admin";
pub const VERSION: &str = "1.0.0";

/// One dialect's part of the operator's tools.
pub struct AdminTools {
    /// Its endpoints under the admin mount, and their document, if it has any.
    pub api: Option<fn(&Engine, &Settings) -> AdminPart>,
    /// Its `lockgate admin <dialect>` subcommands.
    pub cli: fn() -> clap::Command,
    /// Runs one of them; answers the JSON to print (the admin API's shapes).
    pub run: fn(Settings, clap::ArgMatches) -> CliRun,
}

/// A running `lockgate admin` command.
pub type CliRun = Pin<Box<dyn Future<Output = Result<Value, String>> + Send>>;

/// The engine on the gateways' Redis, for commands that need it (the embedded Redis of `serve`
/// is private to it, so a URL must be configured).
pub(crate) fn connect(settings: &Settings) -> Result<Engine, String> {
    if settings.redis.url.is_empty() {
        return Err(
            "this command needs the gateways' Redis: pass --redis-url or set \
             LOCKGATE_REDIS__URL (the embedded Redis of `serve` is private to it)"
                .into(),
        );
    }
    Engine::new(&settings.redis, &settings.redis.url).map_err(|e| e.to_string())
}

/// Parses `matches` as a dialect's account command enum and runs it with `run` on the
/// gateways' Redis; the JSON to print.
pub(crate) fn run_command<C, F, Fut>(
    settings: Settings,
    matches: clap::ArgMatches,
    run: F,
) -> CliRun
where
    C: clap::FromArgMatches + Send + 'static,
    F: FnOnce(Engine, Settings, C) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Option<Value>, crate::accounts::AccountError>> + Send,
{
    Box::pin(async move {
        let command = C::from_arg_matches(&matches).map_err(|e| e.to_string())?;
        let engine = connect(&settings)?;
        run(engine, settings, command)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "could not render the result".to_owned())
    })
}

/// A dialect's admin endpoints: their paths all start with one of `prefixes` (e.g.
/// `/lockable`).
pub struct AdminPart {
    pub prefixes: &'static [&'static str],
    pub spec: Value,
    pub endpoint: BoxEndpoint<'static>,
}

impl AdminPart {
    /// The part served by `api`, whose paths start with one of `prefixes`.
    pub fn new<T: OpenApi + 'static>(
        prefixes: &'static [&'static str],
        api: T,
        settings: &Settings,
    ) -> Self {
        let service = OpenApiService::new(api, TITLE, VERSION).server(settings.admin.mount.clone());
        let spec = serde_json::from_str(&service.spec()).unwrap_or(Value::Null);
        Self {
            prefixes,
            spec,
            endpoint: service.boxed(),
        }
    }
}

/// The admin API made of `parts`, or `None` when no token is configured.
pub fn mounted(
    engine: &Engine,
    settings: &Settings,
    parts: &[fn(&Engine, &Settings) -> AdminPart],
) -> Option<Mounted> {
    if settings.admin.token.is_empty() {
        return None;
    }
    let mut routes = Route::new();
    let mut document = Value::Null;
    for part in parts {
        let part = part(engine, settings);
        let endpoint = std::sync::Arc::new(part.endpoint);
        for prefix in part.prefixes {
            routes = routes.nest_no_strip(*prefix, endpoint.clone());
        }
        merge(&mut document, part.spec);
    }
    let spec = serde_json::to_string_pretty(&document).unwrap_or_default();
    Some(frame(
        "admin",
        &settings.admin.mount,
        spec,
        routes,
        render,
        settings,
    ))
}

/// Adds `part`'s paths, schemas, security schemes and tags to `document` (the first part is
/// taken whole: title, version, servers).
fn merge(document: &mut Value, part: Value) {
    if document.is_null() {
        *document = part;
        return;
    }
    for section in [
        &["paths"][..],
        &["components", "schemas"],
        &["components", "securitySchemes"],
    ] {
        let Some(Value::Object(from)) = section.iter().try_fold(&part, |v, key| v.get(key)) else {
            continue;
        };
        let mut into = &mut *document;
        for key in section {
            into = &mut into[*key];
        }
        if into.is_null() {
            *into = Value::Object(serde_json::Map::new());
        }
        if let Value::Object(into) = into {
            for (key, value) in from {
                into.insert(key.clone(), value.clone());
            }
        }
    }
    if let (Some(Value::Array(tags)), Value::Array(into)) =
        (part.get("tags"), &mut document["tags"])
    {
        into.extend(tags.iter().cloned());
    }
}

/// What answers under the admin mount when the API is disabled.
pub fn disabled() -> impl Endpoint {
    poem::endpoint::make_sync(|_| {
        (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "the admin API is disabled: set admin.token to enable it"})),
        )
            .into_response()
    })
}

/// Bearer auth with the configured admin token.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", rename = "adminToken")]
pub struct AdminAuth(Bearer);

impl AdminAuth {
    /// Compares in constant time, so the token cannot be guessed byte by byte from timings.
    pub(crate) fn check(&self, expected: &str) -> Result<(), ApiError> {
        let given = self.0.token.as_bytes();
        let expected = expected.as_bytes();
        let differs = given.len() != expected.len()
            || given
                .iter()
                .zip(expected)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                != 0;
        if differs {
            return Err(ApiError::Unauthorized("invalid admin token".into()));
        }
        Ok(())
    }
}

/// Every error of the admin API.
#[derive(Debug, Object)]
#[oai(rename = "AdminError")]
pub struct AdminError {
    pub message: String,
}

/// The one place an [`ApiError`] becomes an admin error body.
pub(crate) fn error_body(err: &ApiError) -> (StatusCode, poem_openapi::payload::Json<AdminError>) {
    (
        err.status(),
        poem_openapi::payload::Json(AdminError {
            message: err.to_string(),
        }),
    )
}

fn render(err: &ApiError) -> Response {
    error_body(err).into_response()
}

/// Turns a handler's result into its response enum, documented with the statuses `S`.
fn respond<T, R: From<ApiError>, S>(
    result: Result<T, ApiError>,
    ok: impl FnOnce(T) -> R,
) -> Documented<R, S> {
    result.map_or_else(R::from, ok).into()
}
