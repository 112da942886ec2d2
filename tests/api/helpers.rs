//! Test harness: a real Redis for each test and gateways spawned on port 0.
//!
//! Redis comes from, in order: `LOCKGATE_TEST_REDIS_URL`; a `redis-server` on PATH, started on a
//! free port for this test alone; a testcontainers `redis:7` when a Docker daemon answers. Every
//! test also gets a key prefix of its own, so tests sharing an external Redis never meet.
//!
//! `spawn_app()` / `spawn_app_with(configure)` start a gateway on a Redis of its own, which the
//! `TestApp` holds (`app.redis`: freeze, stop, restart it); `app.peer()` starts another gateway
//! on the same Redis. The dialect helpers (`lock`, `lockable`, `sync`, `admin`...) build their
//! URLs from the configured mounts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lockgate::config::Settings;
use lockgate::domain::LockName;
use lockgate::embedded::{binary_available, Listen, RedisServer};
use lockgate::engine::{Engine, LockRef, Namespace};
use lockgate::Application;
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

enum Backend {
    External,
    Process {
        server: Option<Box<RedisServer>>,
        port: u16,
    },
    Container(Box<ContainerAsync<GenericImage>>),
}

/// A Redis for one test; gateways of the test share it. Its methods take `&self`, so a test can
/// freeze or restart it while gateways hold it.
pub struct TestRedis {
    backend: tokio::sync::Mutex<Backend>,
    /// Set once: whether the server is this harness's own (not `LOCKGATE_TEST_REDIS_URL`).
    owned: bool,
    url: String,
}

impl TestRedis {
    pub async fn start() -> TestRedis {
        if let Ok(url) = std::env::var("LOCKGATE_TEST_REDIS_URL") {
            if !url.is_empty() {
                return TestRedis::new(Backend::External, url);
            }
        }
        if binary_available("redis-server") {
            let port = free_port();
            let server = RedisServer::start("redis-server", Listen::Port(port))
                .await
                .expect("start redis-server");
            let url = server.url().to_owned();
            let server = Some(Box::new(server));
            return TestRedis::new(Backend::Process { server, port }, url);
        }
        let container = GenericImage::new("redis", "7.2")
            .with_exposed_port(6379.tcp())
            .with_wait_for(WaitFor::message_on_stdout("Ready to accept connections"))
            .start()
            .await
            .expect(
                "no Redis for tests: set LOCKGATE_TEST_REDIS_URL, install redis-server, or run Docker",
            );
        let port = container
            .get_host_port_ipv4(6379.tcp())
            .await
            .expect("container port");
        let url = format!("redis://127.0.0.1:{port}");
        TestRedis::new(Backend::Container(Box::new(container)), url)
    }

    /// Whatever answers at `url`, not this harness's to stop (e.g. a server that never answers).
    pub fn external(url: &str) -> TestRedis {
        TestRedis::new(Backend::External, url.to_owned())
    }

