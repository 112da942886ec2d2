//! Queues that heal themselves: requests whose Redis call stalled (503) or whose waiter's gateway
//! died leave no lock held by nobody. Redis is really frozen (SIGSTOP) and thawed.

use std::time::{Duration, Instant};

use lockgate::engine::{Acquire, LockRef, TryAcquire};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_custom_error, spawn_app_with, GatewayProcess, TestApp};

/// Connects every shared Redis connection of the gateway and loads the lock scripts, so a call
/// made during the stall is really sent and would run (a connection being set up fails before
/// sending anything; a script Redis does not know yet fails with NOSCRIPT).
async fn warm_up(app: &TestApp) {
    let lock = TestApp::maas_lock("warm-up");
    for _ in 0..2 * app.settings().redis.pool_size {
        let lease = Duration::from_secs(1);
        app.engine
            .try_acquire(&lock, "w", lease)
            .await
            .expect("warm");
        app.engine.release(&lock, "w").await.expect("warm");
        let _ = app.engine.poll(&lock, "w").await.expect("warm");
    }
}

/// Retries `check` every 100 ms until it holds or `limit` passes.
async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A maas `PUT` answered 503 during a Redis stall must not take the mutex when Redis resumes:
/// the client was told it failed, so nobody would ever unlock it (maas holds it for 300 s).
#[tokio::test]
async fn a_maas_lock_answered_503_during_a_stall_is_not_held_after_redis_resumes() {
    let app = spawn_app_with(|settings| {
        settings.redis.timeout_ms = 500;
    })
    .await;
    warm_up(&app).await;

    if !app.redis.freeze().await {
        eprintln!("skipped: the test Redis is external and cannot be frozen");
        return;
    }
    assert_custom_error(app.lock("jobs", Some(0)).await, 503).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    app.redis.thaw().await;

    // The stalled call runs now; the gateway withdraws it once Redis answers. A client of
    // another gateway finds the mutex free.
    let other = app.peer().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let response = other.lock("jobs", Some(5)).await;
    assert_eq!(
        response.status(),
        200,
        "the mutex is free for the next client"
    );
}

