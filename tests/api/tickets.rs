//! Tickets as the engine offers them to dialects (sfp builds on these): enqueue without
//! blocking, poll, withdraw, list, force-clear, records that expire by themselves.

use std::time::Duration;

use lockgate::domain::LockName;
use lockgate::engine::{
    EndReason, Engine, Enqueue, Liveness, LockRef, Namespace, Poll, TicketSpec, TicketStatus,
    Withdraw,
};

use crate::helpers::{spawn_app, spawn_app_with};

fn resource(name: &str, keep: Duration) -> LockRef {
    Namespace::shared("tickets-test")
        .lock(LockName::parse(name).expect("name"))
        .keeping_tickets(keep)
}

fn client_ticket<'a>(ticket: &'a str, label: &'a str, idle: Duration) -> TicketSpec<'a> {
    TicketSpec {
        ticket,
        label,
        lease: Duration::from_secs(60),
        liveness: Liveness::Client { idle },
    }
}

async fn enqueue(engine: &Engine, lock: &LockRef, ticket: &str) -> Enqueue {
    let spec = client_ticket(ticket, ticket, Duration::from_secs(30));
    engine.enqueue(lock, &spec).await.expect("enqueue").outcome
}

/// A free resource is acquired at once; later tickets queue in order with their positions; a
/// release promotes the head at once (its lease starts then, no poll needed), and the queue
/// moves up.
#[tokio::test]
async fn tickets_queue_in_order_and_the_head_is_promoted_on_release() {
    let app = spawn_app().await;
    let engine = &app.engine;
    let lock = resource("repo/env", Duration::from_secs(60));

    let first = enqueue(engine, &lock, "t1").await;
    let Enqueue::Acquired(lease) = first else {
        panic!("free resource: {first:?}")
    };
    assert!(matches!(
        enqueue(engine, &lock, "t2").await,
        Enqueue::Queued { position: 1, .. }
    ));
    assert!(matches!(
        enqueue(engine, &lock, "t3").await,
        Enqueue::Queued { position: 2, .. }
    ));
    // The answer carries the new ticket's record.
    let spec = client_ticket("t4", "svc", Duration::from_secs(30));
    let fourth = engine.enqueue(&lock, &spec).await.expect("t4");
    let record = fourth.record.expect("known");
    assert_eq!(record.status, TicketStatus::Queued { position: 3 });
    assert_eq!((record.label.as_str(), record.lease_ms), ("svc", 60_000));
    assert_eq!(record.created_at_ms, record.updated_at_ms);
    assert!(record.created_at_ms >= lease.acquired_at_ms);
    // Asking again for a queued ticket changes nothing.
    assert!(matches!(
        enqueue(engine, &lock, "t2").await,
        Enqueue::Queued { position: 1, .. }
    ));
    assert!(matches!(
        engine.poll(&lock, "t3").await.expect("poll").outcome,
        Poll::Queued { position: 2, .. }
    ));

    let released = engine
        .withdraw(&lock, "t1", EndReason::Released)
        .await
        .expect("release");
    assert_eq!(released.outcome, Withdraw::Released);
    // The answer carries the ticket's record as it is now.
    let record = released.record.expect("kept");
    assert_eq!(record.ticket, "t1");
    assert_eq!(record.label, "t1");
    assert_eq!(record.fencing_token, Some(lease.fencing_token));
    assert_eq!(record.acquired_at_ms, Some(lease.acquired_at_ms));
    assert!(matches!(
        record.status,
        TicketStatus::Released { reason: EndReason::Released, released_at_ms }
            if released_at_ms == record.updated_at_ms
    ));
    let polled = engine.poll(&lock, "t3").await.expect("poll");
    assert_eq!(
        polled.record.expect("known").status,
        TicketStatus::Queued { position: 1 }
    );
    let Poll::Acquired(next) = engine.poll(&lock, "t2").await.expect("poll").outcome else {
        panic!("t2 was promoted")
    };
    assert!(next.fencing_token > lease.fencing_token);
    assert!(matches!(
        engine.poll(&lock, "t3").await.expect("poll").outcome,
        Poll::Queued { position: 1, .. }
    ));
    assert_eq!(
        engine.poll(&lock, "t1").await.expect("poll").outcome,
        Poll::Released {
            reason: EndReason::Released
        }
    );
    assert_eq!(
        engine.poll(&lock, "never").await.expect("poll").outcome,
        Poll::Unknown
    );
}

