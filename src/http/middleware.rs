//! One tracing span per request, closed with its status and latency.

use std::time::Instant;

use poem::{Endpoint, IntoResponse, Request, Response, Result};
use tracing::Instrument;

/// Wraps an endpoint (via `EndpointExt::around`) so every request is logged once.
pub async fn log_request<E: Endpoint>(next: E, req: Request) -> Result<Response> {
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        route = %req.uri().path(),
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    async move {
        let started = Instant::now();
        let response = match next.call(req).await {
            Ok(output) => output.into_response(),
            Err(err) => err.into_response(),
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

/// Refuses request bodies over `max` bytes with 413, whether or not they declare a length.
/// poem's `SizeLimit` would also refuse bodiless requests that send no `Content-Length`.
pub async fn limit_body<E: Endpoint>(next: E, mut req: Request, max: usize) -> Result<Response> {
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
    Ok(next.call(req).await?.into_response())
}