    fn new(backend: Backend, url: String) -> TestRedis {
        TestRedis {
            owned: !matches!(backend, Backend::External),
            backend: tokio::sync::Mutex::new(backend),
            url,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Makes Redis unreachable; false when this harness does not own the server.
    pub async fn stop(&self) -> bool {
        match &mut *self.backend.lock().await {
            Backend::Process { server, .. } => {
                if let Some(mut running) = server.take() {
                    running.stop().await;
                }
                true
            }
            Backend::Container(container) => container.pause().await.is_ok(),
            Backend::External => false,
        }
    }

    /// Freezes Redis (SIGSTOP to the server this test started, `docker pause` for a container):
    /// connections stay open and calls queue up unanswered, as in a stall. False when this
    /// harness does not own the server.
    pub async fn freeze(&self) -> bool {
        self.signal(libc::SIGSTOP).await
    }

    /// Lets a frozen Redis run on; the calls sent meanwhile run now.
    pub async fn thaw(&self) {
        assert!(
            self.signal(libc::SIGCONT).await,
            "thaw a Redis this test froze"
        );
    }

    async fn signal(&self, signal: libc::c_int) -> bool {
        match &mut *self.backend.lock().await {
            Backend::Process { server, .. } => {
                let Some(pid) = server.as_ref().and_then(|s| s.pid()) else {
                    return false;
                };
                let pid = libc::pid_t::try_from(pid).expect("pid fits");
                // SAFETY: kill(2) with a pid this harness started; no memory is involved.
                unsafe { libc::kill(pid, signal) == 0 }
            }
            Backend::Container(container) if signal == libc::SIGSTOP => {
                container.pause().await.is_ok()
            }
            Backend::Container(container) => container.unpause().await.is_ok(),
            Backend::External => false,
        }
    }

    /// Brings a stopped Redis back at the same address (empty, for a process).
    pub async fn resume(&self) {
        match &mut *self.backend.lock().await {
            Backend::Process { server, port } => {
                let restarted = RedisServer::start("redis-server", Listen::Port(*port))
                    .await
                    .expect("restart redis-server");
                *server = Some(Box::new(restarted));
            }
            Backend::Container(container) => container.unpause().await.expect("unpause"),
            Backend::External => {}
        }
    }

    /// What Redis losing its data looks like to this test: FLUSHALL on a server the test owns,
    /// else deleting every key under the test's prefix.
    pub async fn lose_data(&self, prefix: &str) {
        let client = redis::Client::open(self.url.as_str()).expect("client");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        if !self.owned() {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{prefix}:*"))
                .query_async(&mut conn)
                .await
                .expect("KEYS");
            for key in keys {
                let _: () = redis::cmd("DEL")
                    .arg(key)
                    .query_async(&mut conn)
                    .await
                    .expect("DEL");
            }
        } else {
            let _: () = redis::cmd("FLUSHALL")
                .query_async(&mut conn)
                .await
                .expect("FLUSHALL");
        }
    }

    /// True when this test started the server itself (nobody else sends it commands).
    pub fn owned(&self) -> bool {
        self.owned
    }

    /// Commands clients sent that lockgate could send: functions, scripts, health checks,
    /// subscriptions. (Redis's total also counts the commands run inside scripts, so it cannot
    /// serve.)
    pub async fn client_commands(&self) -> u64 {
        const KINDS: [&str; 9] = [
            "fcall",
            "function",
            "evalsha",
            "eval",
            "script",
            "ping",
            "unwatch",
            "subscribe",
            "unsubscribe",
        ];
        let mut conn = self.connection().await;
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut conn)
            .await
            .expect("INFO");
        info.lines()
            .filter_map(|line| line.strip_prefix("cmdstat_"))
            .filter_map(|line| line.split_once(':'))
            .filter(|(kind, _)| KINDS.contains(kind))
            .filter_map(|(_, stats)| stats.split(',').next()?.strip_prefix("calls="))
            .filter_map(|calls| calls.parse::<u64>().ok())
            .sum()
    }

    /// Asserts that no key under `prefix` has `secret` in its name or its value (strings and
    /// hashes, which is all lockgate stores credentials in).
    pub async fn assert_stored_nowhere(&self, prefix: &str, secret: &str) {
        let mut conn = self.connection().await;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}:*"))
            .query_async(&mut conn)
            .await
            .expect("KEYS");
        assert!(!keys.is_empty(), "nothing stored at all");
        for name in keys {
            assert!(!name.contains(secret), "{name} holds the secret");
            let kind: String = redis::cmd("TYPE")
                .arg(&name)
                .query_async(&mut conn)
                .await
                .expect("TYPE");
            let value: String = match kind.as_str() {
                "string" => redis::cmd("GET")
                    .arg(&name)
                    .query_async(&mut conn)
                    .await
                    .expect("GET"),
                "hash" => {
                    let all: Vec<String> = redis::cmd("HGETALL")
                        .arg(&name)
                        .query_async(&mut conn)
                        .await
                        .expect("HGETALL");
                    all.join(" ")
                }
                _ => String::new(),
            };
            assert!(!value.contains(secret), "{name} holds the secret");
        }
    }

    /// A direct connection, for tests that arrange Redis state by hand.
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url.as_str())
            .expect("client")
            .get_multiplexed_async_connection()
            .await
            .expect("connect")
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Settings for a test gateway: port 0, the given Redis, a fresh key prefix.
pub fn test_settings(redis_url: &str) -> Settings {
    let mut settings = Settings::default();
    settings.server.listen = "127.0.0.1:0".into();
    settings.server.shutdown_grace_seconds = 5;
    settings.redis.url = redis_url.to_owned();
    settings.redis.key_prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
    settings.admin.token = ADMIN_TOKEN.into();
    settings.sfp.jwt_secret = SFP_SECRET.into();
    settings
}

/// The HS256 secret of sfp's tokens on test gateways (`test_settings`).
pub const SFP_SECRET: &str = "test-sfp-secret";

/// The admin token of test gateways (`test_settings`).
pub const ADMIN_TOKEN: &str = "test-admin-token";

/// A gateway running in this process, and the Redis it uses (shared with its peers).
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub engine: Engine,
    pub redis: Arc<TestRedis>,
    settings: Settings,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// A gateway on a Redis of its own, with the test settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A gateway on a Redis of its own, with the test settings as `configure` changes them.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let redis = Arc::new(TestRedis::start().await);
    let mut settings = test_settings(redis.url());
    configure(&mut settings);
    spawn_gateway(redis, settings).await
}

