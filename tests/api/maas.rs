//! The maas dialect as a client of the original service sees it, plus lockgate's additions.

use std::time::{Duration, Instant};

use crate::helpers::{assert_custom_error, spawn_app, spawn_app_with, TestApp};

/// A free mutex is locked at once: 200, a UUID `mutex_id`, and the same fencing token in the
/// body and the `Fencing-Token` header.
#[tokio::test]
async fn lock_on_a_free_mutex_returns_a_uuid_mutex_id_and_a_fencing_token() {
    let app = spawn_app().await;

    let response = app.lock("jobs", Some(0)).await;
    assert_eq!(response.status(), 200);
    let header: u64 = response.headers()["fencing-token"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("integer header");
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["name"], "jobs");
    assert_eq!(body["is_locked"], true);
    let mutex_id = body["mutex_id"].as_str().expect("mutex_id");
    assert!(uuid::Uuid::parse_str(mutex_id).is_ok(), "{mutex_id}");
    assert_eq!(body["fencing_token"], header);
}

/// Two locks of the same name never get the same `mutex_id` (the original derived it from the
/// name, so anyone could unlock anyone's mutex).
#[tokio::test]
async fn mutex_ids_are_random_not_derived_from_the_name() {
    let app = spawn_app().await;

    let first = app.lock_ok("jobs").await;
    app.unlock("jobs", first["mutex_id"].as_str().expect("id"))
        .await;
    let second = app.lock_ok("jobs").await;
    assert_ne!(first["mutex_id"], second["mutex_id"]);
}

/// GET reports the state through a lock/unlock cycle, and unlock answers `is_locked: false`.
#[tokio::test]
async fn is_locked_follows_lock_and_unlock() {
    let app = spawn_app().await;

    assert!(!app.is_locked("jobs").await);
    let body = app.lock_ok("jobs").await;
    assert!(app.is_locked("jobs").await);

    let response = app
        .unlock("jobs", body["mutex_id"].as_str().expect("id"))
        .await;
    assert_eq!(response.status(), 200);
    let unlocked: serde_json::Value = response.json().await.expect("json");
    assert_eq!(
        unlocked,
        serde_json::json!({"name": "jobs", "is_locked": false})
    );
    assert!(!app.is_locked("jobs").await);
}

/// Fencing tokens grow with every acquisition of a lock.
#[tokio::test]
async fn fencing_tokens_increase_with_every_acquisition() {
    let app = spawn_app().await;

    let mut last = 0;
    for _ in 0..5 {
        let body = app.lock_ok("jobs").await;
        let token = body["fencing_token"].as_u64().expect("token");
        assert!(token > last, "{token} after {last}");
        last = token;
        app.unlock("jobs", body["mutex_id"].as_str().expect("id"))
            .await;
    }
}

/// `timeout=0` on a held mutex answers 408 at once instead of waiting.
#[tokio::test]
async fn lock_with_timeout_zero_on_a_held_mutex_returns_408_at_once() {
    let app = spawn_app().await;
    app.lock_ok("jobs").await;

    let started = Instant::now();
    let response = app.lock("jobs", Some(0)).await;
    assert_custom_error(response, 408).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(app.waiting("jobs").await, 0, "a no-wait try never queues");
}

/// A waiter whose timeout runs out gets 408 and leaves the queue.
#[tokio::test]
async fn lock_waits_up_to_its_timeout_then_returns_408() {
    let app = spawn_app().await;
    app.lock_ok("jobs").await;

    let started = Instant::now();
    let response = app.lock("jobs", Some(1)).await;
    let waited = started.elapsed();
    let message = assert_custom_error(response, 408).await;
    assert!(message.contains("jobs"), "{message}");
    assert!(
        waited >= Duration::from_millis(900),
        "returned after {waited:?}"
    );
    assert_eq!(app.waiting("jobs").await, 0);
}

