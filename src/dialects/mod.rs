//! The dialects: one file each, thin. Each parses and authenticates in its own words, calls the
//! engine, and shapes the answer; lock semantics live in the engine alone.

pub mod lockable;
pub mod maas;
pub mod synchronize;

use poem::endpoint::{make_sync, BoxEndpoint};
use poem::{EndpointExt, IntoResponse, Response, Route};
use poem_openapi::{OpenApi, OpenApiService};

use crate::config::Settings;
use crate::domain::LockNameError;
use crate::engine::Engine;
use crate::http::{middleware, ApiError};

/// An API ready to mount (a dialect, or the admin API): its path, its OpenAPI document, its
/// routes.
pub struct Mounted {
    /// Short name, also the file name of its document under `openapi/`.
    pub name: &'static str,
    pub mount: String,
    /// The OpenAPI document (JSON), with the configured mount as its server URL.
    pub spec: String,
    pub endpoint: BoxEndpoint<'static>,
}

/// Every dialect, configured.
pub fn all(engine: &Engine, settings: &Settings) -> Vec<Mounted> {
    vec![
        maas::mounted(engine, settings),
        lockable::mounted(engine, settings),
        synchronize::mounted(engine, settings),
    ]
}

/// Wraps a dialect's API: serves its document at `/openapi.json`, limits bodies, and renders
/// every error poem raises (bad parameters, unknown paths...) with the dialect's `render`.
pub(crate) fn assemble<T: OpenApi + 'static>(
    name: &'static str,
    mount: &str,
    service: OpenApiService<T, ()>,
    routes: Route,
    render: fn(&ApiError) -> Response,
    settings: &Settings,
) -> Mounted {
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
        .nest("/", service);
    let endpoint = middleware::DialectFrame {
        inner: endpoint,
        max_body,
        render,
    }
    .boxed();
    Mounted {
        name,
        mount: mount.to_owned(),
        spec,
        endpoint,
    }
}

/// Routes for an empty lock name after each of `prefixes` (e.g. `/lock/`): they match no
/// operation, and answer 400 as the empty name they are, not 404 as an unknown path.
fn empty_name_routes(prefixes: &[&str], render: fn(&ApiError) -> Response) -> Route {
    prefixes.iter().fold(Route::new(), |route, prefix| {
        let err = ApiError::BadRequest(LockNameError::Empty.to_string());
        route.at(*prefix, make_sync(move |_| render(&err).into_response()))
    })
}

/// Every OpenAPI document as checked in under `openapi/` (the dialects' and the admin API's):
/// default settings, so default mounts as server URLs. Builds the engine only for its type;
/// nothing connects to Redis.
pub fn documents() -> Result<Vec<(&'static str, String)>, crate::engine::EngineError> {
    let mut settings = Settings::default();
    // The admin document exists whether or not a deployment enables the API.
    settings.admin.token = "document-generation".into();
    let engine = Engine::new(&settings.redis, "redis://127.0.0.1:6379")?;
    Ok(all(&engine, &settings)
        .into_iter()
        .chain(crate::admin::mounted(&engine, &settings))
        .map(|dialect| (dialect.name, format!("{}\n", dialect.spec)))
        .collect())
}
