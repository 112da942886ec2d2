//! Infrastructure failures of the engine. Lock outcomes (held by another, not the owner...) are
//! not errors; they are the enums in `outcome.rs`.

use super::notifier::NotifierError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Redis did not answer in time or refused the connection. Clients may retry.
    #[error("Redis unavailable: {0}")]
    Unavailable(String),
    /// Redis answered something the scripts never return: a bug, logged and kept from clients.
    #[error("unexpected reply from Redis: {0}")]
    Protocol(String),
}

impl From<redis::RedisError> for EngineError {
    fn from(err: redis::RedisError) -> Self {
        if super::pool::is_connection_failure(&err) {
            EngineError::Unavailable(err.to_string())
        } else {
            EngineError::Protocol(err.to_string())
        }
    }
}

impl From<NotifierError> for EngineError {
    fn from(err: NotifierError) -> Self {
        match err {
            NotifierError::Unavailable(msg) => EngineError::Unavailable(msg),
        }
    }
}
