//! Settings, layered: built-in defaults < optional TOML file < `LOCKGATE_*` environment variables
//! (`__` between levels, e.g. `LOCKGATE_MAAS__MAX_LOCK_SECONDS`) < command-line flags.
//! Every key is documented in `lockgate.example.toml` and the README.

use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub server: ServerSettings,
    pub redis: RedisSettings,
    pub log: LogSettings,
    pub admin: AdminSettings,
    pub maas: MaasSettings,
    pub lockable: LockableSettings,
    pub synchronize: SynchronizeSettings,
    pub sfp: SfpSettings,
    pub courses: CoursesSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    /// Address the HTTP server binds, e.g. `0.0.0.0:8080`; port 0 picks a free one.
    pub listen: String,
    /// After SIGTERM/SIGINT, how long in-flight requests get to finish.
    pub shutdown_grace_seconds: u64,
    /// Request bodies larger than this are refused with 413.
    pub max_body_bytes: usize,
    /// Peers (IP addresses or CIDR blocks) whose `X-Forwarded-For` is believed, e.g. the load
    /// balancer. From anyone else the header is ignored and the peer address counts.
    pub trusted_proxies: Vec<String>,
    /// A connection must deliver each request head within this many ms of its first byte (a new
    /// connection: of being accepted), or it is closed: slowloris clients cannot pile up.
    pub header_read_timeout_ms: u64,
    /// A keep-alive connection with no request in flight is closed after this many ms. A request
    /// waiting for a lock is in flight, however long it waits.
    pub idle_timeout_ms: u64,
    /// Open connections at most; one over the cap is closed at once.
    pub max_connections: usize,
    /// Threads that serve requests; 0 = one per CPU core.
    pub worker_threads: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RedisSettings {
    /// `redis://host:port/db`, `rediss://...` or `unix:///path`. Empty: start a private,
    /// ephemeral `redis-server` child (see `embedded_binary`).
    pub url: String,
    /// Prefix of every key lockgate writes, so several deployments can share one Redis.
    pub key_prefix: String,
    /// Bound on every Redis call; past it the request fails with 503.
    pub timeout_ms: u64,
    /// Connections per gateway process (plus one for pub/sub).
    pub pool_size: usize,
    /// A waiter whose gateway stops refreshing it for this long leaves the queue.
    pub presence_timeout_ms: u64,
    /// A hand-off to a waiter must be claimed by its gateway within this long, else it passes
    /// to the next waiter (a gateway that died costs the queue at most this).
    pub claim_timeout_ms: u64,
    /// How long a lock's last fencing token is kept after its last use. Tokens stay monotonic
    /// after it is gone too (they never fall below Redis time in microseconds).
    pub fence_retention_seconds: u64,
    /// The `redis-server` binary the embedded default starts.
    pub embedded_binary: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `lockgate=debug,poem=info`. `RUST_LOG` wins if set.
    pub level: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AdminSettings {
    /// Bearer token of the admin API. Empty: the admin API is disabled (404 everywhere).
    pub token: String,
    /// Path the admin API is served under.
    pub mount: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LockableSettings {
    /// Path the lockable dialect is served under.
    pub mount: String,
    /// Lease of every hobbyist account.
    pub hobbyist_lease_seconds: u64,
    /// Lease of a business account created without `leaseSeconds`.
    pub default_business_lease_seconds: u64,
    /// The longest lease a business account may be given.
    pub max_business_lease_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SynchronizeSettings {
    /// Path the synchronize dialect is served under (its paths start with `/v0`).
    pub mount: String,
    /// The longest a lease runs without an unlock; also the cap on `leaseSeconds`.
    pub max_lease_seconds: u64,
    /// How long a released lock stays visible (locked: false) after its last change.
    pub retention_seconds: u64,
    /// Anonymous sign-ups allowed per client address and minute, counted across all gateways.
    pub signups_per_minute: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SfpSettings {
    /// Path the sfp dialect is served under (its paths start with `/locks`).
    pub mount: String,
    /// HS256 secret tokens are signed with. Exactly one of this and `jwt_public_key_file` is
    /// set to serve sfp; with neither, sfp is not mounted.
    pub jwt_secret: String,
    /// PEM public key (RSA or EC P-256) tokens are signed for, RS256 or ES256.
    pub jwt_public_key_file: String,
    /// Clock skew allowed on `exp` and `nbf`.
    pub jwt_leeway_seconds: u64,
    /// When set, tokens must carry this `iss`.
    pub jwt_issuer: String,
    /// When set, tokens must carry this `aud`.
    pub jwt_audience: String,
    /// Where the roles are in the token's claims: a dotted path, e.g. `app_metadata.role`.
    pub role_claim: String,
    /// The longest `leaseDurationSeconds` accepted.
    pub max_lease_seconds: u64,
    /// The cap on an acquire attempt's `waitSeconds`.
    pub max_wait_seconds: u64,
    /// A queued ticket nobody polled for this long is dropped.
    pub queue_idle_seconds: u64,
    /// How long released tickets stay listed.
    pub retention_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CoursesSettings {
    /// Path the courses dialect is served under (its paths start with `/locks`).
    pub mount: String,
    /// How long an editing lock lasts after its last lock call.
    pub lock_seconds: u64,
    /// How long a user session lasts after its creation.
    pub session_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MaasSettings {
    /// Path the maas dialect is served under.
    pub mount: String,
    /// The longest a mutex is held; also the cap on `timeout`.
    pub max_lock_seconds: u64,
    /// Wait used when a request gives no `timeout`.
    pub default_timeout_seconds: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8080".into(),
            shutdown_grace_seconds: 30,
            max_body_bytes: 64 * 1024,
            trusted_proxies: Vec::new(),
            header_read_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            max_connections: 10_000,
            worker_threads: 0,
        }
    }
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: String::new(),
            key_prefix: "lockgate".into(),
            timeout_ms: 2000,
            pool_size: 2,
            presence_timeout_ms: 10_000,
            claim_timeout_ms: 2000,
            fence_retention_seconds: 7 * 24 * 3600,
            embedded_binary: "redis-server".into(),
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            level: "info".into(),
        }
    }
}

impl Default for AdminSettings {
    fn default() -> Self {
        Self {
            token: String::new(),
            mount: "/admin/v1".into(),
        }
    }
}

impl Default for LockableSettings {
    fn default() -> Self {
        Self {
            mount: "/v1".into(),
            hobbyist_lease_seconds: 60,
            default_business_lease_seconds: 60,
            max_business_lease_seconds: 86_400,
        }
    }
}

impl Default for SynchronizeSettings {
    fn default() -> Self {
        Self {
            mount: "/api".into(),
            max_lease_seconds: 86_400,
            retention_seconds: 7 * 24 * 3600,
            signups_per_minute: 10,
        }
    }
}

impl Default for SfpSettings {
    fn default() -> Self {
        Self {
            mount: "/sfp/api".into(),
            jwt_secret: String::new(),
            jwt_public_key_file: String::new(),
            jwt_leeway_seconds: 30,
            jwt_issuer: String::new(),
            jwt_audience: String::new(),
            role_claim: "role".into(),
            max_lease_seconds: 86_400,
            max_wait_seconds: 60,
            queue_idle_seconds: 120,
            retention_seconds: 86_400,
        }
    }
}

impl Default for CoursesSettings {
    fn default() -> Self {
        Self {
            mount: "/".into(),
            lock_seconds: 900,
            session_seconds: 86_400,
        }
    }
}

impl Default for MaasSettings {
    fn default() -> Self {
        Self {
            mount: "/mutex".into(),
            max_lock_seconds: 300,
            default_timeout_seconds: 60,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration: {0}")]
    Invalid(String),
}

/// Values given on the command line; they win over every other source.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    pub redis_url: Option<String>,
}

impl Settings {
    /// Reads defaults, then `file` if given, then the environment, then `overrides`.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        Self::load_from(file, overrides, std::env::vars())
    }

    /// [`Settings::load`] with the environment passed in, so tests need not touch the process's.
    pub fn load_from(
        file: Option<&Path>,
        overrides: &Overrides,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut builder =
            config::Config::builder().add_source(config::Config::try_from(&Settings::default())?);
        if let Some(file) = file {
            builder = builder.add_source(config::File::from(file).required(true));
        }
        let env: config::Map<String, String> = env.into_iter().collect();
        builder = builder.add_source(
            config::Environment::with_prefix("LOCKGATE")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("server.trusted_proxies")
                .source(Some(env)),
        );
        if let Some(listen) = &overrides.listen {
            builder = builder.set_override("server.listen", listen.as_str())?;
        }
        if let Some(url) = &overrides.redis_url {
            builder = builder.set_override("redis.url", url.as_str())?;
        }
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |msg: &str| Err(ConfigError::Invalid(msg.to_owned()));
        if self.redis.key_prefix.contains(['{', '}']) {
            return invalid("redis.key_prefix must not contain '{' or '}' (they are hash tags)");
        }
        if self.redis.timeout_ms == 0 || self.redis.pool_size == 0 {
            return invalid("redis.timeout_ms and redis.pool_size must be at least 1");
        }
        if self.redis.presence_timeout_ms < 300 {
            return invalid("redis.presence_timeout_ms must be at least 300");
        }
        if self.redis.claim_timeout_ms < 100 {
            return invalid("redis.claim_timeout_ms must be at least 100");
        }
        let server = &self.server;
        if server.header_read_timeout_ms == 0
            || server.idle_timeout_ms == 0
            || server.max_connections == 0
        {
            return invalid(
                "server.header_read_timeout_ms, server.idle_timeout_ms and server.max_connections \
                 must be at least 1",
            );
        }
        if self.maas.max_lock_seconds == 0 {
            return invalid("maas.max_lock_seconds must be at least 1");
        }
        let dialects = crate::dialects::DIALECTS
            .iter()
            .map(|dialect| (dialect.name, (dialect.mount)(self)));
        let mut mounts: Vec<(&str, &str)> = dialects.collect();
        mounts.push(("admin", &self.admin.mount));
        for (i, (name, mount)) in mounts.iter().enumerate() {
            if !mount.starts_with('/') {
                return Err(ConfigError::Invalid(format!(
                    "{name}.mount must start with '/'"
                )));
            }
            let clash = mounts[..i]
                .iter()
                .find(|(_, other)| other.trim_end_matches('/') == mount.trim_end_matches('/'));
            if let Some((other, _)) = clash {
                return Err(ConfigError::Invalid(format!(
                    "{name}.mount and {other}.mount are the same path"
                )));
            }
        }
        let lockable = &self.lockable;
        if lockable.hobbyist_lease_seconds == 0
            || lockable.default_business_lease_seconds == 0
            || lockable.default_business_lease_seconds > lockable.max_business_lease_seconds
        {
            return invalid(
                "lockable leases must be at least 1 s and the business default within the maximum",
            );
        }
        if self.synchronize.max_lease_seconds == 0 || self.synchronize.signups_per_minute == 0 {
            return invalid(
                "synchronize.max_lease_seconds and synchronize.signups_per_minute must be at least 1",
            );
        }
        let sfp = &self.sfp;
        if sfp.max_lease_seconds == 0
            || sfp.queue_idle_seconds == 0
            || sfp.retention_seconds == 0
            || sfp.role_claim.is_empty()
        {
            return invalid(
                "sfp.max_lease_seconds, sfp.queue_idle_seconds and sfp.retention_seconds must be \
                 at least 1, and sfp.role_claim must name a claim",
            );
        }
        if self.courses.lock_seconds == 0 || self.courses.session_seconds == 0 {
            return invalid("courses.lock_seconds and courses.session_seconds must be at least 1");
        }
        // Both a secret and a key, or a key file that does not parse, stop the start here.
        crate::accounts::SfpVerifier::from_settings(sfp).map_err(ConfigError::Invalid)?;
        // Both a secret and a key, or a key file that does not parse, stop the start here.
        crate::accounts::SfpVerifier::from_settings(sfp).map_err(ConfigError::Invalid)?;
        for proxy in &self.server.trusted_proxies {
            if crate::http::client_ip::Cidr::parse(proxy).is_none() {
                return Err(ConfigError::Invalid(format!(
                    "server.trusted_proxies: `{proxy}` is not an IP address or CIDR block"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_apply_without_any_source() {
        let s = Settings::load_from(None, &Overrides::default(), env(&[])).expect("loads");
        assert_eq!(s.maas.max_lock_seconds, 300);
        assert_eq!(s.maas.mount, "/mutex");
        assert_eq!(s.redis.url, "");
    }

    #[test]
    fn environment_beats_file_and_flags_beat_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("lockgate.toml");
        std::fs::write(
            &file,
            "[maas]\nmax_lock_seconds = 7\ndefault_timeout_seconds = 5\n[server]\nlisten = \"127.0.0.1:1\"\n",
        )
        .expect("write");
        let overrides = Overrides {
            listen: Some("127.0.0.1:2".into()),
            redis_url: None,
        };
        let s = Settings::load_from(
            Some(&file),
            &overrides,
            env(&[
                ("LOCKGATE_MAAS__MAX_LOCK_SECONDS", "3"),
                ("LOCKGATE_REDIS__URL", "redis://example:6379"),
            ]),
        )
        .expect("loads");
        assert_eq!(s.maas.max_lock_seconds, 3, "env beats file");
        assert_eq!(s.maas.default_timeout_seconds, 5, "file beats default");
        assert_eq!(s.server.listen, "127.0.0.1:2", "flag beats file");
        assert_eq!(s.redis.url, "redis://example:6379");
    }

    #[test]
    fn trusted_proxies_come_from_a_comma_separated_variable() {
        let s = Settings::load_from(
            None,
            &Overrides::default(),
            env(&[
                (
                    "LOCKGATE_SERVER__TRUSTED_PROXIES",
                    "10.0.0.1,192.168.0.0/16",
                ),
                ("LOCKGATE_ADMIN__TOKEN", "12345"),
            ]),
        )
        .expect("loads");
        assert_eq!(s.server.trusted_proxies, ["10.0.0.1", "192.168.0.0/16"]);
        assert_eq!(
            s.admin.token, "12345",
            "a numeric-looking token stays a string"
        );
        let bad = Settings::load_from(
            None,
            &Overrides::default(),
            env(&[("LOCKGATE_SERVER__TRUSTED_PROXIES", "not-an-ip")]),
        );
        assert!(bad.is_err());
    }

    /// The example file documents every key with its default value, and nothing else; the
    /// README's table lists every key.
    #[test]
    fn the_example_file_lists_every_key_with_its_default() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/lockgate.example.toml");
        let loaded = Settings::load_from(Some(Path::new(example)), &Overrides::default(), env(&[]))
            .expect("the example loads");
        let as_json = |s: &Settings| serde_json::to_value(s).expect("serializable");
        assert_eq!(as_json(&loaded), as_json(&Settings::default()));

        let text = std::fs::read_to_string(example).expect("readable");
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
            .expect("readable");
        let defaults = as_json(&Settings::default());
        for (section, keys) in defaults.as_object().expect("sections") {
            assert!(
                text.contains(&format!("[{section}]")),
                "[{section}] missing"
            );
            for key in keys.as_object().expect("keys").keys() {
                assert!(
                    text.contains(&format!("\n{key} = ")),
                    "{section}.{key} missing"
                );
                let row = format!("| `{section}.{key}` |");
                assert!(readme.contains(&row), "README table lacks {section}.{key}");
            }
        }
    }

    #[test]
    fn rejects_a_key_prefix_with_braces() {
        let err = Settings::load_from(
            None,
            &Overrides::default(),
            env(&[("LOCKGATE_REDIS__KEY_PREFIX", "a{b")]),
        )
        .expect_err("invalid");
        assert!(err.to_string().contains("key_prefix"), "{err}");
    }

    /// sfp verifies tokens with a secret or a public key; both at once, or a key file that
    /// cannot be read, stop the start.
    #[test]
    fn rejects_two_sfp_keys_and_an_unreadable_key_file() {
        let both = Settings::load_from(
            None,
            &Overrides::default(),
            env(&[
                ("LOCKGATE_SFP__JWT_SECRET", "s"),
                ("LOCKGATE_SFP__JWT_PUBLIC_KEY_FILE", "/etc/hosts"),
            ]),
        );
        assert!(both.is_err());
        let missing = Settings::load_from(
            None,
            &Overrides::default(),
            env(&[("LOCKGATE_SFP__JWT_PUBLIC_KEY_FILE", "/nonexistent/key.pem")]),
        );
        let err = missing.expect_err("unreadable").to_string();
        assert!(err.contains("/nonexistent/key.pem"), "{err}");
    }

    #[test]
    fn rejects_two_apis_on_one_mount() {
        let err = Settings::load_from(
            None,
            &Overrides::default(),
            env(&[("LOCKGATE_LOCKABLE__MOUNT", "/mutex/")]),
        )
        .expect_err("invalid");
        assert!(
            err.to_string()
                .contains("lockable.mount and maas.mount are the same path"),
            "{err}"
        );
    }
}
