//! Mounting an API: its routes, its OpenAPI document at `/openapi.json`, its body limit, and its
//! error shape for what poem itself rejects. Dialects and the admin API all mount through here.

use poem::endpoint::{make_sync, BoxEndpoint};
use poem::{EndpointExt, IntoResponse, Response, Route};
use poem_openapi::{OpenApi, OpenApiService};

use super::{middleware, ApiError};
use crate::config::Settings;
use crate::domain::LockNameError;

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

/// Wraps an API: serves its document at `/openapi.json`, limits bodies, and renders every error
/// poem raises (bad parameters, unknown paths...) with the API's `render`.
pub fn assemble<T: OpenApi + 'static>(
    name: &'static str,
    mount: &str,
    service: OpenApiService<T, ()>,
    routes: Route,
    render: fn(&ApiError) -> Response,
    settings: &Settings,
) -> Mounted {
    let service = service.server(mount.to_owned());
    let spec = service.spec();
    frame(
        name,
        mount,
        spec,
        routes.nest("/", service),
        render,
        settings,
    )
}

/// [`assemble`] for routes and a document made elsewhere (the admin API merges its parts').
pub fn frame(
    name: &'static str,
    mount: &str,
    spec: String,
    routes: Route,
    render: fn(&ApiError) -> Response,
    settings: &Settings,
) -> Mounted {
    let document = spec.clone();
    let endpoint = routes.at(
        "/openapi.json",
        make_sync(move |_| {
            Response::builder()
                .content_type("application/json")
                .body(document.clone())
        }),
    );
    let endpoint = middleware::DialectFrame {
        inner: endpoint,
        max_body: settings.server.max_body_bytes,
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
pub fn empty_name_routes(prefixes: &[&str], render: fn(&ApiError) -> Response) -> Route {
    prefixes.iter().fold(Route::new(), |route, prefix| {
        let err = ApiError::BadRequest(LockNameError::Empty.to_string());
        route.at(*prefix, make_sync(move |_| render(&err).into_response()))
    })
}
