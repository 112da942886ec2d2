//! Engine primitives the dialects build on, against real Redis.

use std::time::Duration;

use lockgate::engine::{Acquire, Namespace, Release, Renew, TryAcquire};

use crate::helpers::{spawn_app, TestApp};

const LEASE: Duration = Duration::from_secs(30);

/// Renew extends the holder's lease; anyone else gets NotOwner; a free lock gives NotHeld.
#[tokio::test]
async fn renew_extends_only_the_holders_lease() {
    let app = spawn_app().await;
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
    let app = spawn_app().await;
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
    let app = spawn_app().await;
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
    let app = spawn_app().await;
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
    let app = spawn_app().await;
    if !app.redis.owned() {
        eprintln!("skipped: counting commands needs a Redis of this test's own");
        return;
    }
    // Warm up: scripts loaded, pool connection open.
    let body = app.lock_ok("warm").await;
    app.unlock("warm", body["mutex_id"].as_str().expect("id"))
        .await;
    app.is_locked("warm").await;

    let before = app.redis.client_commands().await;
    let response = app.lock("jobs", None).await; // default timeout: a waiting request
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    let after_lock = app.redis.client_commands().await;
    assert!(app.is_locked("jobs").await);
    let after_get = app.redis.client_commands().await;
    app.unlock("jobs", body["mutex_id"].as_str().expect("id"))
        .await;
    let after_unlock = app.redis.client_commands().await;

    assert_eq!(after_lock - before, 1, "lock");
    assert_eq!(after_get - after_lock, 1, "is_locked");
    assert_eq!(after_unlock - after_get, 1, "unlock");
}

fn group(id: &str) -> Namespace {
    Namespace::group("test", id, Duration::from_secs(60)).expect("valid id")
}

fn grouped(id: &str, name: &str, retention: Duration) -> lockgate::engine::LockRef {
    Namespace::group("test", id, retention)
        .expect("valid id")
        .lock(lockgate::domain::LockName::parse(name).expect("valid"))
}

/// A grouped namespace lists its held locks and released ones still retained, sorted by name,
/// with their last holder; records go when the retention after their lease has passed; another
/// group's locks never show.
#[tokio::test]
async fn list_shows_a_groups_held_and_retained_locks() {
    let app = spawn_app().await;
    let engine = &app.engine;
    let keep = Duration::from_secs(60);

    engine
        .try_acquire(&grouped("g1", "b", keep), "x", LEASE)
        .await
        .expect("acquire");
    engine
        .try_acquire(&grouped("g1", "a", keep), "y", LEASE)
        .await
        .expect("acquire");
    let brief = Duration::from_millis(300);
    engine
        .try_acquire(
            &grouped("g1", "brief", brief),
            "z",
            Duration::from_millis(200),
        )
        .await
        .expect("acquire");
    engine
        .try_acquire(&grouped("g2", "other", keep), "x", LEASE)
        .await
        .expect("acquire");
    assert_eq!(
        engine
            .release(&grouped("g1", "b", keep), "x")
            .await
            .expect("release"),
        Release::Released
    );

    let listed = engine.list(&group("g1")).await.expect("list");
    let names: Vec<&str> = listed.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "brief"]);
    assert!(listed[0].locked && listed[0].owner == "y");
    assert!(listed[0].expires_at_ms.is_some());
    assert!(!listed[1].locked, "b was released");
    assert_eq!(listed[1].owner, "x", "the last holder is remembered");
    assert!(listed[1].updated_at_ms >= listed[1].created_at_ms);

    // `brief` expires after 200 ms and its record 300 ms later.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let names: Vec<String> = engine
        .list(&group("g1"))
        .await
        .expect("list")
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert!(engine
        .describe(&grouped("g1", "brief", brief))
        .await
        .expect("describe")
        .is_none());
    let other = engine.list(&group("g2")).await.expect("list");
    assert_eq!(other.len(), 1);
}

/// A caller with the holder's label gets the running lease back, renewed, with its owner token;
/// a different label is refused.
#[tokio::test]
async fn the_same_label_resumes_the_running_lease() {
    let app = spawn_app().await;
    let engine = &app.engine;
    let lock = grouped("g", "job", Duration::from_secs(60));

    let TryAcquire::Acquired(first) = engine
        .try_acquire_labelled(&lock, "lease-1", "service-a", Duration::from_secs(5))
        .await
        .expect("acquire")
    else {
        panic!("free lock not acquired");
    };
    let again = engine
        .try_acquire_labelled(&lock, "lease-2", "service-a", Duration::from_secs(50))
        .await
        .expect("acquire");
    let TryAcquire::Resumed(holder) = again else {
        panic!("same label not resumed: {again:?}");
    };
    assert_eq!(holder.owner, "lease-1");
    assert_eq!(holder.lease.fencing_token, first.fencing_token);
    assert!(
        holder.lease.expires_at_ms > first.expires_at_ms + 40_000,
        "renewed"
    );
    let other = engine
        .try_acquire_labelled(&lock, "lease-3", "service-b", LEASE)
        .await
        .expect("acquire");
    assert!(matches!(other, TryAcquire::HeldByOther { .. }), "{other:?}");
    let record = engine
        .describe(&lock)
        .await
        .expect("describe")
        .expect("known");
    assert_eq!(
        (record.owner.as_str(), record.label.as_str()),
        ("lease-1", "service-a")
    );
}

/// Holding is not re-entrant: the holder's second acquire is refused and changes nothing.
#[tokio::test]
async fn the_holder_asking_again_is_refused() {
    let app = spawn_app().await;
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
