//! The sfp dialect, black-box over HTTP, across two gateways on one Redis: FIFO tickets per
//! repository/resource, promotion at release and at lease end, idle drop, withdraw, clear,
//! retention, waiting attempts woken across gateways, JWT auth, NestJS-shaped errors.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::{
    reply, spawn_app, spawn_app_with, GatewayProcess, Reply, TestApp, SFP_SECRET,
};

/// sfp's client, as one token on one gateway.
struct Sfp<'a> {
    app: &'a TestApp,
    token: String,
}

impl<'a> Sfp<'a> {
    fn new(app: &'a TestApp, sub: &str) -> Self {
        Self {
            app,
            token: app.sfp_token(sub, "application"),
        }
    }

    fn with_token(app: &'a TestApp, token: String) -> Self {
        Self { app, token }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
        let mut request = self
            .app
            .client
            .request(method, self.app.sfp(path))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        reply(request.send().await.expect("request")).await
    }

    async fn queue(&self, repository: &str, resource: &str, lease: f64) -> Reply {
        let body = json!({"repository": repository, "resource": resource,
            "leaseDurationSeconds": lease});
        self.send(reqwest::Method::POST, "/locks", Some(body)).await
    }

    async fn status(&self, resource: &str, ticket: &str) -> Reply {
        let path = format!("/locks/repo/{resource}/{ticket}");
        self.send(reqwest::Method::GET, &path, None).await
    }

    async fn attempt(&self, resource: &str, ticket: &str, wait: Option<f64>) -> Reply {
        let query = wait
            .map(|w| format!("?waitSeconds={w}"))
            .unwrap_or_default();
        let path = format!("/locks/repo/{resource}/{ticket}/acquire{query}");
        self.send(reqwest::Method::POST, &path, None).await
    }

    async fn release(&self, resource: &str, ticket: &str) -> Reply {
        let path = format!("/locks/repo/{resource}/{ticket}");
        self.send(reqwest::Method::DELETE, &path, None).await
    }

    async fn list(&self, resource: &str) -> Reply {
        let path = format!("/locks/repo/{resource}");
        self.send(reqwest::Method::GET, &path, None).await
    }

    async fn clear(&self, resource: &str) -> Reply {
        let path = format!("/locks/repo/{resource}");
        self.send(reqwest::Method::DELETE, &path, None).await
    }

    /// Queues a ticket on `repo/<resource>` that must be accepted; its id and status.
    async fn ticket(&self, resource: &str, lease: f64) -> (String, Value) {
        let queued = self.queue("repo", resource, lease).await;
        assert_eq!(queued.status, 201, "{queued:?}");
        let id = queued.body["ticketId"]
            .as_str()
            .expect("ticketId")
            .to_owned();
        (id, queued.body)
    }
}

fn ms_of(timestamp: &Value) -> i64 {
    let text = timestamp.as_str().expect("a timestamp");
    // 2026-11-25T12:00:00.123Z
    assert_eq!(text.len(), 24, "{text}: RFC 3339 with ms, UTC");
    assert!(text.ends_with('Z'), "{text}");
    let (date, time) = text.split_once('T').expect("T");
    let d: Vec<i64> = date.split('-').map(|p| p.parse().expect("date")).collect();
    let t: Vec<f64> = time
        .trim_end_matches('Z')
        .split(':')
        .map(|p| p.parse().expect("time"))
        .collect();
    // Days from civil (Howard Hinnant), enough to compare instants.
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400_000 + (t[0] * 3_600_000.0 + t[1] * 60_000.0 + t[2] * 1000.0).round() as i64
}

fn fence_of(status: &Value) -> u64 {
    status["fencingToken"].as_u64().expect("fencingToken")
}