impl TestApp {
    /// Another gateway (pod) on the same Redis, with the same settings.
    pub async fn peer(&self) -> TestApp {
        self.peer_with(|_| {}).await
    }

    /// Another gateway on the same Redis, with this one's settings as `configure` changes them.
    pub async fn peer_with(&self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = self.settings.clone();
        configure(&mut settings);
        spawn_gateway(self.redis.clone(), settings).await
    }
}

/// A gateway with `settings` (whose Redis URL names `redis`).
pub async fn spawn_gateway(redis: Arc<TestRedis>, settings: Settings) -> TestApp {
    let app = Application::build(settings.clone())
        .await
        .expect("build application");
    let addr = app.local_addr();
    let engine = app.engine().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    TestApp {
        addr,
        client: reqwest::Client::new(),
        engine,
        redis,
        settings,
        stop: Some(stop),
        task: Some(task),
    }
}

impl TestApp {
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// `path` under an API's configured mount: the dialect clients below are built from the
    /// settings, so a test that moves a mount talks to the new place.
    pub fn mounted(&self, mount: &str, path: &str) -> String {
        self.url(&format!("{}{path}", mount.trim_end_matches('/')))
    }

    /// A maas URL (`/mutex` by default).
    pub fn maas(&self, path: &str) -> String {
        self.mounted(&self.settings.maas.mount, path)
    }

    /// A courses URL (`/` by default).
    pub fn courses(&self, path: &str) -> String {
        self.mounted(&self.settings.courses.mount, path)
    }

    /// An sfp URL (`/sfp/api` by default).
    pub fn sfp(&self, path: &str) -> String {
        self.mounted(&self.settings.sfp.mount, path)
    }

    /// A token this gateway accepts for `sub` with `role` (at its role claim path), valid an
    /// hour: what `lockgate admin sfp token` mints.
    pub fn sfp_token(&self, sub: &str, role: &str) -> String {
        lockgate::accounts::mint_sfp_token(&self.settings.sfp, sub, role, Duration::from_secs(3600))
            .expect("token")
    }

    /// A synchronize URL under its API version (`/api/v0` by default).
    pub fn synchronize(&self, path: &str) -> String {
        self.mounted(&self.settings.synchronize.mount, &format!("/v0{path}"))
    }

    /// `PUT /mutex/lock/{name}?timeout=` (no timeout parameter when `None`).
    pub async fn lock(&self, name: &str, timeout: Option<u64>) -> reqwest::Response {
        let mut request = self.client.put(self.maas(&format!("/lock/{name}")));
        if let Some(timeout) = timeout {
            request = request.query(&[("timeout", timeout)]);
        }
        request.send().await.expect("PUT lock")
    }

    /// Locks `name`, which must be free, and returns the body.
    pub async fn lock_ok(&self, name: &str) -> serde_json::Value {
        let response = self.lock(name, Some(0)).await;
        assert_eq!(response.status(), 200, "lock {name}");
        response.json().await.expect("json")
    }

    pub async fn unlock(&self, name: &str, mutex_id: &str) -> reqwest::Response {
        self.client
            .delete(self.maas(&format!("/lock/{name}")))
            .query(&[("mutex_id", mutex_id)])
            .send()
            .await
            .expect("DELETE lock")
    }

    pub async fn is_locked(&self, name: &str) -> bool {
        let response = self
            .client
            .get(self.maas(&format!("/lock/{name}")))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.expect("json");
        body["is_locked"].as_bool().expect("is_locked")
    }

    pub fn maas_lock(name: &str) -> LockRef {
        Namespace::shared("maas").lock(LockName::parse(name).expect("valid name"))
    }

    /// Waiters queued for a maas lock, as Redis sees them.
    pub async fn waiting(&self, name: &str) -> u64 {
        self.engine
            .inspect(&Self::maas_lock(name))
            .await
            .expect("inspect")
            .waiting
    }

    /// Polls until `name` has `count` waiters (so tests can order their waiters).
    pub async fn wait_for_waiters(&self, name: &str, count: u64) {
        let started = Instant::now();
        while self.waiting(name).await != count {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "never saw {count} waiters on {name}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A request to the admin API (`path` below `/admin/v1`) with the admin token.
    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.mounted(&self.settings.admin.mount, path))
            .bearer_auth(ADMIN_TOKEN)
    }