/// A `timeout` above the maximum mutex lifetime is cut down to it.
#[tokio::test]
async fn timeout_is_capped_at_the_maximum_lock_lifetime() {
    let app = spawn_app_with(|settings| {
        settings.maas.max_lock_seconds = 1;
    })
    .await;
    // Held far longer than maas allows, through the engine, so only the cap can end the wait.
    let held = app
        .engine
        .try_acquire(
            &TestApp::maas_lock("jobs"),
            "other",
            Duration::from_secs(60),
        )
        .await
        .expect("engine");
    assert!(matches!(held, lockgate::engine::TryAcquire::Acquired(_)));

    let started = Instant::now();
    let response = app.lock("jobs", Some(600)).await;
    assert_custom_error(response, 408).await;
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// A held mutex frees itself after the maximum lifetime; its old id then finds nothing.
#[tokio::test]
async fn a_held_mutex_expires_after_the_maximum_lifetime() {
    let app = spawn_app_with(|settings| {
        settings.maas.max_lock_seconds = 1;
    })
    .await;
    let body = app.lock_ok("jobs").await;

    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(!app.is_locked("jobs").await);
    let response = app
        .unlock("jobs", body["mutex_id"].as_str().expect("id"))
        .await;
    assert_custom_error(response, 404).await;
}

/// Unlocking a mutex nobody holds: 404.
#[tokio::test]
async fn unlock_of_a_mutex_that_is_not_locked_returns_404() {
    let app = spawn_app().await;
    let response = app
        .unlock("never-locked", &uuid::Uuid::new_v4().to_string())
        .await;
    assert_custom_error(response, 404).await;
}

/// Unlocking with someone else's id: 403, and the mutex stays locked by its holder.
#[tokio::test]
async fn unlock_with_a_wrong_mutex_id_returns_403_and_keeps_the_lock() {
    let app = spawn_app().await;
    let body = app.lock_ok("jobs").await;

    let response = app.unlock("jobs", &uuid::Uuid::new_v4().to_string()).await;
    assert_custom_error(response, 403).await;
    assert!(app.is_locked("jobs").await);
    let response = app
        .unlock("jobs", body["mutex_id"].as_str().expect("id"))
        .await;
    assert_eq!(response.status(), 200);
}

/// The holder's id works in any UUID spelling (upper case, no hyphens).
#[tokio::test]
async fn unlock_accepts_the_mutex_id_in_another_uuid_spelling() {
    let app = spawn_app().await;
    let body = app.lock_ok("jobs").await;
    let id = body["mutex_id"]
        .as_str()
        .expect("id")
        .replace('-', "")
        .to_uppercase();
    assert_eq!(app.unlock("jobs", &id).await.status(), 200);
}

/// A `mutex_id` that is not a UUID, or none at all: 400 in the maas error shape.
#[tokio::test]
async fn unlock_with_a_malformed_or_missing_mutex_id_returns_400() {
    let app = spawn_app().await;
    let body = app.lock_ok("jobs").await;

    assert_custom_error(app.unlock("jobs", "not-a-uuid").await, 400).await;
    let missing = app
        .client
        .delete(app.url("/mutex/lock/jobs"))
        .send()
        .await
        .expect("DELETE");
    assert_custom_error(missing, 400).await;
    assert!(app.is_locked("jobs").await, "bad requests changed nothing");
    assert_eq!(
        app.unlock("jobs", body["mutex_id"].as_str().expect("id"))
            .await
            .status(),
        200
    );
}

/// A negative, fractional or non-numeric `timeout`: 400 JSON, never plain text.
#[tokio::test]
async fn lock_with_a_bad_timeout_returns_400() {
    let app = spawn_app().await;
    for timeout in ["-1", "abc", "1.5", ""] {
        let response = app
            .client
            .put(app.url(&format!("/mutex/lock/jobs?timeout={timeout}")))
            .send()
            .await
            .expect("PUT");
        let message = assert_custom_error(response, 400).await;
        assert!(message.contains("timeout"), "{timeout:?}: {message}");
    }
    assert!(!app.is_locked("jobs").await);
}

/// Names: 256 bytes is fine, 257 or none is 400 on every operation; `/` and spaces are fine when
/// URL-encoded.
#[tokio::test]
async fn lock_names_follow_the_length_and_character_rules() {
    let app = spawn_app().await;

    let longest = "n".repeat(256);
    app.lock_ok(&longest).await;
    let too_long = "n".repeat(257);
    assert_custom_error(app.lock(&too_long, Some(0)).await, 400).await;
    let get = app.get(&format!("/mutex/lock/{too_long}")).await;
    assert_custom_error(get, 400).await;
    assert_custom_error(
        app.unlock(&too_long, &uuid::Uuid::new_v4().to_string())
            .await,
        400,
    )
    .await;
    assert_custom_error(app.lock("", Some(0)).await, 400).await;
    assert_custom_error(app.lock("tab%09name", Some(0)).await, 400).await;

    let body = app.lock_ok("a%2Fb%20c").await;
    assert_eq!(body["name"], "a/b c");
}

/// Unknown paths and methods under the mount still answer in the maas error shape.
#[tokio::test]
async fn unknown_paths_and_methods_answer_with_custom_error() {
    let app = spawn_app().await;
    let unknown = app.get("/mutex/nothing-here").await;
    assert_custom_error(unknown, 404).await;
    let method = app
        .client
        .post(app.url("/mutex/lock/jobs"))
        .send()
        .await
        .expect("POST");
    assert_custom_error(method, 405).await;
}

/// A request body over the limit is refused with 413 in the maas shape.
#[tokio::test]
async fn oversized_request_bodies_return_413() {
    let app = spawn_app().await;
    let response = app
        .client
        .put(app.url("/mutex/lock/jobs?timeout=0"))
        .body(vec![b'x'; 65 * 1024])
        .send()
        .await
        .expect("PUT");
    assert_custom_error(response, 413).await;
    assert!(!app.is_locked("jobs").await);
}

/// The mount is configurable; the document's server URL follows it.
#[tokio::test]
async fn the_mount_is_configurable() {
    let app = spawn_app_with(|settings| {
        settings.maas.mount = "/elsewhere".into();
    })
    .await;
    let response = app
        .client
        .put(app.url("/elsewhere/lock/jobs?timeout=0"))
        .send()
        .await
        .expect("PUT");
    assert_eq!(response.status(), 200);
    let spec: serde_json::Value = app
        .get("/elsewhere/openapi.json")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(spec["servers"][0]["url"], "/elsewhere");
}
