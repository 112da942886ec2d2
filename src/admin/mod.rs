//! The operator's admin API under `/admin/v1`: Bearer auth with `admin.token`; with no token
//! configured it is disabled and every path under it answers 404 JSON.

/// `From<ApiError>` for response enums whose error variant is `Error(StatusCode, Json<AdminError>)`.
mod lockable;
mod synchronize;

use poem::http::StatusCode;
use poem::web::Json;
use poem::{Endpoint, IntoResponse, Response, Route};
use poem_openapi::auth::Bearer;
use poem_openapi::{Object, OpenApiService, SecurityScheme, Tags};
use serde_json::json;

use crate::config::Settings;
use crate::engine::Engine;
use crate::http::mount::{assemble, Mounted};
use crate::http::respond::Documented;
use crate::http::ApiError;

pub use lockable::{CreatedLockableAccount, LockableAccountView, RevokedAccount};
pub use synchronize::{RevokedUser, SynchronizeUserView};

pub const TITLE: &str = "lockgate admin";
pub const VERSION: &str = "1.0.0";

/// The admin API, or `None` when no token is configured.
pub fn mounted(engine: &Engine, settings: &Settings) -> Option<Mounted> {
    if settings.admin.token.is_empty() {
        return None;
    }
    let lockable = lockable::LockableAccountsApi {
        engine: engine.clone(),
        rules: settings.lockable.clone(),
        token: settings.admin.token.clone(),
    };
    let synchronize = synchronize::SynchronizeUsersApi {
        engine: engine.clone(),
        rules: settings.synchronize.clone(),
        token: settings.admin.token.clone(),
    };
    let service = OpenApiService::new((lockable, synchronize), TITLE, VERSION);
    Some(assemble(
        "admin",
        &settings.admin.mount,
        service,
        Route::new(),
        render,
        settings,
    ))
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

/// One tag per dialect whose accounts the admin API manages.
#[derive(Tags)]
enum AdminTags {
    /// Accounts of the lockable dialect.
    LockableAccounts,
    /// Users of the synchronize dialect.
    SynchronizeUsers,
}

/// Bearer auth with the configured admin token.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", rename = "adminToken")]
pub struct AdminAuth(Bearer);

impl AdminAuth {
    /// Compares in constant time, so the token cannot be guessed byte by byte from timings.
    fn check(&self, expected: &str) -> Result<(), ApiError> {
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
