//! Clients of the original services, run against lockgate unchanged but for the base URL.

use std::process::Stdio;

use serde_json::json;

use crate::helpers::{new_token, spawn_app};

/// `tests/compat/lockable_client.py` drives the lockable dialect the way lockable's published
/// Python client does: GET with Basic auth and `raise_for_status()`, a blocking acquire that
/// polls, a heartbeat thread while holding, release on leaving the `with` block.
#[tokio::test]
async fn lockables_python_client_works_against_lockgate() {
    let app = spawn_app().await;
    // A 2 s lease: the script holds the lock for 3 s, so only its heartbeats keep it.
    let a = new_token(&app, json!({"plan": "business", "leaseSeconds": 2})).await;
    let b = new_token(&app, json!({"plan": "business", "leaseSeconds": 2})).await;

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/compat/lockable_client.py"
    );
    let output = tokio::process::Command::new("python3")
        .arg(script)
        .arg(app.url("/v1"))
        .arg(&a)
        .arg(&b)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("python3 runs (install python3 to run this test)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "client failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
}
