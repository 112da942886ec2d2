//! Engine primitives the dialects build on, against real Redis.

use std::time::Duration;

use lockgate::engine::{Acquire, Release, Renew, TryAcquire};

use crate::helpers::{spawn_app, test_settings, TestApp, TestRedis};

const LEASE: Duration = Duration::from_secs(30);

/// Renew extends the holder's lease; anyone else gets NotOwner; a free lock gives NotHeld.
#[tokio::test]
async fn renew_extends_only_the_holders_lease() {
    let redis = TestRedis::start().await;
    let app = spawn_app(test_settings(redis.url())).await;
    let lock = TestApp::maas_lock("r");
    let engine = &app.engine;

    assert_eq!(
        engine.renew(&lock, "a", LEASE).await.expect("renew"),
        Renew::NotHeld
    );
    let TryAcquire::Acquired(lease) = engine
        .try_acquire(&lock, "a", Duration::from_secs(1))
        .await
        .expect("acquire")
    else {
        panic!("free lock not acquired");
    };
    assert_eq!(
        engine.renew(&lock, "b", LEASE).await.expect("renew"),
        Renew::NotOwner
    );
    let Renew::Renewed { expires_at_ms } = engine.renew(&lock, "a", LEASE).await.expect("renew")
    else {
        panic!("holder could not renew");
    };
    assert!(expires_at_ms >= lease.expires_at_ms + 28_000);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let state = engine.inspect(&lock).await.expect("inspect");
    assert_eq!(state.holder.expect("still held").owner, "a");
}

/// Release answers who held the lock; only the holder's release frees it.
#[tokio::test]
async fn release_reports_not_held_and_not_owner() {
    let redis = TestRedis::start().await;
    let app = spawn_app(test_settings(redis.url())).await;
    let lock = TestApp::maas_lock("r");
    let engine = &app.engine;

    assert_eq!(
        engine.release(&lock, "a").await.expect("release"),
        Release::NotHeld
    );
    engine
        .try_acquire(&lock, "a", LEASE)
        .await
        .expect("acquire");
    assert_eq!(
        engine.release(&lock, "b").await.expect("release"),
        Release::NotOwner
    );
    assert_eq!(
        engine.release(&lock, "a").await.expect("release"),
        Release::Released
    );
    assert!(engine
        .inspect(&lock)
        .await
        .expect("inspect")
        .holder
        .is_none());
}

/// A waiter cannot be overtaken: a newcomer's one-shot try fails while someone queues, even at
/// the moment the lock is free, because the hand-off goes to the queue's head.
#[tokio::test]
async fn a_newcomer_cannot_jump_the_queue() {
    let redis = TestRedis::start().await;
    let app = spawn_app(test_settings(redis.url())).await;
    let lock = TestApp::maas_lock("q");
    let engine = app.engine.clone();

    engine
        .try_acquire(&lock, "holder", LEASE)
        .await
        .expect("acquire");
    let waiter = {
        let engine = engine.clone();
        let lock = lock.clone();
        tokio::spawn(async move {
            engine
                .acquire(&lock, "waiter", LEASE, Duration::from_secs(20))
                .await
                .expect("acquire")
        })
    };
    app.wait_for_waiters("q", 1).await;
    engine.release(&lock, "holder").await.expect("release");
    let newcomer = engine
        .try_acquire(&lock, "newcomer", LEASE)
        .await
        .expect("try");
    assert!(
        matches!(newcomer, TryAcquire::HeldByOther { .. }),
        "{newcomer:?}"
    );
    let outcome = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("waiter served")
        .expect("task");
    assert!(matches!(outcome, Acquire::Acquired(_)), "{outcome:?}");
    let state = engine.inspect(&lock).await.expect("inspect");
    assert_eq!(state.holder.expect("held").owner, "waiter");
}

/// Dropping a waiting acquisition (what a disconnect does) takes it out of the queue.
#[tokio::test]
async fn a_cancelled_acquisition_leaves_the_queue() {
    let redis = TestRedis::start().await;
    let app = spawn_app(test_settings(redis.url())).await;
    let lock = TestApp::maas_lock("c");
    let engine = app.engine.clone();

    engine
        .try_acquire(&lock, "holder", LEASE)
        .await
        .expect("acquire");
    let waiter = {
        let engine = engine.clone();
        let lock = lock.clone();
        tokio::spawn(async move {
            engine
                .acquire(&lock, "waiter", LEASE, Duration::from_secs(20))
                .await
        })
    };
    app.wait_for_waiters("c", 1).await;
    waiter.abort();
    app.wait_for_waiters("c", 0).await;
    engine.release(&lock, "holder").await.expect("release");
    assert!(engine
        .inspect(&lock)
        .await
        .expect("inspect")
        .holder
        .is_none());
}

