//! The dialects: one file each, thin. Each parses and authenticates in its own words, calls the
//! engine, and shapes the answer; lock semantics live in the engine alone.

pub mod maas;

use poem::endpoint::{make_sync, BoxEndpoint};
use poem::{Endpoint, EndpointExt, IntoResponse, Response, Route};
use poem_openapi::{OpenApi, OpenApiService};

use crate::config::Settings;
use crate::engine::Engine;
use crate::http::{middleware, ApiError};

/// A dialect ready to mount: its path, its OpenAPI document, its routes.
pub struct Dialect {
    /// Short name, also the file name of its document under `openapi/`.
    pub name: &'static str,
    pub mount: String,
    /// The OpenAPI document (JSON), with the configured mount as its server URL.
    pub spec: String,
    pub endpoint: BoxEndpoint<'static>,
}

/// Every dialect, configured.
pub fn all(engine: &Engine, settings: &Settings) -> Vec<Dialect> {
    vec![maas::dialect(engine, settings)]
}

/// Wraps a dialect's API: serves its document at `/openapi.json`, limits bodies, and renders
/// every error poem raises (bad parameters, unknown paths...) with the dialect's `render`.
fn assemble<T: OpenApi + 'static>(
    name: &'static str,
    mount: &str,
    service: OpenApiService<T, ()>,
    routes: Route,
    render: fn(&ApiError) -> Response,
    settings: &Settings,
) -> Dialect {
    let service = service.server(mount.to_owned());
    let spec = service.spec();
    let document = spec.clone();
    let max_body = settings.server.max_body_bytes;
    let endpoint = routes
        .at(
            "/openapi.json",
            make_sync(move |_| {
                Response::builder()
                    .content_type("application/json")
                    .body(document.clone())
            }),
        )
        .nest("/", service)
        .around(move |ep, req| middleware::limit_body(ep, req, max_body))
        .catch_all_error(move |err| async move { render(&ApiError::from_poem(&err)) })
        .boxed();
    Dialect {
        name,
        mount: mount.to_owned(),
        spec,
        endpoint,
    }
}

/// Routes a dialect answers outside its document, e.g. an empty lock name.
fn fixed_error(err: ApiError, render: fn(&ApiError) -> Response) -> impl Endpoint {
    make_sync(move |_| render(&err).into_response())
}

/// Every dialect's OpenAPI document as checked in under `openapi/`: default settings, so default
/// mounts as server URLs. Builds the engine only for its type; nothing connects to Redis.
pub fn documents() -> Result<Vec<(&'static str, String)>, crate::engine::EngineError> {
    let settings = Settings::default();
    let engine = Engine::new(&settings.redis, "redis://127.0.0.1:6379")?;
    Ok(all(&engine, &settings)
        .into_iter()
        .map(|dialect| (dialect.name, format!("{}\n", dialect.spec)))
        .collect())
}
