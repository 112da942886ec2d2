//! Rate limits shared by every gateway: counters in Redis.

use std::time::Duration;

use super::scripts::accounts::COUNT_HIT;
use super::{millis, Engine, EngineError};

impl Engine {
    /// Counts a hit in `bucket`'s current window of `window`; returns the hits so far in it and
    /// the ms until it ends. Counted in Redis, so all gateways share the count.
    pub async fn count_hit(
        &self,
        bucket: &str,
        window: Duration,
    ) -> Result<(u64, u64), EngineError> {
        let mut invocation = COUNT_HIT.prepare_invoke();
        invocation.key(self.keys().rate(bucket)).arg(millis(window));
        self.invoke("count_hit", &invocation).await
    }
}