/// An uncontended lock, unlock or look-up costs exactly one Redis command each: no pool
/// health check, no subscription when nothing has to wait.
#[tokio::test]
async fn uncontended_requests_cost_one_redis_command_each() {
    let redis = TestRedis::start().await;
    if !redis.owned() {
        eprintln!("skipped: counting commands needs a Redis of this test's own");
        return;
    }
    let app = spawn_app(crate::helpers::test_settings(redis.url())).await;
    // Warm up: scripts loaded, pool connection open.
    let body = app.lock_ok("warm").await;
    app.unlock("warm", body["mutex_id"].as_str().expect("id"))
        .await;
    app.is_locked("warm").await;

    let before = redis.client_commands().await;
    let response = app.lock("jobs", None).await; // default timeout: a waiting request
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    let after_lock = redis.client_commands().await;
    assert!(app.is_locked("jobs").await);
    let after_get = redis.client_commands().await;
    app.unlock("jobs", body["mutex_id"].as_str().expect("id"))
        .await;
    let after_unlock = redis.client_commands().await;

    assert_eq!(after_lock - before, 1, "lock");
    assert_eq!(after_get - after_lock, 1, "is_locked");
    assert_eq!(after_unlock - after_get, 1, "unlock");
}

/// A grouped namespace lists its held locks and recently freed ones, sorted by name; freed ones
/// drop out after the retention; another group's locks never show.
#[tokio::test]
async fn list_shows_a_groups_held_and_recently_freed_locks() {
    let redis = TestRedis::start().await;
    let app = spawn_app(test_settings(redis.url())).await;
    let engine = &app.engine;
    let lock = |group: &str, name: &str| {
        lockgate::engine::LockRef::grouped(
            group,
            lockgate::domain::LockName::parse(name).expect("valid"),
        )
    };

    engine
        .try_acquire(&lock("g1", "b"), "x", LEASE)
        .await
        .expect("acquire");
    engine
        .try_acquire(&lock("g1", "a"), "y", LEASE)
        .await
        .expect("acquire");
    engine
        .try_acquire(&lock("g1", "short"), "z", Duration::from_millis(200))
        .await
        .expect("acquire");
    engine
        .try_acquire(&lock("g2", "other"), "x", LEASE)
        .await
        .expect("acquire");
    assert_eq!(
        engine
            .release(&lock("g1", "b"), "x")
            .await
            .expect("release"),
        Release::Released
    );
    tokio::time::sleep(Duration::from_millis(400)).await;

    let listed = engine
        .list("g1", Duration::from_secs(60))
        .await
        .expect("list");
    let names: Vec<&str> = listed.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "short"]);
    assert_eq!(listed[0].holder.as_ref().expect("a held").owner, "y");
    assert!(listed[0].free_since_ms.is_none());
    assert!(listed[1].holder.is_none(), "b was released");
    assert!(listed[2].holder.is_none(), "short expired");
    let short_expired = listed[2].free_since_ms.expect("free since");
    let b_released = listed[1].free_since_ms.expect("free since");
    assert!(
        short_expired > b_released,
        "expiry is recorded as the moment it became free"
    );

    let recent = engine
        .list("g1", Duration::from_millis(100))
        .await
        .expect("list");
    let names: Vec<&str> = recent.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["a"], "freed locks past the retention are dropped");
}

/// Holding is not re-entrant: the holder's second acquire is refused and changes nothing.
#[tokio::test]
async fn the_holder_asking_again_is_refused() {
    let redis = TestRedis::start().await;
    let app = spawn_app(test_settings(redis.url())).await;
    let lock = TestApp::maas_lock("twice");
    let engine = &app.engine;

    let TryAcquire::Acquired(first) = engine
        .try_acquire(&lock, "a", LEASE)
        .await
        .expect("acquire")
    else {
        panic!("free lock not acquired");
    };
    let again = engine
        .try_acquire(&lock, "a", LEASE)
        .await
        .expect("acquire");
    assert!(matches!(again, TryAcquire::HeldByOther { .. }), "{again:?}");
    let state = engine.inspect(&lock).await.expect("inspect");
    assert_eq!(state.holder.expect("held").lease, first, "lease untouched");
}