/// The list shows the holder first, then the queue in order, then released tickets, newest
/// first, with their reasons; records vanish after the retention.
#[tokio::test]
async fn listing_shows_holder_queue_and_released_tickets_until_their_retention_ends() {
    let app = spawn_app().await;
    let engine = &app.engine;
    let lock = resource("repo/db", Duration::from_millis(1500));

    for ticket in ["a", "b", "c", "d"] {
        enqueue(engine, &lock, ticket).await;
    }
    engine
        .withdraw(&lock, "a", EndReason::Released)
        .await
        .expect("a");
    // Release times are kept in ms: a later release must be a later ms to list first.
    tokio::time::sleep(Duration::from_millis(5)).await;
    engine
        .withdraw(&lock, "c", EndReason::Withdrawn)
        .await
        .expect("c");

    let listed = engine.tickets(&lock).await.expect("list");
    let order: Vec<(&str, &TicketStatus)> = listed
        .iter()
        .map(|t| (t.ticket.as_str(), &t.status))
        .collect();
    assert_eq!(order.len(), 4, "{listed:?}");
    assert_eq!(order[0].0, "b");
    assert!(matches!(order[0].1, TicketStatus::Acquired { .. }));
    assert_eq!(order[1].0, "d");
    assert_eq!(order[1].1, &TicketStatus::Queued { position: 1 });
    assert_eq!(order[2].0, "c", "newest released first");
    assert!(matches!(
        order[2].1,
        TicketStatus::Released {
            reason: EndReason::Withdrawn,
            ..
        }
    ));
    assert_eq!(order[3].0, "a");
    assert!(listed[3].fencing_token.is_some(), "a held the lock once");
    assert_eq!(listed[0].label, "b");

    tokio::time::sleep(Duration::from_millis(1700)).await;
    let listed = engine.tickets(&lock).await.expect("list");
    let names: Vec<&str> = listed.iter().map(|t| t.ticket.as_str()).collect();
    assert_eq!(names, ["b", "d"], "released records expired");
    assert_eq!(
        engine.poll(&lock, "a").await.expect("poll").outcome,
        Poll::Unknown
    );
}

/// A queued ticket whose client stops polling is dropped after its idle time (status released,
/// with a reason), so it cannot stall the queue; a polling one stays.
#[tokio::test]
async fn a_ticket_without_polls_is_dropped_after_its_idle_time() {
    let app = spawn_app().await;
    let engine = &app.engine;
    let lock = resource("repo/idle", Duration::from_secs(60));
    let idle = Duration::from_millis(600);

    enqueue(engine, &lock, "holder").await;
    let silent = client_ticket("silent", "", idle);
    let polling = client_ticket("polling", "", idle);
    engine.enqueue(&lock, &silent).await.expect("silent");
    engine.enqueue(&lock, &polling).await.expect("polling");
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        engine.poll(&lock, "polling").await.expect("poll");
    }
    engine
        .withdraw(&lock, "holder", EndReason::Released)
        .await
        .expect("release");

    assert!(matches!(
        engine.poll(&lock, "polling").await.expect("poll").outcome,
        Poll::Acquired(_)
    ));
    assert_eq!(
        engine.poll(&lock, "silent").await.expect("poll").outcome,
        Poll::Released {
            reason: EndReason::DroppedIdle
        }
    );
}

/// Force-clearing ends the holder and every queued ticket; the resource is free after it.
#[tokio::test]
async fn force_clear_ends_every_ticket_of_the_resource() {
    let app = spawn_app().await;
    let engine = &app.engine;
    let lock = resource("repo/clear", Duration::from_secs(60));
    for ticket in ["x", "y", "z"] {
        enqueue(engine, &lock, ticket).await;
    }

    assert_eq!(engine.clear(&lock).await.expect("clear"), 3);
    let state = engine.inspect(&lock).await.expect("inspect");
    assert!(state.holder.is_none() && state.waiting == 0, "{state:?}");
    for ticket in ["x", "y", "z"] {
        assert_eq!(
            engine.poll(&lock, ticket).await.expect("poll").outcome,
            Poll::Released {
                reason: EndReason::Cleared
            }
        );
    }
    assert!(matches!(
        enqueue(engine, &lock, "after").await,
        Enqueue::Acquired(_)
    ));
}

