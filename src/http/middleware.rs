//! The frames every request passes through, each one endpoint rather than a stack of poem
//! layers (every layer boxes and moves the request's future once more, which the profile showed
//! as a large share of the CPU per request):
//! - [`Logged`]: the whole app; one tracing span per request, closed with its status and
//!   latency, and errors no API claimed rendered as `{"message"}`;
//! - [`DialectFrame`]: one API under its mount; bodies over the limit refused with 413, every
//!   error (poem's own or a handler's) rendered in the API's shape.

use std::time::Instant;

use poem::{Endpoint, IntoResponse, Request, Response, Result};
use tracing::Instrument;

use super::ApiError;

/// The whole app, logged: see the module doc.
pub struct Logged<E>(pub E);

impl<E: Endpoint> Endpoint for Logged<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let span = tracing::info_span!(
            "request",
            method = %req.method(),
            route = %req.uri().path(),
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        async move {
            let started = Instant::now();
            let response = match self.0.call(req).await {
                Ok(output) => output.into_response(),
                Err(err) => {
                    let err = ApiError::from_poem(&err);
                    let body = serde_json::json!({"message": err.to_string()});
                    (err.status(), poem::web::Json(body)).into_response()
                }
            };
            let span = tracing::Span::current();
            span.record("status", response.status().as_u16());
            span.record("latency_ms", started.elapsed().as_secs_f64() * 1000.0);
            tracing::info!("request done");
            Ok(response)
        }
        .instrument(span)
        .await
    }
}

/// One API under its mount: see the module doc.
pub struct DialectFrame<E> {
    pub inner: E,
    pub max_body: usize,
    pub render: fn(&ApiError) -> Response,
}

impl<E: Endpoint> Endpoint for DialectFrame<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let answered = match limit_body(req, self.max_body).await {
            Ok(req) => self.inner.call(req).await.map(IntoResponse::into_response),
            Err(err) => Err(err),
        };
        Ok(answered.unwrap_or_else(|err| (self.render)(&ApiError::from_poem(&err))))
    }
}

/// Refuses request bodies over `max` bytes with 413, whether or not they declare a length.
/// poem's `SizeLimit` would also refuse bodiless requests that send no `Content-Length`.
async fn limit_body(mut req: Request, max: usize) -> Result<Request> {
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    let too_large = || {
        poem::Error::from_string(
            format!("request body over {max} bytes"),
            poem::http::StatusCode::PAYLOAD_TOO_LARGE,
        )
    };
    match declared {
        Some(length) if length > max => return Err(too_large()),
        Some(0) => {}
        _ => {
            let body = req.take_body();
            if !body.is_empty() {
                let bytes = body.into_bytes_limit(max).await.map_err(|_| too_large())?;
                req.set_body(bytes);
            }
        }
    }
    Ok(req)
}
