//! Liveness and readiness for load balancers and orchestrators.

use poem::http::StatusCode;
use poem::web::{Data, Json};
use poem::{handler, IntoResponse};
use serde_json::json;

use crate::engine::Engine;

/// The process is up and serving HTTP.
#[handler]
pub fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Redis answers: 200, else 503, so a balancer stops sending traffic to a cut-off pod.
#[handler]
pub async fn readyz(engine: Data<&Engine>) -> impl IntoResponse {
    match engine.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ready"}))),
        Err(err) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "message": err.to_string()})),
        ),
    }
}