/// A gateway-driven ticket must be claimed: a hand-off its gateway does not claim lapses after
/// the claim window and passes on; a client-driven one holds its lease without a poll.
#[tokio::test]
async fn an_unclaimed_hand_off_to_a_gateway_ticket_passes_on_after_the_claim_window() {
    let app = spawn_app_with(|settings| {
        settings.redis.claim_timeout_ms = 400;
    })
    .await;
    let engine = &app.engine;
    let lock = resource("repo/claim", Duration::from_secs(60));

    enqueue(engine, &lock, "holder").await;
    let gateway = TicketSpec {
        ticket: "gw",
        label: "",
        lease: Duration::from_secs(60),
        liveness: Liveness::Gateway,
    };
    engine.enqueue(&lock, &gateway).await.expect("gw");
    enqueue(engine, &lock, "client").await;
    engine
        .withdraw(&lock, "holder", EndReason::Released)
        .await
        .expect("release");

    let listed = engine.tickets(&lock).await.expect("list");
    assert_eq!(listed[0].ticket, "gw");
    assert_eq!(listed[0].status, TicketStatus::Acquired { claimed: false });
    tokio::time::sleep(Duration::from_millis(600)).await;
    let listed = engine.tickets(&lock).await.expect("list");
    assert_eq!(listed[0].ticket, "client", "{listed:?}");
    assert_eq!(listed[0].status, TicketStatus::Acquired { claimed: true });
}

fn leased<'a>(ticket: &'a str, lease: Duration, idle: Duration) -> TicketSpec<'a> {
    TicketSpec {
        lease,
        ..client_ticket(ticket, ticket, idle)
    }
}

/// Where records are kept, a lease that ends with nobody asking is ended as of that instant:
/// whatever asks later sees it `expired`, and the next ticket holding the lock since the very
/// millisecond it ended, a chain of short leases included.
#[tokio::test]
async fn lease_ends_are_handled_as_of_their_instant_however_late_the_next_call() {
    let app = spawn_app().await;
    let engine = &app.engine;
    let lock = resource("repo/chain", Duration::from_secs(60));
    let idle = Duration::from_secs(30);
    let Enqueue::Acquired(first) = engine
        .enqueue(&lock, &leased("a", Duration::from_millis(300), idle))
        .await
        .expect("a")
        .outcome
    else {
        panic!("a takes the free resource")
    };
    engine
        .enqueue(&lock, &leased("b", Duration::from_millis(300), idle))
        .await
        .expect("b");
    engine
        .enqueue(&lock, &leased("c", Duration::from_secs(60), idle))
        .await
        .expect("c");

    // Nobody calls while a's and then b's leases end.
    tokio::time::sleep(Duration::from_millis(900)).await;
    let listed = engine.tickets(&lock).await.expect("list");
    let by_name = |name: &str| {
        listed
            .iter()
            .find(|t| t.ticket == name)
            .unwrap_or_else(|| panic!("{name} listed: {listed:?}"))
    };
    let (a, b, c) = (by_name("a"), by_name("b"), by_name("c"));
    assert!(matches!(c.status, TicketStatus::Acquired { .. }));
    assert!(matches!(
        a.status,
        TicketStatus::Released { reason: EndReason::Expired, released_at_ms } if released_at_ms == first.expires_at_ms
    ));
    assert_eq!(
        b.acquired_at_ms,
        Some(first.expires_at_ms),
        "b's lease began as a's ended"
    );
    let b_end = first.expires_at_ms + 300;
    assert!(matches!(
        b.status,
        TicketStatus::Released { reason: EndReason::Expired, released_at_ms } if released_at_ms == b_end
    ));
    assert_eq!(
        c.acquired_at_ms,
        Some(b_end),
        "c's lease began as b's ended"
    );
    assert!(c.fencing_token > b.fencing_token && b.fencing_token > a.fencing_token);
}

/// A queued ticket already idle past its idle time at the instant the lease ends is dropped
/// then, not promoted; the next live ticket holds the lock from that instant.
#[tokio::test]
async fn a_head_idle_when_the_lease_ends_is_dropped_not_promoted() {
    let app = spawn_app().await;
    let engine = &app.engine;
    let lock = resource("repo/idle-head", Duration::from_secs(60));
    let Enqueue::Acquired(first) = engine
        .enqueue(
            &lock,
            &leased(
                "holder",
                Duration::from_millis(600),
                Duration::from_secs(30),
            ),
        )
        .await
        .expect("holder")
        .outcome
    else {
        panic!("free")
    };
    let lease = Duration::from_secs(60);
    engine
        .enqueue(&lock, &leased("idle", lease, Duration::from_millis(200)))
        .await
        .expect("idle");
    engine
        .enqueue(&lock, &leased("live", lease, Duration::from_secs(30)))
        .await
        .expect("live");

    tokio::time::sleep(Duration::from_millis(900)).await;
    let Poll::Acquired(lease) = engine.poll(&lock, "live").await.expect("poll").outcome else {
        panic!("live holds the lock")
    };
    assert_eq!(lease.acquired_at_ms, first.expires_at_ms);
    assert_eq!(
        engine.poll(&lock, "idle").await.expect("poll").outcome,
        Poll::Released {
            reason: EndReason::DroppedIdle
        }
    );
}
