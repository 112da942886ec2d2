//! What happens when Redis fails: data loss, outages, a Redis that never answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::helpers::{
    assert_custom_error, spawn_app, spawn_app_with, spawn_gateway, test_settings, TestRedis,
};

/// Fencing tokens keep growing after Redis lost every key.
#[tokio::test]
async fn fencing_tokens_keep_growing_after_redis_loses_its_data() {
    let app = crate::helpers::spawn_app().await;
    let prefix = app.settings().redis.key_prefix.clone();

    let before = app.lock_ok("jobs").await;
    app.redis.lose_data(&prefix).await;
    assert!(!app.is_locked("jobs").await, "the data really is gone");
    let after = app.lock_ok("jobs").await;
    assert!(
        after["fencing_token"].as_u64() > before["fencing_token"].as_u64(),
        "{before} then {after}"
    );
}

/// Redis down: requests fail fast with 503 in the maas shape and `/readyz` says 503; when Redis
/// is back, the same gateway serves again without a restart.
#[tokio::test]
async fn redis_outage_gives_503_within_the_timeout_and_service_resumes() {
    let app = spawn_app_with(|settings| {
        settings.redis.timeout_ms = 500;
    })
    .await;
    app.lock_ok("before").await;

    if !app.redis.stop().await {
        eprintln!("skipped: the test Redis is external and cannot be stopped");
        return;
    }
    let started = Instant::now();
    let response = app.lock("during", Some(5)).await;
    assert_custom_error(response, 503).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200, "the process itself is fine");

    app.redis.resume().await;
    let started = Instant::now();
    loop {
        let response = app.lock("after", Some(0)).await;
        if response.status() == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never recovered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
}

/// A Redis that accepts connections but never answers cannot hang a request past the timeout.
#[tokio::test]
async fn a_redis_that_never_answers_gives_503_within_the_timeout() {
    let black_hole = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("redis://{}", black_hole.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = black_hole.accept().await {
            held.push(socket);
        }
    });
    let mut settings = test_settings(&url);
    settings.redis.timeout_ms = 500;
    let app = spawn_gateway(Arc::new(TestRedis::external(&url)), settings).await;

    for request in [
        app.client.put(app.url("/mutex/lock/jobs?timeout=5")),
        app.client.get(app.url("/mutex/lock/jobs")),
        app.client.delete(app.url(&format!(
            "/mutex/lock/jobs?mutex_id={}",
            uuid::Uuid::new_v4()
        ))),
    ] {
        let started = Instant::now();
        let response = request.send().await.expect("answered");
        assert_custom_error(response, 503).await;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }
}

/// `/readyz` is 200 while Redis answers.
#[tokio::test]
async fn readyz_is_200_when_redis_answers() {
    let app = spawn_app().await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
}

/// A waiter survives a Redis restart: the gateway's pub/sub connection comes back by itself,
/// re-subscribes and wakes its waiters, which find the lock (whose data Redis lost) free. Later
/// hand-offs are announced as before. Timers are set far beyond the test's bounds, so only the
/// reconnection and its notifications can explain the wake-ups.
#[tokio::test]
async fn waiters_survive_a_redis_restart_and_notifications_resume() {
    let pod_a = spawn_app_with(|settings| {
        settings.redis.timeout_ms = 500;
        settings.redis.presence_timeout_ms = 120_000;
    })
    .await;
    let pod_b = std::sync::Arc::new(pod_a.peer().await);
    let pod_a = std::sync::Arc::new(pod_a);
    pod_a.lock_ok("jobs").await;
    let waiter = {
        let pod_b = pod_b.clone();
        tokio::spawn(async move { pod_b.lock("jobs", Some(100)).await })
    };
    pod_a.wait_for_waiters("jobs", 1).await;

    if !pod_a.redis.stop().await {
        eprintln!("skipped: the test Redis is external and cannot be stopped");
        return;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    pod_a.redis.resume().await;
    let resumed_at = Instant::now();
    let response = tokio::time::timeout(Duration::from_secs(15), waiter)
        .await
        .expect("the waiter was answered")
        .expect("task");
    assert_eq!(response.status(), 200);
    assert!(
        resumed_at.elapsed() < Duration::from_secs(5),
        "woken {:?} after Redis came back",
        resumed_at.elapsed()
    );
    let holder: serde_json::Value = response.json().await.expect("json");

    // The next hand-off, across gateways, is announced on the restored subscriptions.
    let next = {
        let pod_a = pod_a.clone();
        tokio::spawn(async move { pod_a.lock("jobs", Some(100)).await.status() })
    };
    pod_b.wait_for_waiters("jobs", 1).await;
    let released_at = Instant::now();
    pod_b
        .unlock("jobs", holder["mutex_id"].as_str().expect("id"))
        .await;
    let status = tokio::time::timeout(Duration::from_secs(15), next)
        .await
        .expect("handed off")
        .expect("task");
    assert_eq!(status, 200);
    assert!(released_at.elapsed() < Duration::from_secs(3));
}
