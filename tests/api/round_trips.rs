//! One Redis round trip per authenticated request, and what that must not cost: a revoked or
//! changed credential is refused or applied on every gateway at once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::helpers::{new_token, spawn_app, TestApp};

/// Every command clients send to Redis, as `MONITOR` shows them (commands run inside scripts
/// left out).
struct Monitor {
    commands: Arc<Mutex<Vec<String>>>,
}

impl Monitor {
    async fn start(url: &str) -> Monitor {
        let addr = url.trim_start_matches("redis://");
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(b"MONITOR\r\n").await.expect("MONITOR");
        let mut lines = BufReader::new(stream).lines();
        let ok = lines.next_line().await.expect("read").expect("a reply");
        assert_eq!(ok, "+OK");
        let commands = Arc::new(Mutex::new(Vec::new()));
        let seen = commands.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                // `+<time> [<db> <client>] "<command>" ...`; scripts' calls say `[<db> lua]`.
                if line.contains(" lua] ") {
                    continue;
                }
                if let Some(command) = line.split('"').nth(1) {
                    seen.lock().expect("lock").push(command.to_lowercase());
                }
            }
        });
        Monitor { commands }
    }

    /// Waits for stragglers, then takes what was seen so far.
    async fn take(&self) -> Vec<String> {
        tokio::time::sleep(Duration::from_millis(200)).await;
        std::mem::take(&mut *self.commands.lock().expect("lock"))
    }
}

async fn two_gateways() -> (TestApp, TestApp) {
    let a = spawn_app().await;
    let b = a.peer().await;
    (a, b)
}

