//! A private `redis-server` child: the embedded default of `lockgate serve` when no Redis URL is
//! configured, and the test harness's Redis when a binary is on PATH.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "no `{0}` binary found. Install Redis (e.g. `apt-get install redis-server`) or point \
         lockgate at a running one with --redis-url / LOCKGATE_REDIS__URL"
    )]
    NotInstalled(String),
    #[error("could not start `{binary}`: {reason}")]
    Start { binary: String, reason: String },
}

/// Where the child listens.
#[derive(Debug, Clone)]
pub enum Listen {
    /// A Unix socket at this path (no TCP port at all).
    Socket(PathBuf),
    /// 127.0.0.1 on this port.
    Port(u16),
}

/// A running `redis-server` without persistence; killed when dropped or stopped.
pub struct RedisServer {
    child: Child,
    url: String,
    /// Holds the socket's folder when the server made one itself.
    _dir: Option<tempfile::TempDir>,
}

impl RedisServer {
    /// Starts on a Unix socket in a fresh private folder.
    pub async fn start_private(binary: &str) -> Result<Self, EmbeddedError> {
        let dir = tempfile::Builder::new()
            .prefix("lockgate-redis-")
            .tempdir()
            .map_err(|err| start_error(binary, err))?;
        let mut server = Self::start(binary, Listen::Socket(dir.path().join("redis.sock"))).await?;
        server._dir = Some(dir);
        Ok(server)
    }

    /// Starts `binary` listening as `listen` and waits until it answers PING.
    pub async fn start(binary: &str, listen: Listen) -> Result<Self, EmbeddedError> {
        let mut command = Command::new(binary);
        command.args([
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ]);
        let url = match &listen {
            Listen::Socket(path) => {
                command
                    .args(["--port", "0", "--unixsocketperm", "700", "--unixsocket"])
                    .arg(path);
                if let Some(dir) = path.parent() {
                    command.arg("--dir").arg(dir);
                }
                format!("unix://{}", path.display())
            }
            Listen::Port(port) => {
                command.args(["--bind", "127.0.0.1", "--port", &port.to_string()]);
                command.arg("--dir").arg(std::env::temp_dir());
                format!("redis://127.0.0.1:{port}")
            }
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|err| match err.kind() {
                std::io::ErrorKind::NotFound => EmbeddedError::NotInstalled(binary.to_owned()),
                _ => start_error(binary, err),
            })?;
        let mut server = Self {
            child,
            url,
            _dir: None,
        };
        server.wait_ready(binary).await?;
        Ok(server)
    }

    /// The child's process id, while it runs (tests pause it with SIGSTOP by this id).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Kills the child and waits for it to exit.
    pub async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }

    async fn wait_ready(&mut self, binary: &str) -> Result<(), EmbeddedError> {
        let client =
            redis::Client::open(self.url.as_str()).map_err(|err| start_error(binary, err))?;
        for _ in 0..100 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(start_error(
                    binary,
                    format!("exited at start with {status}"),
                ));
            }
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
                let pong: Result<String, _> = redis::cmd("PING").query_async(&mut conn).await;
                if pong.is_ok() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(start_error(binary, "did not answer PING within 5 s"))
    }
}

/// True when `binary` can be found on PATH (or is a path to an existing file).
pub fn binary_available(binary: &str) -> bool {
    if binary.contains('/') {
        return Path::new(binary).is_file();
    }
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(binary).is_file()))
        .unwrap_or(false)
}

fn start_error(binary: &str, reason: impl std::fmt::Display) -> EmbeddedError {
    EmbeddedError::Start {
        binary: binary.to_owned(),
        reason: reason.to_string(),
    }
}