/// A status object has the shape every client reads: no `null`s, `id` = `ticketId` (a UUID
/// v4), the fields of its state and none of the others.
fn assert_shape(status: &Value, repository: &str, resource: &str, requestor: &str) {
    let object = status.as_object().expect("object");
    assert!(object.values().all(|v| !v.is_null()), "no nulls: {status}");
    assert_eq!(status["id"], status["ticketId"]);
    let id = uuid::Uuid::parse_str(status["ticketId"].as_str().expect("id")).expect("uuid");
    assert_eq!(id.get_version_num(), 4);
    assert_eq!(status["repository"], repository);
    assert_eq!(status["resource"], resource);
    assert_eq!(status["requestor"], requestor);
    ms_of(&status["createdAt"]);
    ms_of(&status["updatedAt"]);
    let has = |field: &str| object.contains_key(field);
    match status["status"].as_str().expect("status") {
        "queued" => {
            assert!(status["queuePosition"].as_u64().expect("position") >= 1);
            assert!(!has("leaseStart") && !has("fencingToken") && !has("releaseReason"));
        }
        "acquired" => {
            ms_of(&status["leaseStart"]);
            assert!(status["leaseDurationSeconds"].as_f64().expect("lease") > 0.0);
            fence_of(status);
            assert!(!has("queuePosition") && !has("releaseReason"));
        }
        "released" => {
            assert!(status["releaseReason"].is_string());
            assert!(!has("queuePosition"));
        }
        other => panic!("status {other}"),
    }
}

/// Tickets on a free resource are acquired at once, later ones queue in FIFO order with their
/// positions; each release promotes the head in the same step, positions move up, and fencing
/// tokens grow along the queue. Two gateways serve the same queue.
#[tokio::test]
async fn tickets_queue_in_fifo_order_and_are_promoted_on_release() {
    let app = spawn_app().await;
    let peer = app.peer().await;
    let alice = Sfp::new(&app, "alice");
    let bob = Sfp::new(&peer, "bob");
    let carol = Sfp::new(&app, "carol");

    let first = alice.queue("repo", "env-1", 60.0).await;
    assert_eq!(first.status, 201);
    assert_eq!(first.body["status"], "acquired");
    assert_shape(&first.body, "repo", "env-1", "alice");
    assert_eq!(first.body["leaseDurationSeconds"], 60);
    assert_eq!(first.fence, Some(fence_of(&first.body)));
    let a = first.body["ticketId"].as_str().expect("id").to_owned();

    let (b, queued) = bob.ticket("env-1", 30.0).await;
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["queuePosition"], 1);
    assert_shape(&queued, "repo", "env-1", "bob");
    let (c, queued) = carol.ticket("env-1", 30.0).await;
    assert_eq!(queued["queuePosition"], 2);

    // Another resource of the same repository is independent.
    let other = carol.queue("repo", "env-2", 5.0).await;
    assert_eq!(other.body["status"], "acquired");

    let attempt = bob.attempt("env-1", &b, None).await;
    assert_eq!(attempt.status, 200);
    assert_eq!(attempt.body["acquired"], false);
    assert!(
        attempt.body["message"]
            .as_str()
            .expect("message")
            .contains('1'),
        "says the position: {}",
        attempt.body
    );

    let released = bob.release("env-1", &a).await;
    assert_eq!(released.status, 200);
    assert_eq!(released.body["status"], "released");
    assert_eq!(released.body["releaseReason"], "force_released");
    assert_eq!(released.body["fencingToken"], first.body["fencingToken"]);
    assert_eq!(released.body["leaseStart"], first.body["leaseStart"]);
    assert_shape(&released.body, "repo", "env-1", "alice");

    let promoted = carol.status("env-1", &b).await;
    assert_eq!(promoted.body["status"], "acquired");
    assert_shape(&promoted.body, "repo", "env-1", "bob");
    assert!(fence_of(&promoted.body) > fence_of(&first.body));
    assert_eq!(
        ms_of(&promoted.body["leaseStart"]),
        ms_of(&released.body["updatedAt"]),
        "the lease starts as the previous one ends"
    );
    let attempt = bob.attempt("env-1", &b, None).await;
    assert_eq!(attempt.body["acquired"], true);
    assert_eq!(attempt.fence, Some(fence_of(&promoted.body)));
    assert_eq!(attempt.body["fencingToken"], promoted.body["fencingToken"]);
    assert_eq!(carol.status("env-1", &c).await.body["queuePosition"], 1);

    let mine = bob.release("env-1", &b).await;
    assert_eq!(mine.body["releaseReason"], "released");
    let third = carol.status("env-1", &c).await;
    assert_eq!(third.body["status"], "acquired");
    assert!(fence_of(&third.body) > fence_of(&promoted.body));

    // The list: holder, then released newest first.
    let list = alice.list("env-1").await;
    assert_eq!(list.status, 200);
    let ids: Vec<&str> = list
        .body
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["ticketId"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, [c.as_str(), b.as_str(), a.as_str()]);
}

