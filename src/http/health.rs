//! Liveness and readiness for load balancers and orchestrators.

use poem::http::StatusCode;
use poem::web::Json;
use poem::{handler, Endpoint, IntoResponse, Request, Response};
use serde_json::json;

use crate::engine::Engine;

/// The process is up and serving HTTP.
#[handler]
pub fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Redis answers: 200, else 503, so a balancer stops sending traffic to a cut-off pod.
pub struct Readyz(Engine);

impl Readyz {
    pub fn new(engine: Engine) -> Self {
        Self(engine)
    }
}

impl Endpoint for Readyz {
    type Output = Response;

    async fn call(&self, _: Request) -> poem::Result<Response> {
        Ok(match self.0.ping().await {
            Ok(()) => (StatusCode::OK, Json(json!({"status": "ready"}))).into_response(),
            Err(err) => (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "message": err.to_string()})),
            )
                .into_response(),
        })
    }
}