/// A synchronize requester whose lock request got 503 and who retried keeps the lease its retry
/// answered: the withdrawal of the first request must not take it away.
#[tokio::test]
async fn a_synchronize_retry_after_a_503_keeps_the_lease_it_was_given() {
    let app = spawn_app_with(|settings| {
        settings.redis.timeout_ms = 500;
    })
    .await;
    let key = app.sync_user().await;
    app.sync_ok(Method::GET, "/locks", &key, None).await;
    warm_up(&app).await;
    let body = json!({"lockName": "deploy", "requester": "ci"});

    if !app.redis.freeze().await {
        eprintln!("skipped: the test Redis is external and cannot be frozen");
        return;
    }
    let stalled = app
        .sync(Method::POST, "/lock", &key, Some(body.clone()))
        .await;
    assert_eq!(stalled.status(), 503);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    app.redis.thaw().await;

    let started = Instant::now();
    let lease_id = loop {
        let response = app
            .sync(Method::POST, "/lock", &key, Some(body.clone()))
            .await;
        if response.status() == 200 {
            let reply: serde_json::Value = response.json().await.expect("json");
            assert_eq!(reply["locked"], true, "{reply}");
            break reply["leaseId"].as_str().expect("leaseId").to_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "retry answered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // Long after the withdrawal ran, the lease the retry was given still holds.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let shown = app
        .sync_ok(Method::GET, "/lock?lockName=deploy", &key, None)
        .await;
    assert_eq!(shown["locked"], true, "{shown}");
    let unlocked = app
        .sync_ok(
            Method::POST,
            "/unlock",
            &key,
            Some(json!({"lockName": "deploy", "leaseId": lease_id})),
        )
        .await;
    assert_eq!(unlocked["unlocked"], true, "{unlocked}");
}

/// A waiter whose claim reached Redis only after its request had failed (503) must not keep the
/// lock it claimed: it is released to the next waiter (here: nobody, so it is free).
#[tokio::test]
async fn a_waiter_whose_claim_ran_after_its_503_does_not_keep_the_lock() {
    let app = spawn_app_with(|settings| {
        settings.redis.timeout_ms = 500;
    })
    .await;
    let lock = TestApp::maas_lock("jobs");
    let engine = app.engine.clone();
    let held = engine
        .try_acquire(&lock, "holder", Duration::from_millis(1500))
        .await
        .expect("holder");
    assert!(matches!(held, TryAcquire::Acquired(_)));

    // The waiter wakes at the holder's lease end, 1.5 s from now, and polls into a frozen Redis.
    let waiter = {
        let (engine, lock) = (engine.clone(), lock.clone());
        tokio::spawn(async move {
            let lease = Duration::from_secs(300);
            engine
                .acquire(&lock, "waiter", lease, Duration::from_secs(30))
                .await
        })
    };
    app.wait_for_waiters("jobs", 1).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    warm_up(&app).await;
    if !app.redis.freeze().await {
        eprintln!("skipped: the test Redis is external and cannot be frozen");
        return;
    }
    let outcome = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("the waiter is answered while Redis is frozen")
        .expect("task");
    let err = outcome.expect_err("no answer from Redis");
    assert!(err.is_unavailable(), "{err}");
    app.redis.thaw().await;

    eventually(Duration::from_secs(10), "the lock is free", || {
        let (engine, lock) = (&engine, &lock);
        async move {
            let state = engine.inspect(lock).await.expect("inspect");
            state.holder.is_none() && state.waiting == 0
        }
    })
    .await;
    let next = engine
        .acquire(&lock, "next", Duration::from_secs(5), Duration::ZERO)
        .await
        .expect("next");
    assert!(matches!(next, Acquire::Acquired(_)), "{next:?}");
}

/// The lease the waiters wait behind ends while no release is published: a live waiter still
/// gets the lock at once, also when it is not the head (the head's gateway is gone).
#[tokio::test]
async fn every_waiter_watches_the_lease_end_so_a_dead_head_is_passed_over() {
    let app = spawn_app_with(|settings| {
        settings.redis.presence_timeout_ms = 30_000;
        settings.redis.claim_timeout_ms = 500;
    })
    .await;
    let lock: LockRef = TestApp::maas_lock("jobs");
    let engine = app.engine.clone();
    engine
        .try_acquire(&lock, "holder", Duration::from_millis(1000))
        .await
        .expect("holder");

    // The head waits on a gateway that then dies: its future is forgotten, never dropped, so
    // nothing withdraws it, and its presence stays fresh for 30 s.
    let head = {
        let (engine, lock) = (engine.clone(), lock.clone());
        Box::pin(async move {
            engine
                .acquire(
                    &lock,
                    "head",
                    Duration::from_secs(60),
                    Duration::from_secs(60),
                )
                .await
        })
    };
    let mut head = head;
    let _ = tokio::time::timeout(Duration::from_millis(300), &mut head).await;
    std::mem::forget(head);
    app.wait_for_waiters("jobs", 1).await;
    let second = {
        let (engine, lock) = (engine.clone(), lock.clone());
        tokio::spawn(async move {
            let lease = Duration::from_secs(60);
            let result = engine
                .acquire(&lock, "second", lease, Duration::from_secs(20))
                .await;
            (result, Instant::now())
        })
    };
    app.wait_for_waiters("jobs", 2).await;
    let lease_end = Instant::now() + Duration::from_millis(700);

    let (result, at) = tokio::time::timeout(Duration::from_secs(15), second)
        .await
        .expect("served")
        .expect("task");
    assert!(matches!(result, Ok(Acquire::Acquired(_))), "{result:?}");
    // Lease end + the claim window (0.5 s), with generous room; far below the presence timeout.
    let late = at.saturating_duration_since(lease_end);
    assert!(
        late < Duration::from_secs(3),
        "second waiter served {late:?} late"
    );
}

/// A gateway killed while its waiters are at the head of a queue: the hand-off to the first is
/// never claimed, and the waiter on another gateway has the lock after one claim window, not
/// the presence timeout and not one claim window per dead waiter.
#[tokio::test]
async fn a_killed_gateways_head_waiters_cost_the_queue_one_claim_window() {
    let app = std::sync::Arc::new(
        spawn_app_with(|settings| {
            settings.redis.presence_timeout_ms = 30_000;
            settings.redis.claim_timeout_ms = 1000;
        })
        .await,
    );
    let mut doomed = GatewayProcess::start(&app);
    let holder = app.lock_ok("jobs").await;

    for dead in 1..=3 {
        let url = format!("http://{}/mutex/lock/jobs?timeout=60", doomed.addr);
        tokio::spawn(async move { reqwest::Client::new().put(url).send().await });
        app.wait_for_waiters("jobs", dead).await;
    }
    let second = {
        let app = app.clone();
        tokio::spawn(async move { app.lock("jobs", Some(30)).await.status() })
    };
    app.wait_for_waiters("jobs", 4).await;
    doomed.kill();

    let released_at = Instant::now();
    app.unlock("jobs", holder["mutex_id"].as_str().expect("id"))
        .await;
    let status = tokio::time::timeout(Duration::from_secs(20), second)
        .await
        .expect("second waiter served")
        .expect("task");
    assert_eq!(status, 200);
    // One claim window (1 s) and room; three would be over 3 s, the presence timeout 30 s.
    let stalled = released_at.elapsed();
    assert!(stalled < Duration::from_millis(2500), "stalled {stalled:?}");
}
