//! How a call reaches Redis: on one of the shared connections, bounded by the timeout, with
//! errors sorted into [`EngineError`] and named after the operation.

use std::future::Future;

use redis::{FromRedisValue, Value};

use super::keys::CourseKeys;
use super::scripts::{CourseScript, LockScript, ResourceSettings, Standalone};
use super::{pool, Engine, EngineError, LockKeys};

/// What to send: a plain command, a prepared script or an atomic pipeline.
pub(super) enum Call<'a, 's> {
    Command(&'a redis::Cmd),
    Script(&'a redis::ScriptInvocation<'s>),
    Pipeline(&'a redis::Pipeline),
}

impl Engine {
    /// Runs one lock script on `keys`' resource and reads its typed reply. If Redis does not
    /// know the function (it restarted empty), loads the library and calls again.
    pub(super) async fn run_lock<S: LockScript>(
        &self,
        keys: &LockKeys,
        script: &S,
    ) -> Result<S::Reply, EngineError> {
        let cmd = ResourceSettings {
            keys,
            fence_retention: self.inner.fence_retention,
            claim_window: self.inner.claim_window,
        }
        .command(script);
        let value = self.call_function(S::NAME, &cmd).await?;
        S::reply(value).map_err(|detail| EngineError::reply(S::NAME, detail))
    }

    /// Runs one course script on `keys`' course and reads its typed reply.
    pub(super) async fn run_course<S: CourseScript>(
        &self,
        keys: &CourseKeys,
        script: &S,
    ) -> Result<S::Reply, EngineError> {
        let cmd = keys.command(script, self.inner.fence_retention);
        let value = self.call_function(S::NAME, &cmd).await?;
        S::reply(value).map_err(|detail| EngineError::reply(S::NAME, detail))
    }

    /// An FCALL of the library; if Redis does not know the function (it restarted empty),
    /// loads the library and calls again.
    async fn call_function(
        &self,
        name: &'static str,
        cmd: &redis::Cmd,
    ) -> Result<Value, EngineError> {
        match self.call(name, Call::Command(cmd)).await {
            Err(err) if err.is_missing_function() => {
                self.load_library().await?;
                self.call(name, Call::Command(cmd)).await
            }
            other => other,
        }
    }

    /// Runs a standalone script and reads its typed reply.
    pub(super) async fn run_script<S: Standalone>(
        &self,
        script: &S,
    ) -> Result<S::Reply, EngineError> {
        let invocation = script.invocation();
        let value: Value = self.call(S::NAME, Call::Script(&invocation)).await?;
        S::reply(value).map_err(|detail| EngineError::reply(S::NAME, detail))
    }

    /// Loads (or replaces with the same code) the lock function library.
    async fn load_library(&self) -> Result<(), EngineError> {
        let library = &super::scripts::library::LIBRARY;
        tracing::info!(library = %library.name, "loading the lock functions into Redis");
        let mut load = redis::cmd("FUNCTION");
        load.arg("LOAD").arg("REPLACE").arg(&library.code);
        let _: String = self.command("function_load", &load).await?;
        Ok(())
    }

    /// Runs one plain command, within the timeout.
    pub(super) async fn command<T: FromRedisValue>(
        &self,
        op: &'static str,
        cmd: &redis::Cmd,
    ) -> Result<T, EngineError> {
        self.call(op, Call::Command(cmd)).await
    }

    /// One request on a shared connection; a connection whose request failed on the wire or was
    /// cut off by the timeout is replaced (see `pool.rs`).
    pub(super) async fn call<T: FromRedisValue>(
        &self,
        op: &'static str,
        call: Call<'_, '_>,
    ) -> Result<T, EngineError> {
        let pool = &self.inner.pool;
        // Boxed: connecting makes this future large, and every waiting request would carry it.
        let work = Box::pin(async move {
            let mut flight = InFlight {
                pool,
                conn: pool.get().await.map_err(|e| EngineError::redis(op, e))?,
                finished: false,
            };
            let redis = &mut flight.conn.redis;
            let result = match call {
                Call::Command(cmd) => cmd.query_async(redis).await,
                Call::Script(invocation) => invocation.invoke_async(redis).await,
                Call::Pipeline(pipe) => pipe.query_async(redis).await,
            };
            flight.finished = true;
            pool.settle(&flight.conn, Some(&result));
            result.map_err(|e| EngineError::redis(op, e))
        });
        self.bounded(op, work).await
    }

    /// `work` within the engine's timeout, else [`EngineError::Timeout`].
    pub(super) async fn bounded<T>(
        &self,
        op: &'static str,
        work: impl Future<Output = Result<T, EngineError>>,
    ) -> Result<T, EngineError> {
        match tokio::time::timeout(self.inner.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(EngineError::Timeout {
                op,
                after_ms: super::millis(self.inner.timeout),
            }),
        }
    }
}

/// A request on a shared connection; one dropped unfinished (cut off by the timeout) makes the
/// pool replace that connection.
struct InFlight<'a> {
    pool: &'a pool::Pool,
    conn: pool::Connection,
    finished: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.pool.settle::<()>(&self.conn, None);
        }
    }
}