/// A lease that ends while nobody calls promotes the head as of that instant: any later GET
/// shows the previous ticket `expired` and the next one holding since the lease's end.
#[tokio::test]
async fn a_lease_end_promotes_the_head_without_any_poll() {
    let app = spawn_app().await;
    let peer = app.peer().await;
    let alice = Sfp::new(&app, "alice");
    let bob = Sfp::new(&peer, "bob");
    let (a, first) = alice.ticket("short", 0.25).await;
    assert_eq!(first["leaseDurationSeconds"], 0.25);
    let (b, _) = bob.ticket("short", 0.3).await;
    let (c, _) = bob.ticket("short", 60.0).await;
    tokio::time::sleep(Duration::from_millis(800)).await;

    let list = alice.list("short").await.body;
    let list = list.as_array().expect("array");
    assert_eq!(list[0]["ticketId"], c.as_str());
    assert_eq!(list[0]["status"], "acquired");
    let start_a = ms_of(&first["leaseStart"]);
    assert_eq!(
        ms_of(&list[0]["leaseStart"]),
        start_a + 250 + 300,
        "chained lease ends"
    );
    assert_eq!(list[1]["ticketId"], b.as_str());
    assert_eq!(list[1]["releaseReason"], "expired");
    assert_eq!(ms_of(&list[1]["leaseStart"]), start_a + 250);
    assert_eq!(list[2]["ticketId"], a.as_str());
    assert_eq!(list[2]["releaseReason"], "expired");
    assert_eq!(ms_of(&list[2]["updatedAt"]), start_a + 250);
}

/// A queued ticket nobody polls for `queue_idle_seconds` is dropped (`dropped_idle`) and no
/// longer counts; polled ones stay. At a lease's end an idle head is passed over.
#[tokio::test]
async fn queued_tickets_nobody_polls_are_dropped() {
    let app = spawn_app_with(|s| s.sfp.queue_idle_seconds = 1).await;
    let peer = app.peer().await;
    let alice = Sfp::new(&app, "alice");
    let bob = Sfp::new(&peer, "bob");
    let (_a, _) = alice.ticket("idle", 2.0).await;
    let (silent, _) = bob.ticket("idle", 60.0).await;
    let (polled, _) = bob.ticket("idle", 60.0).await;
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1400) {
        let attempt = bob.attempt("idle", &polled, None).await;
        assert_eq!(attempt.body["acquired"], false);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let dropped = alice.status("idle", &silent).await;
    assert_eq!(dropped.status, 200);
    assert_eq!(dropped.body["status"], "released");
    assert_eq!(dropped.body["releaseReason"], "dropped_idle");
    let kept = bob.status("idle", &polled).await;
    assert_eq!(kept.body["queuePosition"], 1);

    // A polled ticket's poll after the holder's lease ended finds it holding.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let attempt = bob.attempt("idle", &polled, None).await;
    assert_eq!(attempt.body["acquired"], true, "{:?}", attempt.body);
}

