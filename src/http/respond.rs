//! What an operation's OpenAPI document says it answers. Each API's response enum has its
//! success variants and one error variant (the API's error body, from its one error-shaping
//! function); [`Documented`] lists, for one operation, the error statuses it really returns, each
//! with that body, so Swagger UI and generated clients see them instead of only `default`.

use std::marker::PhantomData;

use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::ApiResponse;

/// The error statuses one operation returns, with what each means.
pub trait Statuses: Send {
    const LIST: &'static [(u16, &'static str)];
}

/// Declares a [`Statuses`] list: `statuses!(Name: 400 "bad name", 503 "store unavailable");`.
macro_rules! statuses {
    ($(#[$meta:meta])* $name:ident: $($status:literal $what:literal),+ $(,)?) => {
        $(#[$meta])*
        pub struct $name;
        impl $crate::http::respond::Statuses for $name {
            const LIST: &'static [(u16, &'static str)] = &[$(($status, $what)),+];
        }
    };
}
pub(crate) use statuses;

/// `From<ApiError>` for response enums whose error variant is `Error(status, body)`, through
/// the API's one error-shaping function: `error_from!(shape_fn => EnumA, EnumB);`.
macro_rules! error_from {
    ($shape:path => $($response:ident),+ $(,)?) => {$(
        impl From<$crate::http::ApiError> for $response {
            fn from(err: $crate::http::ApiError) -> Self {
                let (status, body) = $shape(&err);
                $response::Error(status, body)
            }
        }
    )+};
}
pub(crate) use error_from;

/// Response `R` of an operation that fails only with the statuses `S` (and, for a bug, 500).
pub struct Documented<R, S> {
    pub response: R,
    statuses: PhantomData<S>,
}

impl<R, S> From<R> for Documented<R, S> {
    fn from(response: R) -> Self {
        Self {
            response,
            statuses: PhantomData,
        }
    }
}

impl<R: IntoResponse, S: Statuses> IntoResponse for Documented<R, S> {
    fn into_response(self) -> Response {
        self.response.into_response()
    }
}

impl<R: ApiResponse, S: Statuses> ApiResponse for Documented<R, S> {
    /// `R`'s own responses, its `default` (the error body) repeated for each listed status and
    /// kept, described as what is left: a bug.
    fn meta() -> MetaResponses {
        let mut responses = R::meta().responses;
        let default = responses
            .iter()
            .position(|r| r.status.is_none() && r.status_range.is_none());
        if let Some(at) = default {
            let error = responses.remove(at);
            for (status, what) in S::LIST {
                responses.push(MetaResponse {
                    description: what,
                    status: Some(*status),
                    status_range: None,
                    content: error.content.iter().map(media).collect(),
                    headers: error.headers.iter().map(header).collect(),
                });
            }
            responses.push(MetaResponse {
                description: "500: an internal error (logged; no detail is sent)",
                ..error
            });
        }
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        R::register(registry);
    }
}

fn media(media: &MetaMediaType) -> MetaMediaType {
    MetaMediaType {
        content_type: media.content_type,
        schema: media.schema.clone(),
    }
}

fn header(header: &MetaHeader) -> MetaHeader {
    MetaHeader {
        name: header.name.clone(),
        description: header.description.clone(),
        required: header.required,
        deprecated: header.deprecated,
        schema: header.schema.clone(),
    }
}