    /// `POST /admin/v1/lockable/accounts` with `body`; returns the 201 body (with its token).
    pub async fn create_lockable_account(&self, body: serde_json::Value) -> serde_json::Value {
        let response = self
            .admin(reqwest::Method::POST, "/lockable/accounts")
            .json(&body)
            .send()
            .await
            .expect("POST account");
        assert_eq!(response.status(), 201, "create {body}");
        response.json().await.expect("json")
    }

    /// A lockable call, `GET /v1/{op}/{name}` with the token as Basic user name.
    pub async fn lockable(&self, op: &str, name: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.mounted(&self.settings.lockable.mount, &format!("/{op}/{name}")))
            .basic_auth(token, Some(""))
            .send()
            .await
            .expect("lockable call")
    }

    /// A lockable call that must succeed; returns `response`.
    pub async fn lockable_ok(&self, op: &str, name: &str, token: &str) -> bool {
        let response = self.lockable(op, name, token).await;
        assert_eq!(response.status(), 200, "{op} {name}");
        let body: serde_json::Value = response.json().await.expect("json");
        body["response"].as_bool().expect("response")
    }

    /// `GET path`, without credentials.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// `POST /api/v0/users/anonymous`, which must succeed; returns `{userId, apiKey}`.
    pub async fn sync_sign_up(&self) -> serde_json::Value {
        let response = self
            .client
            .post(self.synchronize("/users/anonymous"))
            .send()
            .await
            .expect("sign up");
        assert_eq!(response.status(), 200, "sign up");
        response.json().await.expect("json")
    }

    /// A new synchronize user's API key.
    pub async fn sync_user(&self) -> String {
        self.sync_sign_up().await["apiKey"]
            .as_str()
            .expect("apiKey")
            .to_owned()
    }

    /// A synchronize call: `method` on `/api/v0{path}` with the API key, and a JSON body if any.
    pub async fn sync(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .request(method, self.synchronize(path))
            .bearer_auth(key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("synchronize call")
    }

    /// A synchronize call that must answer 200; returns its body.
    pub async fn sync_ok(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let response = self.sync(method, path, key, body).await;
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.expect("json")
    }

    /// Signals shutdown and waits for the server to finish.
    pub async fn shut_down(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Asserts an error in the `{"message"}` shape (lockable, admin): the status and the message.
pub async fn assert_message_error(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status);
    let body: serde_json::Value = response.json().await.expect("json body");
    let message = body["message"].as_str().expect("message").to_owned();
    assert!(!message.is_empty());
    message
}

/// The token of a new account, `{"plan": ...}` plus `extra` fields.
pub async fn new_token(app: &TestApp, body: serde_json::Value) -> String {
    app.create_lockable_account(body).await["token"]
        .as_str()
        .expect("token")
        .to_owned()
}

/// Asserts a maas error: the status, and a JSON `CustomError` repeating it.
pub async fn assert_custom_error(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: serde_json::Value = response.json().await.expect("json body");
    assert_eq!(body["code"], status, "{body}");
    let message = body["message"].as_str().expect("message").to_owned();
    assert!(!message.is_empty());
    message
}

/// A gateway running as its own process, killed with SIGKILL by the pid this test started.
pub struct GatewayProcess {
    child: std::process::Child,
    pub addr: String,
}

impl GatewayProcess {
    /// Started with `app`'s Redis, key prefix, timeouts and sfp secret.
    pub fn start(app: &TestApp) -> Self {
        use std::io::{BufRead, BufReader};
        let redis = &app.settings().redis;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lockgate"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("LOCKGATE_LOG__FORMAT", "json")
            .env("LOCKGATE_REDIS__URL", &redis.url)
            .env("LOCKGATE_REDIS__KEY_PREFIX", &redis.key_prefix)
            .env(
                "LOCKGATE_REDIS__PRESENCE_TIMEOUT_MS",
                redis.presence_timeout_ms.to_string(),
            )
            .env(
                "LOCKGATE_REDIS__CLAIM_TIMEOUT_MS",
                redis.claim_timeout_ms.to_string(),
            )
            .env("LOCKGATE_SFP__JWT_SECRET", &app.settings().sfp.jwt_secret)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn lockgate");
        let stdout = child.stdout.take().expect("stdout");
        let addr = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| {
                let entry: serde_json::Value = serde_json::from_str(&line).ok()?;
                entry["addr"].as_str().map(str::to_owned)
            })
            .expect("listening address logged");
        Self { child, addr }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An answer as a test reads it: status, JSON body (`null` if none), `Fencing-Token` header.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: serde_json::Value,
    pub fence: Option<u64>,
}

pub async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let fence = response
        .headers()
        .get("fencing-token")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    Reply {
        status,
        body: response.json().await.unwrap_or(serde_json::Value::Null),
        fence,
    }
}