/// Polls `check` on a gateway until it is true; how long that took after `since`.
async fn within<F, Fut>(since: Instant, limit: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    loop {
        if check().await {
            return since.elapsed();
        }
        assert!(since.elapsed() < limit * 5, "never happened");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// lockable and synchronize requests cost one Redis command (one FCALL of a lock function)
/// each once the gateway knows the
/// credential (and, for lockable, has noted the lock in the account's index): acquire, renew,
/// release, refusals included.
#[tokio::test]
async fn an_authenticated_lock_request_is_one_redis_command() {
    let app = spawn_app().await;
    if !app.redis.owned() {
        return; // MONITOR would see other tests' traffic.
    }
    let token = new_token(&app, json!({"plan": "hobbyist"})).await;
    let other = new_token(&app, json!({"plan": "hobbyist"})).await;
    let key = app.sync_user().await;
    let lock = |requester: &str| json!({"lockName": "counted", "requester": requester});
    // Warm up: credentials checked, lock names noted, scripts loaded into Redis.
    assert!(app.lockable_ok("acquire", "counted", &token).await);
    assert!(app.lockable_ok("heartbeat", "counted", &token).await);
    assert!(!app.lockable_ok("acquire", "counted", &other).await);
    assert!(app.lockable_ok("release", "counted", &token).await);
    app.sync_ok(Method::POST, "/lock", &key, Some(lock("a")))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let monitor = Monitor::start(app.redis.url()).await;
    assert!(app.lockable_ok("acquire", "counted", &token).await);
    assert!(!app.lockable_ok("acquire", "counted", &other).await, "held");
    assert!(app.lockable_ok("heartbeat", "counted", &token).await);
    assert!(app.lockable_ok("release", "counted", &token).await);
    let commands = monitor.take().await;
    assert_eq!(commands, vec!["fcall"; 4], "lockable");

    let busy = app
        .sync_ok(Method::POST, "/lock", &key, Some(lock("b")))
        .await;
    assert_eq!(busy["locked"], false);
    assert_eq!(busy["message"], "held by a", "the holder is named");
    let again = app
        .sync_ok(Method::POST, "/lock", &key, Some(lock("a")))
        .await;
    let lease = again["leaseId"].as_str().expect("leaseId").to_owned();
    let unlock = json!({"lockName": "counted", "leaseId": lease});
    let unlocked = app
        .sync_ok(Method::POST, "/unlock", &key, Some(unlock.clone()))
        .await;
    assert_eq!(unlocked["unlocked"], true);
    let stale = app
        .sync_ok(Method::POST, "/unlock", &key, Some(unlock))
        .await;
    assert_eq!(stale["unlocked"], false);
    let unknown = json!({"lockName": "never-seen", "leaseId": lease});
    let missing = app.sync(Method::POST, "/unlock", &key, Some(unknown)).await;
    assert_eq!(missing.status(), 404);
    let commands = monitor.take().await;
    assert_eq!(commands, vec!["fcall"; 5], "synchronize");
}

/// Every sfp request is one Redis command: the token is verified in the gateway, and each
/// operation (an attempt without `waitSeconds` included) is one script.
#[tokio::test]
async fn every_sfp_request_is_one_redis_command() {
    let app = spawn_app().await;
    if !app.redis.owned() {
        return; // MONITOR would see other tests' traffic.
    }
    let token = app.sfp_token("svc", "application");
    let send = |method: Method, path: String, body: Option<serde_json::Value>| {
        let mut request = app
            .client
            .request(method, app.sfp(&path))
            .bearer_auth(&token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.expect("request");
            assert!(response.status().is_success(), "{}", response.status());
            response.json::<serde_json::Value>().await.expect("json")
        }
    };
    let queue = || {
        let body = json!({"repository": "r", "resource": "counted", "leaseDurationSeconds": 60});
        send(Method::POST, "/locks".into(), Some(body))
    };
    queue().await; // warm up: the function library loaded
    send(Method::DELETE, "/locks/r/counted".into(), None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let monitor = Monitor::start(app.redis.url()).await;
    let held = queue().await;
    let queued = queue().await;
    let (a, b) = (&held["ticketId"], &queued["ticketId"]);
    let b = b.as_str().expect("id");
    send(Method::GET, format!("/locks/r/counted/{b}"), None).await;
    send(Method::POST, format!("/locks/r/counted/{b}/acquire"), None).await;
    send(
        Method::DELETE,
        format!("/locks/r/counted/{}", a.as_str().expect("id")),
        None,
    )
    .await;
    send(Method::GET, "/locks/r/counted".into(), None).await;
    send(Method::DELETE, "/locks/r/counted".into(), None).await;
    let commands = monitor.take().await;
    assert_eq!(commands, vec!["fcall"; 7], "sfp");
}

/// Every courses request is one Redis round trip once the gateway knows the session (a lock,
/// a switch to another gadget, a renewal, a refusal, a listing), but a release by lock id: its
/// course first (`TIME` and `HGET`, pipelined), then the course's script.
#[tokio::test]
async fn every_courses_request_is_one_round_trip_and_a_release_two() {
    let app = spawn_app().await;
    if !app.redis.owned() {
        return; // MONITOR would see other tests' traffic.
    }
    let put = app
        .admin(Method::PUT, "/courses/counted1")
        .json(&json!({"gadgets": ["g1", "g2"], "editors": ["alice"]}))
        .send()
        .await
        .expect("PUT");
    assert_eq!(put.status(), 200);
    let created: serde_json::Value = app
        .admin(Method::POST, "/course-sessions")
        .json(&json!({"userId": "alice"}))
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("json");
    let sid = created["sid"].as_str().expect("sid").to_owned();
    let send = |method: Method, path: &str, body: Option<serde_json::Value>| {
        let mut request = app
            .client
            .request(method, app.courses(path))
            .header("SID", &sid);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.expect("request");
            let status = response.status().as_u16();
            (
                status,
                response.json::<serde_json::Value>().await.expect("json"),
            )
        }
    };
    let lock = |gadget: &str| json!({"type": "gadget", "subject": {"courseId": "counted1", "gadgetId": gadget}});
    // The first request starts the credentials channel, the second fills the session's entry.
    for _ in 0..2 {
        send(Method::GET, "/locks?subject.courseId=counted1", None).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let monitor = Monitor::start(app.redis.url()).await;
    assert_eq!(send(Method::POST, "/locks", Some(lock("g1"))).await.0, 201);
    assert_eq!(send(Method::POST, "/locks", Some(lock("g1"))).await.0, 201);
    let (_, switched) = send(Method::POST, "/locks", Some(lock("g2"))).await;
    assert_eq!(
        send(Method::POST, "/locks", Some(lock("none"))).await.0,
        404
    );
    assert_eq!(
        send(Method::GET, "/locks?subject.courseId=counted1", None)
            .await
            .0,
        200
    );
    assert_eq!(monitor.take().await, vec!["fcall"; 5]);

    let id = switched["id"].as_str().expect("id");
    assert_eq!(
        send(Method::DELETE, &format!("/locks/{id}"), None).await.0,
        200
    );
    assert_eq!(monitor.take().await, vec!["time", "hget", "fcall"]);
}

/// A lockable token revoked through gateway A is refused by gateway B, which had it cached,
/// within 100 ms of the revoke's reply; the revoke still releases the account's locks.
#[tokio::test]
async fn a_revoked_lockable_token_is_refused_on_every_gateway_within_100_ms() {
    let (a, b) = two_gateways().await;
    let account = a.create_lockable_account(json!({"plan": "hobbyist"})).await;
    let token = account["token"].as_str().expect("token").to_owned();
    let id = account["accountId"].as_str().expect("id").to_owned();
    assert!(b.lockable_ok("acquire", "revoked-lock", &token).await);
    assert!(b.lockable_ok("heartbeat", "revoked-lock", &token).await);

    let revoked = a
        .admin(Method::DELETE, &format!("/lockable/accounts/{id}"))
        .send()
        .await
        .expect("revoke");
    let replied = Instant::now();
    assert_eq!(revoked.status(), 200);
    let took = within(replied, Duration::from_millis(100), || async {
        b.lockable("heartbeat", "revoked-lock", &token)
            .await
            .status()
            == 401
    })
    .await;
    assert!(took < Duration::from_millis(100), "refused after {took:?}");

    let other = new_token(&b, json!({"plan": "hobbyist"})).await;
    assert!(
        b.lockable_ok("acquire", "revoked-lock", &other).await,
        "the revoked account's lock was released"
    );
}

/// A change to a lockable account through gateway A applies on gateway B at its next request:
/// moving to a private namespace, B resolves names there at once.
#[tokio::test]
async fn an_account_change_applies_on_every_gateway_at_the_next_request() {
    let (a, b) = two_gateways().await;
    let account = a
        .create_lockable_account(json!({"plan": "business", "privateNamespace": false}))
        .await;
    let token = account["token"].as_str().expect("token").to_owned();
    let id = account["accountId"].as_str().expect("id").to_owned();
    let public_holder = new_token(&a, json!({"plan": "hobbyist"})).await;
    assert!(a.lockable_ok("acquire", "shared", &public_holder).await);
    assert!(!b.lockable_ok("acquire", "shared", &token).await, "public");

    let changed = a
        .admin(Method::PATCH, &format!("/lockable/accounts/{id}"))
        .json(&json!({"privateNamespace": true}))
        .send()
        .await
        .expect("PATCH");
    assert_eq!(changed.status(), 200);
    let replied = Instant::now();
    let took = within(replied, Duration::from_millis(100), || async {
        b.lockable_ok("acquire", "shared", &token).await
    })
    .await;
    assert!(took < Duration::from_millis(100), "applied after {took:?}");
}

/// A synchronize user revoked through gateway A is refused by gateway B within 100 ms.
#[tokio::test]
async fn a_revoked_api_key_is_refused_on_every_gateway_within_100_ms() {
    let (a, b) = two_gateways().await;
    let user = b.sync_sign_up().await;
    let key = user["apiKey"].as_str().expect("apiKey").to_owned();
    let id = user["userId"].as_str().expect("userId").to_owned();
    let lock = json!({"lockName": "k", "requester": "r"});
    b.sync_ok(Method::POST, "/lock", &key, Some(lock.clone()))
        .await;

    let revoked = a
        .admin(Method::DELETE, &format!("/synchronize/users/{id}"))
        .send()
        .await
        .expect("revoke");
    let replied = Instant::now();
    assert_eq!(revoked.status(), 200);
    let body: serde_json::Value = revoked.json().await.expect("json");
    assert_eq!(body["releasedLocks"], 1);
    let took = within(replied, Duration::from_millis(100), || async {
        b.sync(Method::GET, "/locks", &key, None).await.status() == 401
    })
    .await;
    assert!(took < Duration::from_millis(100), "refused after {took:?}");
}

/// A gateway whose pub/sub connection dropped trusts nothing it kept: a revoke published while
/// it could not hear it is still refused at once, not after it reconnects.
#[tokio::test]
async fn a_revoke_missed_while_pub_sub_was_down_is_still_refused() {
    let (a, b) = two_gateways().await;
    if !a.redis.owned() {
        return; // CLIENT KILL would cut other tests' connections.
    }
    let account = a.create_lockable_account(json!({"plan": "hobbyist"})).await;
    let token = account["token"].as_str().expect("token").to_owned();
    let id = account["accountId"].as_str().expect("id").to_owned();
    assert!(b.lockable_ok("acquire", "heard", &token).await);
    assert!(
        b.lockable_ok("heartbeat", "heard", &token).await,
        "cached on B"
    );

    let mut conn = a.redis.connection().await;
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut conn)
        .await
        .expect("CLIENT KILL");
    assert!(killed >= 1, "B's pub/sub connection cut");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let revoked = a
        .admin(Method::DELETE, &format!("/lockable/accounts/{id}"))
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status(), 200);
    let status = b.lockable("heartbeat", "heard", &token).await.status();
    assert_eq!(status, 401, "refused at once, not after B reconnects");
}
