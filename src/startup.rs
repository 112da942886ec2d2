//! Builds the application (binds first, so port 0 works and tests can read the real port) and
//! runs it until a shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use poem::endpoint::BoxEndpoint;
use poem::{get, EndpointExt, Route};
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::dialects;
use crate::embedded::{EmbeddedError, RedisServer};
use crate::engine::{Engine, EngineError};
use crate::http::docs::{DocLink, DocsPage};
use crate::http::server::{self, Limits};
use crate::http::{health, middleware};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

pub struct Application {
    listener: TcpListener,
    limits: Limits,
    local_addr: SocketAddr,
    app: BoxEndpoint<'static>,
    engine: Engine,
    grace: Duration,
    /// The private Redis of the embedded default; stopped after the server.
    embedded: Option<RedisServer>,
}

impl Application {
    /// Connects nothing yet (Redis is reached on first use) but binds the listener, and starts the
    /// embedded Redis when no URL is configured.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let mut embedded = None;
        let url = if settings.redis.url.is_empty() {
            let server = RedisServer::start_private(&settings.redis.embedded_binary).await?;
            tracing::warn!(
                url = server.url(),
                "no Redis URL configured: started a private redis-server; all lock state is \
                 ephemeral and lost on exit, and other gateway processes cannot share it"
            );
            let url = server.url().to_owned();
            embedded = Some(server);
            url
        } else {
            settings.redis.url.clone()
        };
        let engine = Engine::new(&settings.redis, &url)?;
        let app = routes(&engine, &settings);
        let bind_error = |source| StartupError::Bind {
            addr: settings.server.listen.clone(),
            source,
        };
        let listener = TcpListener::bind(settings.server.listen.as_str())
            .await
            .map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        Ok(Self {
            listener,
            limits: Limits::from_settings(&settings.server),
            local_addr,
            app,
            engine,
            grace: Duration::from_secs(settings.server.shutdown_grace_seconds),
            embedded,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Serves until `shutdown` resolves; then answers waiting acquisitions (503), stops accepting,
    /// lets in-flight requests finish within the grace period, and stops the embedded Redis.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let engine = self.engine.clone();
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down");
            engine.begin_shutdown();
        };
        tracing::info!(addr = %self.local_addr, "lockgate listening");
        let result = server::serve(self.listener, self.app, self.limits, signal, self.grace).await;
        if let Some(mut redis) = self.embedded {
            redis.stop().await;
        }
        result
    }
}

/// The whole HTTP surface: health, docs, every dialect and the admin API under its mount.
pub fn routes(engine: &Engine, settings: &Settings) -> BoxEndpoint<'static> {
    let mut apis = dialects::all(engine, settings);
    let admin = dialects::admin(engine, settings);
    let admin_enabled = admin.is_some();
    apis.extend(admin);
    let links: Vec<DocLink> = apis
        .iter()
        .map(|d| DocLink {
            name: d.name.to_owned(),
            url: format!("{}/openapi.json", d.mount.trim_end_matches('/')),
        })
        .collect();
    // Handlers hold what they need; nothing is added to every request (`.data()` would clone
    // it into each one's extensions).
    let mut route = Route::new()
        .at("/healthz", get(health::healthz))
        .at("/readyz", get(health::Readyz::new(engine.clone())))
        .at("/docs", get(DocsPage::new(&links)));
    for api in apis {
        route = route.nest(api.mount, api.endpoint);
    }
    if !admin_enabled {
        tracing::warn!(
            mount = %settings.admin.mount,
            "admin API disabled: no admin.token configured"
        );
        route = route.nest(settings.admin.mount.clone(), crate::admin::disabled());
    }
    middleware::Logged(route).boxed()
}

/// Every OpenAPI document as checked in under `openapi/` (each dialect's, then the admin API's):
/// default settings, so default mounts as server URLs. Builds the engine only for its type;
/// nothing connects to Redis.
pub fn documents() -> Result<Vec<(&'static str, String)>, EngineError> {
    let mut settings = Settings::default();
    // The admin and sfp documents exist whether or not a deployment enables those APIs.
    settings.admin.token = "document-generation".into();
    settings.sfp.jwt_secret = "document-generation".into();
    let engine = Engine::new(&settings.redis, "redis://127.0.0.1:6379")?;
    Ok(dialects::all(&engine, &settings)
        .into_iter()
        .chain(dialects::admin(&engine, &settings))
        .map(|api| (api.name, format!("{}\n", api.spec)))
        .collect())
}