/// A queued ticket that stops polling while ahead of the lease end is passed over at that end.
#[tokio::test]
async fn an_idle_head_is_passed_over_at_the_lease_end() {
    let app = spawn_app_with(|s| s.sfp.queue_idle_seconds = 1).await;
    let alice = Sfp::new(&app, "alice");
    let (_a, _) = alice.ticket("head", 1.5).await;
    let (head, _) = alice.ticket("head", 60.0).await;
    let (next, _) = alice.ticket("head", 60.0).await;
    // Only `next` polls, and only after the lease's end.
    tokio::time::sleep(Duration::from_millis(1700)).await;
    // `next` was idle past 1 s too by the lease's end: both are dropped.
    let list = alice.list("head").await.body;
    let reasons: Vec<(&str, &str)> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|s| {
            (
                s["ticketId"].as_str().expect("id"),
                s["releaseReason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        reasons.contains(&(head.as_str(), "dropped_idle")),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&(next.as_str(), "dropped_idle")),
        "{reasons:?}"
    );
    for status in list.as_array().expect("array") {
        assert_eq!(status["status"], "released");
        if status["releaseReason"] == "dropped_idle" {
            // Dropped as of the instant its idle time ran out, not when someone looked.
            assert_eq!(
                ms_of(&status["updatedAt"]),
                ms_of(&status["createdAt"]) + 1000
            );
        }
    }
}

/// Deleting a queued ticket withdraws it and the ones behind move up; deleting it again
/// answers it unchanged.
#[tokio::test]
async fn a_queued_ticket_can_be_withdrawn_once() {
    let app = spawn_app().await;
    let peer = app.peer().await;
    let alice = Sfp::new(&app, "alice");
    let bob = Sfp::new(&peer, "bob");
    alice.ticket("w", 60.0).await;
    let (b, _) = bob.ticket("w", 60.0).await;
    let (c, _) = alice.ticket("w", 60.0).await;
    let withdrawn = bob.release("w", &b).await;
    assert_eq!(withdrawn.status, 200);
    assert_eq!(withdrawn.body["status"], "released");
    assert_eq!(withdrawn.body["releaseReason"], "withdrawn");
    assert_shape(&withdrawn.body, "repo", "w", "bob");
    assert!(withdrawn.body.get("leaseStart").is_none(), "never held");
    assert_eq!(alice.status("w", &c).await.body["queuePosition"], 1);
    let again = alice.release("w", &b).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, withdrawn.body, "unchanged");
    let attempt = bob.attempt("w", &b, None).await;
    assert_eq!(attempt.body["acquired"], false);
    assert!(attempt.body["message"]
        .as_str()
        .expect("message")
        .contains("released"));
}

/// Clearing a resource releases every ticket (`cleared`), and an attempt waiting on one of
/// them, on another gateway, answers at once.
#[tokio::test]
async fn clearing_a_resource_releases_every_ticket_and_wakes_waiters() {
    let app = spawn_app().await;
    let peer = app.peer().await;
    let alice = Sfp::new(&app, "alice");
    let bob = Sfp::new(&peer, "bob");
    let (a, _) = alice.ticket("c", 60.0).await;
    let (b, _) = bob.ticket("c", 60.0).await;
    let (c, _) = bob.ticket("c", 60.0).await;
    let waiting = {
        let b = b.clone();
        let token = bob.token.clone();
        let peer_url = peer.sfp(&format!("/locks/repo/c/{b}/acquire?waitSeconds=20"));
        let client = peer.client.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let response = client
                .post(peer_url)
                .bearer_auth(token)
                .send()
                .await
                .expect("POST");
            (started.elapsed(), reply(response).await)
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cleared = alice.clear("c").await;
    assert_eq!(cleared.status, 200);
    assert_eq!(cleared.body, json!({"cleared": 3}));
    let (took, answer) = waiting.await.expect("task");
    assert_eq!(answer.body["acquired"], false);
    assert!(took < Duration::from_secs(2), "woken at once: {took:?}");
    for ticket in [&a, &b, &c] {
        let status = alice.status("c", ticket).await;
        assert_eq!(status.body["releaseReason"], "cleared", "{ticket}");
    }
    assert_eq!(alice.clear("c").await.body, json!({"cleared": 0}));
    // The resource is free again.
    assert_eq!(
        alice.queue("repo", "c", 1.0).await.body["status"],
        "acquired"
    );
}

/// Released tickets stay visible for the retention, then vanish by themselves.
#[tokio::test]
async fn released_tickets_vanish_after_the_retention() {
    let app = spawn_app_with(|s| s.sfp.retention_seconds = 1).await;
    let alice = Sfp::new(&app, "alice");
    let (a, _) = alice.ticket("r", 60.0).await;
    assert_eq!(
        alice.release("r", &a).await.body["releaseReason"],
        "released"
    );
    assert_eq!(alice.status("r", &a).await.status, 200);
    assert_eq!(
        alice.list("r").await.body.as_array().expect("array").len(),
        1
    );
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let gone = alice.status("r", &a).await;
    assert_eq!(gone.status, 404);
    assert_eq!(alice.list("r").await.body, json!([]));
    assert_eq!(alice.release("r", &a).await.status, 404);
    // Nothing of the resource is left in Redis.
    let mut redis = app.redis.connection().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*sfp*")
        .query_async(&mut redis)
        .await
        .expect("KEYS");
    let left: Vec<&String> = keys.iter().filter(|k| !k.ends_with(":fence")).collect();
    assert!(left.is_empty(), "{left:?}");
}

/// `waitSeconds` blocks until the ticket is acquired: woken by a release on another gateway,
/// or at the end of the lease it waits behind; and answers `false` when the wait runs out.
#[tokio::test]
async fn waiting_attempts_are_woken_across_gateways() {
    let app = spawn_app().await;
    let peer = app.peer().await;
    let alice = Sfp::new(&app, "alice");
    let bob = Sfp::new(&peer, "bob");
    let (a, _) = alice.ticket("wait", 60.0).await;
    let (b, _) = bob.ticket("wait", 0.5).await;
    let (c, _) = bob.ticket("wait", 60.0).await;
    let wait_for = |ticket: String, seconds: f64| {
        let url = peer.sfp(&format!(
            "/locks/repo/wait/{ticket}/acquire?waitSeconds={seconds}"
        ));
        let (client, token) = (peer.client.clone(), bob.token.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let response = client
                .post(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("POST");
            (started.elapsed(), reply(response).await)
        })
    };
    let waiting = wait_for(b.clone(), 10.0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let released_at = Instant::now();
    alice.release("wait", &a).await;
    let (_, answer) = waiting.await.expect("task");
    let woke = released_at.elapsed();
    assert_eq!(answer.body["acquired"], true, "{:?}", answer.body);
    assert!(answer.fence.is_some());
    assert!(
        woke < Duration::from_millis(500),
        "woken by the release: {woke:?}"
    );

    // b's 0.5 s lease ends with nobody calling: c's wait ends then.
    let (took, answer) = wait_for(c.clone(), 10.0).await.expect("task");
    assert_eq!(answer.body["acquired"], true);
    assert!(
        took < Duration::from_millis(1500),
        "at the lease end: {took:?}"
    );
    assert_eq!(
        alice.status("wait", &b).await.body["releaseReason"],
        "expired"
    );

    // A wait that runs out answers the position.
    let (d, _) = bob.ticket("wait", 60.0).await;
    let (took, answer) = wait_for(d, 0.4).await.expect("task");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["acquired"], false);
    assert_eq!(answer.body["queuePosition"], 1);
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

/// `waitSeconds` is capped at `sfp.max_wait_seconds`.
#[tokio::test]
async fn waits_are_capped() {
    let app = spawn_app_with(|s| s.sfp.max_wait_seconds = 1).await;
    let alice = Sfp::new(&app, "alice");
    alice.ticket("cap", 60.0).await;
    let (b, _) = alice.ticket("cap", 60.0).await;
    let started = Instant::now();
    let answer = alice.attempt("cap", &b, Some(30.0)).await;
    assert_eq!(answer.body["acquired"], false);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn hs256(secret: &str, claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("token")
}

fn assert_error(reply: &Reply, status: u16, phrase: &str) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_eq!(reply.body["statusCode"], status, "{reply:?}");
    assert_eq!(reply.body["error"], phrase, "{reply:?}");
    assert!(reply.body["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
}

/// Missing, malformed, badly signed, expired, not yet valid tokens and tokens without `sub`
/// are 401; a valid token without role `owner` or `application` is 403 (before the body is
/// looked at); roles may be an array. Errors are NestJS-shaped.
#[tokio::test]
async fn tokens_are_checked_before_anything_else() {
    let app = spawn_app().await;
    let now = now_s();
    let good = |extra: Value| {
        let mut claims = json!({"sub": "svc", "role": "owner", "exp": now + 600});
        for (k, v) in extra.as_object().expect("object") {
            claims[k] = v.clone();
        }
        hs256(SFP_SECRET, claims)
    };
    let body = json!({"repository": "r", "resource": "x", "leaseDurationSeconds": 5});
    let post = |token: Option<String>, body: Value| {
        let mut request = app.client.post(app.sfp("/locks")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { reply(request.send().await.expect("POST")).await }
    };
    let missing = post(None, body.clone()).await;
    assert_error(&missing, 401, "Unauthorized");
    let message = missing.body["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("Unauthorized: "), "{message}");
    assert_error(
        &post(Some("not-a-jwt".into()), body.clone()).await,
        401,
        "Unauthorized",
    );
    let other_secret = hs256(
        "another-secret",
        json!({"sub": "svc", "role": "owner", "exp": now + 600}),
    );
    assert_error(
        &post(Some(other_secret), body.clone()).await,
        401,
        "Unauthorized",
    );
    let expired = post(Some(good(json!({"exp": now - 120}))), body.clone()).await;
    let message = expired.body["message"].as_str().unwrap_or_default();
    assert_eq!(message, "Unauthorized: the token has expired");
    // Expired beyond the 30 s leeway; within it is still accepted.
    assert_error(
        &post(Some(good(json!({"exp": now - 120}))), body.clone()).await,
        401,
        "Unauthorized",
    );
    assert_eq!(
        post(Some(good(json!({"exp": now - 5}))), body.clone())
            .await
            .status,
        201
    );
    assert_error(
        &post(Some(good(json!({"nbf": now + 300}))), body.clone()).await,
        401,
        "Unauthorized",
    );
    let no_sub = hs256(SFP_SECRET, json!({"role": "owner", "exp": now + 600}));
    assert_error(&post(Some(no_sub), body.clone()).await, 401, "Unauthorized");
    let no_exp = hs256(SFP_SECRET, json!({"sub": "svc", "role": "owner"}));
    assert_error(&post(Some(no_exp), body.clone()).await, 401, "Unauthorized");

    let viewer = good(json!({"role": "viewer"}));
    let forbidden = post(Some(viewer.clone()), json!({"bad": "body"})).await;
    assert_error(&forbidden, 403, "Forbidden");
    assert_eq!(
        forbidden.body["message"],
        "Forbidden - Requires role: owner, application"
    );
    let no_role = hs256(SFP_SECRET, json!({"sub": "svc", "exp": now + 600}));
    assert_error(&post(Some(no_role), body.clone()).await, 403, "Forbidden");
    // Every operation checks it.
    let viewer = Sfp::with_token(&app, viewer);
    let id = uuid::Uuid::new_v4().to_string();
    assert_error(&viewer.status("x", &id).await, 403, "Forbidden");
    assert_error(&viewer.attempt("x", &id, None).await, 403, "Forbidden");
    assert_error(&viewer.release("x", &id).await, 403, "Forbidden");
    assert_error(&viewer.list("x").await, 403, "Forbidden");
    assert_error(&viewer.clear("x").await, 403, "Forbidden");

    let array = good(json!({"role": ["reader", "application"]}));
    let accepted = post(Some(array), body.clone()).await;
    assert_eq!(accepted.status, 201);
    assert_eq!(accepted.body["requestor"], "svc");
}

/// Roles at a dotted claim path, and `iss`/`aud` when configured.
#[tokio::test]
async fn role_claim_path_issuer_and_audience_are_configurable() {
    let app = spawn_app_with(|s| {
        s.sfp.role_claim = "app_metadata.role".into();
        s.sfp.jwt_issuer = "https://id.example".into();
        s.sfp.jwt_audience = "sfp".into();
    })
    .await;
    let now = now_s();
    let claims = |extra: Value| {
        let mut claims = json!({"sub": "svc", "exp": now + 600, "iss": "https://id.example",
            "aud": "sfp", "app_metadata": {"role": "owner"}});
        for (k, v) in extra.as_object().expect("object") {
            claims[k] = v.clone();
        }
        hs256(SFP_SECRET, claims)
    };
    let app = &app;
    let status = |token: String| async move {
        Sfp::with_token(app, token)
            .queue("repo", "x", 1.0)
            .await
            .status
    };
    assert_eq!(status(claims(json!({}))).await, 201);
    assert_eq!(
        status(app.sfp_token("minted", "application")).await,
        201,
        "the CLI's token"
    );
    assert_eq!(
        status(claims(json!({"iss": "https://evil.example"}))).await,
        401
    );
    assert_eq!(status(claims(json!({"aud": "other"}))).await, 401);
    assert_eq!(
        status(claims(json!({"role": "owner", "app_metadata": {}}))).await,
        403
    );
}

/// RS256 and ES256 tokens verify with the PEM public key configured.
#[tokio::test]
async fn public_keys_verify_rs256_and_es256_tokens() {
    let fixtures = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    for (algorithm, name) in [(Algorithm::RS256, "rsa"), (Algorithm::ES256, "ec")] {
        let public = format!("{fixtures}/sfp-test-{name}-public.pem");
        let app = spawn_app_with(|s| {
            s.sfp.jwt_secret = String::new();
            s.sfp.jwt_public_key_file = public.clone();
        })
        .await;
        let private =
            std::fs::read(format!("{fixtures}/sfp-test-{name}-private.pem")).expect("key");
        let key = match algorithm {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&private),
            _ => EncodingKey::from_ec_pem(&private),
        }
        .expect("private key");
        let claims = json!({"sub": "svc", "role": "application", "exp": now_s() + 600});
        let token = jsonwebtoken::encode(&Header::new(algorithm), &claims, &key).expect("token");
        let reply = Sfp::with_token(&app, token).queue("repo", "x", 1.0).await;
        assert_eq!(reply.status, 201, "{name}: {reply:?}");
        // An HS256 token signed with the public key's text is refused.
        let forged = hs256(&std::fs::read_to_string(&public).expect("pem"), claims);
        let reply = Sfp::with_token(&app, forged).queue("repo", "x", 1.0).await;
        assert_eq!(reply.status, 401, "{name}");
    }
}

/// Bad bodies and parameters are 400, unknown tickets (also non-UUIDs and tickets of another
/// resource) 404, all NestJS-shaped; none of them changes a lock.
#[tokio::test]
async fn bad_requests_are_400_and_unknown_tickets_404() {
    let app = spawn_app_with(|s| s.sfp.max_lease_seconds = 3600).await;
    let alice = Sfp::new(&app, "alice");
    let (held, _) = alice.ticket("res", 60.0).await;
    for lease in [
        json!(0),
        json!(-1),
        json!(3601),
        json!("60"),
        json!(null),
        json!(0.0001),
    ] {
        let body = json!({"repository": "repo", "resource": "res", "leaseDurationSeconds": lease});
        let reply = alice
            .send(reqwest::Method::POST, "/locks", Some(body))
            .await;
        assert_error(&reply, 400, "Bad Request");
    }
    assert_eq!(
        alice.queue("repo", "res", 3600.0).await.status,
        201,
        "the maximum is allowed"
    );
    for body in [
        json!({"resource": "res", "leaseDurationSeconds": 5}),
        json!({"repository": "repo", "leaseDurationSeconds": 5}),
        json!({"repository": "repo", "resource": "res"}),
        json!({"repository": "", "resource": "res", "leaseDurationSeconds": 5}),
        json!({"repository": "repo", "resource": "x".repeat(257), "leaseDurationSeconds": 5}),
        json!({"repository": 7, "resource": "res", "leaseDurationSeconds": 5}),
        json!([1, 2]),
    ] {
        let reply = alice
            .send(reqwest::Method::POST, "/locks", Some(body.clone()))
            .await;
        assert_error(&reply, 400, "Bad Request");
    }
    let not_json = app
        .client
        .post(app.sfp("/locks"))
        .bearer_auth(&alice.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("POST");
    assert_error(&reply(not_json).await, 400, "Bad Request");
    let big = json!({"repository": "repo", "resource": "res", "leaseDurationSeconds": 5,
        "pad": "x".repeat(70_000)});
    let too_large = alice.send(reqwest::Method::POST, "/locks", Some(big)).await;
    assert_error(&too_large, 413, "Payload Too Large");
    assert_error(
        &alice.attempt("res", &held, Some(-1.0)).await,
        400,
        "Bad Request",
    );

    let unknown = uuid::Uuid::new_v4().to_string();
    for ticket in [unknown.as_str(), "not-a-uuid", "1234"] {
        assert_error(&alice.status("res", ticket).await, 404, "Not Found");
        assert_error(&alice.attempt("res", ticket, None).await, 404, "Not Found");
        assert_error(&alice.release("res", ticket).await, 404, "Not Found");
    }
    // A ticket of another resource is unknown here, and stays held there.
    assert_error(&alice.status("other", &held).await, 404, "Not Found");
    assert_error(&alice.release("other", &held).await, 404, "Not Found");
    assert_eq!(alice.status("res", &held).await.body["status"], "acquired");
    let missing_path = alice.send(reqwest::Method::GET, "/nothing", None).await;
    assert_error(&missing_path, 404, "Not Found");
}

/// Without a secret or a key, sfp is not served.
#[tokio::test]
async fn without_a_key_sfp_is_not_served() {
    let app = spawn_app_with(|s| s.sfp.jwt_secret = String::new()).await;
    let response = app
        .client
        .post(app.sfp("/locks"))
        .json(&json!({"repository": "r", "resource": "x", "leaseDurationSeconds": 1}))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 404);
    let docs = app.get("/docs").await.text().await.expect("page");
    assert!(
        !docs.contains("/sfp/api/openapi.json"),
        "not offered in the docs page"
    );
}

/// `lockgate admin sfp token` mints a token the gateway accepts, without Redis.
#[tokio::test]
async fn the_cli_mints_tokens_the_gateway_accepts() {
    let app = spawn_app().await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_lockgate"))
        .args([
            "admin",
            "sfp",
            "token",
            "--sub",
            "deploy-bot",
            "--role",
            "owner",
            "--ttl-seconds",
            "60",
        ])
        .env("LOCKGATE_SFP__JWT_SECRET", SFP_SECRET)
        .env_remove("LOCKGATE_REDIS__URL")
        .output()
        .expect("run lockgate");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let token = printed["token"].as_str().expect("token").to_owned();
    let reply = Sfp::with_token(&app, token).queue("repo", "cli", 1.0).await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.body["requestor"], "deploy-bot");

    let without_secret = std::process::Command::new(env!("CARGO_BIN_EXE_lockgate"))
        .args(["admin", "sfp", "token", "--sub", "x"])
        .env_remove("LOCKGATE_SFP__JWT_SECRET")
        .output()
        .expect("run lockgate");
    assert!(!without_secret.status.success());
}

/// Redis frozen (SIGSTOP): every operation answers 503 in the NestJS shape within the timeout,
/// a waiting attempt too; once Redis answers, the queue is as it was, and a ticket whose
/// queueing timed out (the client never learned its id) is not left in it.
#[tokio::test]
async fn a_frozen_redis_is_503_and_leaves_no_stray_ticket() {
    let app = spawn_app_with(|s| s.redis.timeout_ms = 300).await;
    let alice = Sfp::new(&app, "alice");
    let (held, _) = alice.ticket("down", 60.0).await;
    if !app.redis.freeze().await {
        return; // not our Redis to stop
    }
    let started = Instant::now();
    assert_error(
        &alice.queue("repo", "down", 5.0).await,
        503,
        "Service Unavailable",
    );
    assert_error(
        &alice.attempt("down", &held, Some(5.0)).await,
        503,
        "Service Unavailable",
    );
    assert_error(&alice.list("down").await, 503, "Service Unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    app.redis.thaw().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let list = alice.list("down").await.body;
    let list = list.as_array().expect("array");
    let live: Vec<&Value> = list.iter().filter(|s| s["status"] != "released").collect();
    assert_eq!(live.len(), 1, "{list:?}");
    assert_eq!(live[0]["ticketId"], held.as_str());
    assert_eq!(live[0]["status"], "acquired");
}

/// A waiting attempt on a gateway running as its own process is woken by a release through
/// another; when that process is killed mid-wait, the ticket stays queued (the client drives
/// it), and its client, polling another gateway, finds it holding when its turn came.
#[tokio::test]
async fn a_wait_on_another_process_is_woken_and_survives_its_death() {
    let app = spawn_app().await;
    let mut process = GatewayProcess::start(&app);
    let alice = Sfp::new(&app, "alice");
    let (a, _) = alice.ticket("proc", 60.0).await;
    let (b, _) = alice.ticket("proc", 0.4).await;
    let (c, _) = alice.ticket("proc", 60.0).await;
    let attempt = |ticket: &str| {
        let url = format!(
            "http://{}/sfp/api/locks/repo/proc/{ticket}/acquire?waitSeconds=10",
            process.addr
        );
        let request = app.client.post(url).bearer_auth(alice.token.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let response = request.send().await.ok()?;
            Some((started.elapsed(), reply(response).await))
        })
    };
    let waiting = attempt(&b);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let released_at = Instant::now();
    alice.release("proc", &a).await;
    let (_, answer) = waiting.await.expect("task").expect("answered");
    assert_eq!(answer.body["acquired"], true, "{:?}", answer.body);
    assert!(released_at.elapsed() < Duration::from_millis(500));

    let doomed = attempt(&c);
    tokio::time::sleep(Duration::from_millis(100)).await;
    process.kill();
    assert!(
        doomed.await.expect("task").is_none(),
        "the killed gateway never answered"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let polled = alice.attempt("proc", &c, None).await;
    assert_eq!(polled.body["acquired"], true, "{:?}", polled.body);
}

/// A client that hangs up during a waiting attempt stops the gateway's polls for it: its ticket
/// is dropped once idle, not kept alive for the rest of the wait by nobody.
#[tokio::test]
async fn a_waiting_client_that_hangs_up_no_longer_keeps_its_ticket() {
    let app = spawn_app_with(|s| s.sfp.queue_idle_seconds = 1).await;
    let alice = Sfp::new(&app, "alice");
    alice.ticket("gone", 60.0).await;
    let (waiter, _) = alice.ticket("gone", 60.0).await;
    let url = app.sfp(&format!("/locks/repo/gone/{waiter}/acquire?waitSeconds=30"));
    let hung_up = app
        .client
        .post(url)
        .bearer_auth(&alice.token)
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(hung_up.is_err(), "the client gave up first");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let status = alice.status("gone", &waiter).await;
    assert_eq!(
        status.body["releaseReason"], "dropped_idle",
        "{:?}",
        status.body
    );
}
