//! The HTTP layer's one error type. Each variant says which status it answers with; each dialect
//! renders it into its own error body in one function (`maas::custom_error`, ...). Internal
//! failures are logged with their cause and stay opaque to clients.

use poem::http::StatusCode;

use crate::accounts::AccountError;
use crate::domain::{LockNameError, RequesterError};
use crate::engine::EngineError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400: the request itself is wrong (bad name, bad parameter).
    #[error("{0}")]
    BadRequest(String),
    /// 401: missing or invalid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: authenticated, but not allowed (e.g. not the holder).
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such lock, or no such path.
    #[error("{0}")]
    NotFound(String),
    /// 409: the resource changed under the request too often; retrying may succeed.
    #[error("{0}")]
    Conflict(String),
    /// 405: the path exists, the method does not.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 429: too many requests from this client; retry after this many seconds.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    /// 408: waiting for a lock ran out of time.
    #[error("{0}")]
    Timeout(String),
    /// 413: request body over the configured limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 503: Redis unreachable, or the gateway is shutting down. Retrying later helps.
    #[error("{0}")]
    Unavailable(String),
    /// 499 (nginx's "client closed request"): the client left while waiting. Nobody reads the
    /// answer; the status only shows in logs.
    #[error("client closed the connection while waiting")]
    ClientGone,
    /// 500: a bug. The detail is logged, never sent.
    #[error("internal error")]
    Internal,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::ClientGone => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// poem's own errors (unparsable parameters, unknown paths, oversized bodies...), reshaped so
    /// that every dialect answers them in its own JSON.
    pub fn from_poem(err: &poem::Error) -> Self {
        if let Some(err) = err.downcast_ref::<ApiError>() {
            return err.clone();
        }
        let message = err.to_string();
        match err.status() {
            StatusCode::UNAUTHORIZED => {
                ApiError::Unauthorized("missing or malformed credentials".into())
            }
            StatusCode::FORBIDDEN => ApiError::Forbidden(message),
            StatusCode::NOT_FOUND => ApiError::NotFound(message),
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed(message),
            StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::PayloadTooLarge(format!("request body too large: {message}"))
            }
            StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable(message),
            status if status.is_client_error() => ApiError::BadRequest(message),
            status => {
                tracing::error!(%status, error = %message, "unhandled error");
                ApiError::Internal
            }
        }
    }
}

/// So an extractor (e.g. a security scheme's checker) can fail with an `ApiError`, rendered
/// like a handler's.
impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        ApiError::status(self)
    }
}

impl From<EngineError> for ApiError {
    fn from(err: EngineError) -> Self {
        if err.is_unavailable() {
            tracing::warn!(error = %err, "lock store unavailable");
            ApiError::Unavailable("lock store unavailable; retry later".into())
        } else {
            tracing::error!(error = %err, "lock store failure");
            ApiError::Internal
        }
    }
}

impl From<LockNameError> for ApiError {
    fn from(err: LockNameError) -> Self {
        ApiError::BadRequest(err.to_string())
    }
}

impl From<AccountError> for ApiError {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::Invalid(invalid) => ApiError::BadRequest(invalid.to_string()),
            AccountError::InvalidName(invalid) => ApiError::BadRequest(invalid.to_string()),
            AccountError::NotFound(_) | AccountError::Missing(_) => {
                ApiError::NotFound(err.to_string())
            }
            AccountError::Contended => ApiError::Conflict(err.to_string()),
            AccountError::Random(cause) => {
                tracing::error!(%cause, "no randomness for a token");
                ApiError::Internal
            }
            AccountError::Engine(engine) => engine.into(),
        }
    }
}

impl From<RequesterError> for ApiError {
    fn from(err: RequesterError) -> Self {
        ApiError::BadRequest(err.to_string())
    }
}

impl ApiError {
    /// The `WWW-Authenticate` challenge a 401 carries for an API using `scheme` (e.g. `Basic`).
    pub fn challenge(&self, scheme: &str) -> Option<String> {
        matches!(self, ApiError::Unauthorized(_)).then(|| format!("{scheme} realm=\"lockgate\""))
    }

    /// The `Retry-After` seconds of a 429.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::TooManyRequests { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}
