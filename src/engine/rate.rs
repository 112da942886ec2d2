//! Rate limits shared by every gateway: counters in Redis.

use std::time::Duration;

use super::scripts::count_hit::CountHit;
use super::{Engine, EngineError};

/// One window of a rate limit, as counted so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Hits in this window, the one just counted included.
    pub hits: u64,
    /// Until the window ends and the count starts again.
    pub ends_in_ms: u64,
}

impl Engine {
    /// Counts a hit in `bucket`'s current window of `window`. Counted in Redis, so all gateways
    /// share the count.
    pub async fn count_hit(&self, bucket: &str, window: Duration) -> Result<Window, EngineError> {
        let key = self.keys().rate(bucket);
        self.run_script(&CountHit { key: &key, window }).await
    }
}
