//! Infrastructure failures of the engine. Lock outcomes (held by another, not the owner...) are
//! not errors; they are the enums in `outcome.rs`. Each variant names the operation (the script,
//! or the command) that failed, so a log line says where.

use super::notifier::NotifierError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Redis did not answer within the configured bound. The call may still run later: a lock
    /// acquisition that ends like this is withdrawn by the engine once Redis answers again.
    #[error("{op}: no answer from Redis within {after_ms} ms")]
    Timeout { op: &'static str, after_ms: u64 },
    /// The connection failed or was refused, or Redis is not ready (loading its data after a
    /// restart, a read-only replica after a failover). Clients may retry.
    #[error("{op}: Redis connection failed: {source}")]
    Connection {
        op: &'static str,
        #[source]
        source: redis::RedisError,
    },
    /// A Redis Cluster moved or is moving the key's slot (MOVED, ASK, TRYAGAIN, CLUSTERDOWN):
    /// transient, retryable, never a bug.
    #[error("{op}: Redis Cluster redirected the call: {source}")]
    Redirected {
        op: &'static str,
        #[source]
        source: redis::RedisError,
    },
    /// Redis refused the call itself (a script error, a wrong type): a bug, kept from clients.
    #[error("{op}: Redis refused the call: {source}")]
    Refused {
        op: &'static str,
        #[source]
        source: redis::RedisError,
    },
    /// Redis answered something the script never returns: a bug, kept from clients.
    #[error("{op}: unexpected reply: {detail}")]
    Reply { op: &'static str, detail: String },
    /// The pub/sub connection waiters sleep on could not be set up.
    #[error("pub/sub unavailable: {0}")]
    PubSub(String),
    /// The Redis URL or connection settings are unusable.
    #[error("Redis settings: {0}")]
    Settings(String),
    /// Stored data that the engine's callers found inconsistent (e.g. an id already taken).
    #[error("{0}")]
    Inconsistent(String),
}

impl EngineError {
    /// Transient: Redis is away or moving; the client may retry (503, not 500).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. }
                | Self::Connection { .. }
                | Self::Redirected { .. }
                | Self::PubSub(_)
                | Self::Settings(_)
        )
    }

    /// Redis does not know the lock functions (it restarted without them): load and call again.
    pub(super) fn is_missing_function(&self) -> bool {
        match self {
            Self::Refused { source, .. } => source
                .detail()
                .is_some_and(|d| d.contains("Function not found")),
            _ => false,
        }
    }

    /// The call may have reached Redis and may still run: its effect is unknown.
    pub(super) fn outcome_unknown(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::Connection { .. })
    }

    /// Sorts a Redis error from operation `op` into its kind.
    pub(super) fn redis(op: &'static str, source: redis::RedisError) -> Self {
        use redis::{ErrorKind, ServerErrorKind};
        let not_ready = matches!(
            source.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ReadOnly
            )
        );
        if super::pool::is_connection_failure(&source) || not_ready {
            Self::Connection { op, source }
        } else if source.is_cluster_error() {
            Self::Redirected { op, source }
        } else {
            Self::Refused { op, source }
        }
    }

    pub(super) fn reply(op: &'static str, detail: impl Into<String>) -> Self {
        Self::Reply {
            op,
            detail: detail.into(),
        }
    }
}

impl From<NotifierError> for EngineError {
    fn from(err: NotifierError) -> Self {
        match err {
            NotifierError::Unavailable(msg) => EngineError::PubSub(msg),
        }
    }
}

impl From<super::NamespaceError> for EngineError {
    /// Account ids come from the engine's own records: one that cannot name a namespace is
    /// stored data gone wrong.
    fn from(err: super::NamespaceError) -> Self {
        EngineError::Inconsistent(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use redis::{ErrorKind, RedisError, ServerErrorKind};

    use super::EngineError;

    fn server(kind: ServerErrorKind, detail: &str) -> EngineError {
        let err = RedisError::from((ErrorKind::Server(kind), "server", detail.to_owned()));
        EngineError::redis("acquire", err)
    }

    /// A cluster moving a slot, or a Redis loading its data, is a 503 (retry), not a 500; a
    /// script error is a bug.
    #[test]
    fn transient_server_errors_are_unavailable_and_script_errors_are_bugs() {
        for kind in [
            ServerErrorKind::Moved,
            ServerErrorKind::Ask,
            ServerErrorKind::TryAgain,
            ServerErrorKind::ClusterDown,
            ServerErrorKind::BusyLoading,
            ServerErrorKind::MasterDown,
        ] {
            let err = server(kind, "3999 127.0.0.1:7001");
            assert!(err.is_unavailable(), "{kind:?}: {err}");
            assert!(err.to_string().starts_with("acquire: "), "{err}");
        }
        let bug = server(ServerErrorKind::ResponseError, "user_script:1: oops");
        assert!(!bug.is_unavailable(), "{bug}");
        assert!(matches!(bug, EngineError::Refused { op: "acquire", .. }));
    }

    #[test]
    fn a_missing_function_library_is_recognised() {
        let missing = server(ServerErrorKind::ResponseError, "Function not found");
        assert!(missing.is_missing_function());
        let other = server(ServerErrorKind::ResponseError, "wrong number of arguments");
        assert!(!other.is_missing_function());
    }
}
