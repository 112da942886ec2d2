//! Fair waiting: FIFO order, wake-ups by notification across gateways, hand-off on release and on
//! expiry, and waiters that vanish.

use std::time::{Duration, Instant};

use crate::helpers::{assert_custom_error, spawn_app, spawn_app_with};

/// Waiters get the mutex in the order they asked for it, each on the previous holder's unlock.
#[tokio::test]
async fn waiters_are_served_first_come_first_served() {
    let app = std::sync::Arc::new(spawn_app().await);
    let holder = app.lock_ok("jobs").await;

    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 1..=4u64 {
        let pod = app.clone();
        let done = done_tx.clone();
        tokio::spawn(async move {
            let response = pod.lock("jobs", Some(30)).await;
            assert_eq!(response.status(), 200, "waiter {i}");
            let body: serde_json::Value = response.json().await.expect("json");
            done.send((i, body)).expect("send");
        });
        // The next waiter starts only once this one is in the queue.
        app.wait_for_waiters("jobs", i).await;
    }

    let mut mutex_id = holder["mutex_id"].as_str().expect("id").to_owned();
    let mut last_token = holder["fencing_token"].as_u64().expect("token");
    for expected in 1..=4u64 {
        assert_eq!(app.unlock("jobs", &mutex_id).await.status(), 200);
        let (who, body) = tokio::time::timeout(Duration::from_secs(10), done_rx.recv())
            .await
            .expect("a waiter got the mutex")
            .expect("message");
        assert_eq!(who, expected, "FIFO order");
        let token = body["fencing_token"].as_u64().expect("token");
        assert!(token > last_token);
        last_token = token;
        mutex_id = body["mutex_id"].as_str().expect("id").to_owned();
    }
}

/// A waiter on one gateway is woken by an unlock on another within moments. The waiter's own
/// timers are set far beyond the test's bound, so only the pub/sub notification can wake it.
#[tokio::test]
async fn an_unlock_on_one_gateway_wakes_a_waiter_on_another() {
    let pod_a = spawn_app_with(|settings| settings.redis.presence_timeout_ms = 60_000).await;
    let pod_b = std::sync::Arc::new(pod_a.peer().await);

    let holder = pod_a.lock_ok("jobs").await;
    let waiter = {
        let pod_b = pod_b.clone();
        tokio::spawn(async move {
            let response = pod_b.lock("jobs", Some(60)).await;
            (response.status(), Instant::now())
        })
    };
    pod_a.wait_for_waiters("jobs", 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let unlocked_at = Instant::now();
    let response = pod_a
        .unlock("jobs", holder["mutex_id"].as_str().expect("id"))
        .await;
    assert_eq!(response.status(), 200);
    let (status, acquired_at) = tokio::time::timeout(Duration::from_secs(15), waiter)
        .await
        .expect("waiter finished")
        .expect("task");
    assert_eq!(status, 200);
    let delay = acquired_at.duration_since(unlocked_at);
    assert!(delay < Duration::from_secs(3), "woken after {delay:?}");
}

/// When the holder's lifetime ends without an unlock, the waiting client gets the mutex.
#[tokio::test]
async fn a_waiter_gets_the_mutex_when_the_holder_expires() {
    let app = spawn_app_with(|settings| {
        settings.maas.max_lock_seconds = 1;
    })
    .await;
    let first = app.lock_ok("jobs").await;

    let started = Instant::now();
    let response = app.lock("jobs", Some(10)).await;
    assert_eq!(response.status(), 200);
    let second: serde_json::Value = response.json().await.expect("json");
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
    assert!(second["fencing_token"].as_u64() > first["fencing_token"].as_u64());
    assert_custom_error(
        app.unlock("jobs", first["mutex_id"].as_str().expect("id"))
            .await,
        403,
    )
    .await;
}

/// A waiter whose HTTP client hangs up leaves the queue and never ends up holding the mutex.
#[tokio::test]
async fn a_waiter_whose_client_disconnects_leaves_the_queue() {
    let app = spawn_app().await;
    let holder = app.lock_ok("jobs").await;

    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .expect("client");
    let gave_up = impatient
        .put(app.url("/mutex/lock/jobs?timeout=30"))
        .send()
        .await;
    assert!(gave_up.is_err(), "the client timed out");
    let started = Instant::now();
    while app.waiting("jobs").await != 0 {
        assert!(started.elapsed() < Duration::from_secs(5), "still queued");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    app.unlock("jobs", holder["mutex_id"].as_str().expect("id"))
        .await;
    assert!(!app.is_locked("jobs").await, "nobody was handed the mutex");
}

/// On shutdown, a waiting request is answered (503) rather than cut off, and leaves the queue.
#[tokio::test]
async fn shutdown_answers_waiting_requests_with_503() {
    let observer = spawn_app().await;
    let app = observer.peer().await;
    app.lock_ok("jobs").await;

    let url = app.url("/mutex/lock/jobs?timeout=30");
    let waiter = tokio::spawn(async move {
        reqwest::Client::new()
            .put(url)
            .send()
            .await
            .expect("answered")
    });
    observer.wait_for_waiters("jobs", 1).await;
    app.shut_down().await;

    let response = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("answered in time")
        .expect("task");
    assert_custom_error(response, 503).await;
    assert_eq!(observer.waiting("jobs").await, 0);
}
