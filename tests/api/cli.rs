//! The `lockgate` binary itself: the embedded default and the documents command.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use lockgate::embedded::binary_available;

const BIN: &str = env!("CARGO_BIN_EXE_lockgate");

/// With nothing configured, `lockgate serve` starts its own Redis, serves locks, and stops that
/// Redis when it is stopped.
#[tokio::test]
async fn serve_with_nothing_configured_runs_on_a_private_redis() {
    if !binary_available("redis-server") {
        eprintln!("skipped: needs redis-server on PATH");
        return;
    }
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("LOCKGATE_LOG__FORMAT", "json")
        .env_remove("LOCKGATE_REDIS__URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn lockgate");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut warned = false;
    let mut addr = None;
    for line in lines.by_ref() {
        let line = line.expect("line");
        let entry: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if entry["level"] == "WARN" && line.contains("ephemeral") {
            warned = true;
        }
        if let Some(found) = entry["addr"].as_str() {
            addr = Some(found.to_owned());
            break;
        }
    }
    let addr = addr.expect("listening address logged");
    assert!(warned, "warns that state is ephemeral");

    let response = reqwest::Client::new()
        .put(format!("http://{addr}/mutex/lock/jobs?timeout=0"))
        .send()
        .await
        .expect("PUT");
    assert_eq!(response.status(), 200);

    let redis_pids = child_redis_pids(child.id());
    assert_eq!(redis_pids.len(), 1, "one redis-server child");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    assert!(status.success(), "clean exit on SIGTERM");
    std::thread::sleep(Duration::from_millis(200));
    for pid in redis_pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "redis-server {pid} still running"
        );
    }
}

/// Without a Redis URL and without `redis-server`, `serve` says how to fix it.
#[test]
fn serve_without_redis_explains_how_to_get_one() {
    let output = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("LOCKGATE_REDIS__EMBEDDED_BINARY", "no-such-redis-server")
        .env_remove("LOCKGATE_REDIS__URL")
        .output()
        .expect("run lockgate");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("apt-get install redis-server"), "{stderr}");
    assert!(stderr.contains("--redis-url"), "{stderr}");
}

/// `lockgate openapi --out DIR` writes the documents that are checked in.
#[test]
fn openapi_command_writes_the_checked_in_documents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let status = Command::new(BIN)
        .args(["openapi", "--out"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .status()
        .expect("run lockgate");
    assert!(status.success());
    let written = std::fs::read_to_string(dir.path().join("maas.json")).expect("maas.json");
    let stored =
        std::fs::read_to_string(format!("{}/openapi/maas.json", env!("CARGO_MANIFEST_DIR")))
            .expect("checked in");
    assert_eq!(written, stored);
}

fn child_redis_pids(parent: u32) -> Vec<String> {
    let output = Command::new("pgrep")
        .args(["-P", &parent.to_string(), "redis-server"])
        .output()
        .expect("pgrep");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn wait_with_timeout(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("lockgate did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `lockgate admin lockable ...` manages accounts in the gateways' Redis: a token it creates
/// works over HTTP, and revoking it there takes effect at once.
#[tokio::test]
async fn admin_commands_manage_lockable_accounts() {
    let app = crate::helpers::spawn_app().await;
    let prefix = app.settings().redis.key_prefix.clone();
    let admin = |args: &[&str]| {
        let output = Command::new(BIN)
            .arg("admin")
            .args(args)
            .args(["--redis-url", app.redis.url()])
            .env("LOCKGATE_REDIS__KEY_PREFIX", &prefix)
            .output()
            .expect("run lockgate admin");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.success(), stdout, stderr)
    };

    let (ok, out, err) = admin(&[
        "lockable",
        "create-account",
        "--plan",
        "business",
        "--lease-seconds",
        "30",
        "--label",
        "cli",
    ]);
    assert!(ok, "{err}");
    let created: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(created["leaseSeconds"], 30);
    let token = created["token"].as_str().expect("token");
    let id = created["accountId"].as_str().expect("id");
    assert!(app.lockable_ok("acquire", "cli-job", token).await);

    let (ok, out, err) = admin(&["lockable", "update-account", id, "--lease-seconds", "40"]);
    assert!(ok, "{err}");
    let updated: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(updated["leaseSeconds"], 40);
    assert_eq!(updated["label"], "cli");

    let (ok, out, _) = admin(&["lockable", "show-account", id]);
    assert!(ok);
    assert!(!out.contains(token), "the token is never shown again");

    let (ok, out, err) = admin(&["lockable", "revoke-account", id]);
    assert!(ok, "{err}");
    let revoked: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(revoked["releasedLocks"], 1);
    assert_eq!(
        app.lockable("acquire", "cli-job", token).await.status(),
        401
    );

    let (ok, _, err) = admin(&["lockable", "show-account", id]);
    assert!(!ok);
    assert!(err.contains("no account"), "{err}");
    let (ok, _, err) = admin(&[
        "lockable",
        "create-account",
        "--plan",
        "hobbyist",
        "--lease-seconds",
        "5",
    ]);
    assert!(!ok, "the same rules as the admin API");
    assert!(err.contains("business"), "{err}");
}

/// `lockgate admin synchronize ...` shows and revokes a user who signed up over HTTP.
#[tokio::test]
async fn admin_commands_show_and_revoke_synchronize_users() {
    let app = crate::helpers::spawn_app().await;
    let prefix = app.settings().redis.key_prefix.clone();
    let user = app.sync_sign_up().await;
    let key = user["apiKey"].as_str().expect("apiKey");
    let id = user["userId"].as_str().expect("userId");
    let body = serde_json::json!({"lockName": "job", "requester": "cli"});
    app.sync_ok(reqwest::Method::POST, "/lock", key, Some(body))
        .await;
    let admin = |command: &str| {
        Command::new(BIN)
            .args([
                "admin",
                "synchronize",
                command,
                id,
                "--redis-url",
                app.redis.url(),
            ])
            .env("LOCKGATE_REDIS__KEY_PREFIX", &prefix)
            .output()
            .expect("run lockgate admin")
    };

    let shown = admin("show-user");
    assert!(shown.status.success());
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("JSON");
    assert_eq!(
        (shown["lockCount"].as_u64(), shown["heldLocks"].as_u64()),
        (Some(1), Some(1))
    );
    let revoked = admin("revoke-user");
    assert!(revoked.status.success());
    let revoked: serde_json::Value = serde_json::from_slice(&revoked.stdout).expect("JSON");
    assert_eq!(revoked["releasedLocks"], 1);
    let refused = app.sync(reqwest::Method::GET, "/locks", key, None).await;
    assert_eq!(refused.status(), 401);
    assert!(!admin("show-user").status.success());
}
