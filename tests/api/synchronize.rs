//! The synchronize dialect as its clients see it: anonymous users, Bearer API keys, locks per
//! account, lease ids, retention of released locks, the sign-up limit.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_message_error, spawn_app, spawn_app_with, TestApp};

async fn lock(app: &TestApp, key: &str, name: &str, requester: &str) -> Value {
    let body = json!({"lockName": name, "requester": requester});
    app.sync_ok(Method::POST, "/lock", key, Some(body)).await
}

async fn info(app: &TestApp, key: &str, name: &str) -> reqwest::Response {
    app.sync(Method::GET, &format!("/lock?lockName={name}"), key, None)
        .await
}

async fn unlock(app: &TestApp, key: &str, name: &str, lease_id: &str) -> reqwest::Response {
    let body = json!({"lockName": name, "leaseId": lease_id});
    app.sync(Method::POST, "/unlock", key, Some(body)).await
}

/// Sign-up answers a user id and a UUID API key; only a hash of the key is stored.
#[tokio::test]
async fn anonymous_sign_up_hands_out_a_uuid_api_key_stored_only_as_a_hash() {
    let app = crate::helpers::spawn_app().await;
    let prefix = app.settings().redis.key_prefix.clone();
    let response = app
        .client
        .post(app.url("/api/v0/users/anonymous"))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert!(!body["userId"].as_str().expect("userId").is_empty());
    let key = body["apiKey"].as_str().expect("apiKey");
    assert!(uuid::Uuid::parse_str(key).is_ok(), "{key}");

    app.redis.assert_stored_nowhere(&prefix, key).await;
}

/// Lock, look, unlock: the answers and fields of the document, plus a fencing token.
#[tokio::test]
async fn lock_info_and_unlock_follow_the_document() {
    let app = spawn_app().await;
    let key = app.sync_user().await;

    let locked = lock(&app, &key, "resource-123", "service-a").await;
    assert_eq!(locked["locked"], true);
    let lease_id = locked["leaseId"].as_str().expect("leaseId").to_owned();
    assert!(uuid::Uuid::parse_str(&lease_id).is_ok());
    assert!(locked["fencingToken"].as_u64().is_some());

    let response = info(&app, &key, "resource-123").await;
    assert_eq!(response.status(), 200);
    let shown: Value = response.json().await.expect("json");
    assert_eq!(shown["lockName"], "resource-123");
    assert_eq!(shown["locked"], true);
    assert_eq!(shown["leaseId"], lease_id.as_str());
    assert_eq!(shown["leasedBy"], "service-a");
    for field in ["createdAt", "updatedAt"] {
        let at = shown[field].as_str().expect(field);
        assert!(at.len() == 24 && at.ends_with('Z'), "{field}: {at}");
    }

    let response = unlock(&app, &key, "resource-123", &lease_id).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body, json!({"unlocked": true}));
    let after: Value = info(&app, &key, "resource-123")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(after["locked"], false, "released, still shown");
    assert_eq!(after["leaseId"], lease_id.as_str());
}

/// The same requester asking again gets the same lease, renewed; another requester is told who
/// holds it.
#[tokio::test]
async fn the_same_requester_gets_its_lease_back_and_others_are_told_the_holder() {
    let app = spawn_app().await;
    let key = app.sync_user().await;
    let short = json!({"lockName": "job", "requester": "svc-a", "leaseSeconds": 2});

    let first = app
        .sync_ok(Method::POST, "/lock", &key, Some(short.clone()))
        .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let retried = app.sync_ok(Method::POST, "/lock", &key, Some(short)).await;
    assert_eq!(retried["locked"], true);
    assert_eq!(retried["leaseId"], first["leaseId"], "no second lease");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let shown: Value = info(&app, &key, "job").await.json().await.expect("json");
    assert_eq!(shown["locked"], true, "the retry renewed the 2 s lease");

    let other = lock(&app, &key, "job", "svc-b").await;
    assert_eq!(other["locked"], false);
    assert_eq!(other["message"], "held by svc-a");
    assert!(other.get("leaseId").is_none());
}

/// Two accounts using one lock name never see or block each other.
#[tokio::test]
async fn accounts_do_not_see_or_block_each_others_locks() {
    let app = spawn_app().await;
    let alice = app.sync_user().await;
    let bob = app.sync_user().await;

    assert_eq!(lock(&app, &alice, "shared", "a").await["locked"], true);
    assert_eq!(lock(&app, &bob, "shared", "b").await["locked"], true);
    lock(&app, &alice, "alice-only", "a").await;

    let alices = app.sync_ok(Method::GET, "/locks", &alice, None).await;
    let names: Vec<&str> = alices["locks"]
        .as_array()
        .expect("locks")
        .iter()
        .map(|l| l["lockName"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["alice-only", "shared"], "sorted, own locks only");
    let bobs = app.sync_ok(Method::GET, "/locks", &bob, None).await;
    assert_eq!(bobs["locks"].as_array().expect("locks").len(), 1);
    assert_eq!(bobs["locks"][0]["leasedBy"], "b");
    assert_message_error(info(&app, &bob, "alice-only").await, 404).await;
}

/// A `leaseSeconds` lease ends on time; then another requester can take the lock.
#[tokio::test]
async fn a_lease_seconds_lease_expires() {
    let app = spawn_app().await;
    let key = app.sync_user().await;
    let body = json!({"lockName": "brief", "requester": "a", "leaseSeconds": 1});
    app.sync_ok(Method::POST, "/lock", &key, Some(body)).await;

    assert_eq!(lock(&app, &key, "brief", "b").await["locked"], false);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let shown: Value = info(&app, &key, "brief").await.json().await.expect("json");
    assert_eq!(shown["locked"], false);
    assert_eq!(shown["leasedBy"], "a");
    assert_eq!(lock(&app, &key, "brief", "b").await["locked"], true);
}

/// Released locks stay listed with `locked: false` for the retention period, then are gone.
#[tokio::test]
async fn released_locks_are_retained_then_forgotten() {
    let app = spawn_app_with(|settings| {
        settings.synchronize.retention_seconds = 1;
    })
    .await;
    let key = app.sync_user().await;
    let locked = lock(&app, &key, "kept", "a").await;
    let lease_id = locked["leaseId"].as_str().expect("leaseId");
    assert_eq!(unlock(&app, &key, "kept", lease_id).await.status(), 200);

    let listed = app.sync_ok(Method::GET, "/locks", &key, None).await;
    assert_eq!(listed["locks"][0]["locked"], false);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_message_error(info(&app, &key, "kept").await, 404).await;
    let listed = app.sync_ok(Method::GET, "/locks", &key, None).await;
    assert_eq!(listed, json!({"locks": []}));
    assert_message_error(unlock(&app, &key, "kept", lease_id).await, 404).await;
}

/// Unlock: unknown lock 404; wrong or stale lease id 200 `unlocked: false`, lock untouched.
#[tokio::test]
async fn unlock_answers_404_for_unknown_locks_and_false_for_wrong_leases() {
    let app = spawn_app().await;
    let key = app.sync_user().await;

    assert_message_error(unlock(&app, &key, "never", "x").await, 404).await;
    let first = lock(&app, &key, "job", "a").await;
    let lease = first["leaseId"].as_str().expect("leaseId").to_owned();
    for wrong in ["not-a-lease", "550e8400-e29b-41d4-a716-446655440000"] {
        let body: Value = unlock(&app, &key, "job", wrong)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(body, json!({"unlocked": false}), "{wrong}");
    }
    let still: Value = info(&app, &key, "job").await.json().await.expect("json");
    assert_eq!(still["locked"], true);

    let body: Value = unlock(&app, &key, "job", &lease)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body["unlocked"], true);
    let stale: Value = unlock(&app, &key, "job", &lease)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(stale["unlocked"], false, "a stale lease id");
}

/// Missing or unknown API keys: 401 JSON with a Bearer challenge, on every endpoint.
#[tokio::test]
async fn calls_without_a_valid_api_key_get_401() {
    let app = spawn_app().await;
    let unknown = uuid::Uuid::new_v4().to_string();
    for key in [None, Some(unknown.as_str())] {
        for (method, path, body) in [
            (
                Method::POST,
                "/api/v0/lock",
                Some(json!({"lockName": "a", "requester": "r"})),
            ),
            (Method::GET, "/api/v0/lock?lockName=a", None),
            (
                Method::POST,
                "/api/v0/unlock",
                Some(json!({"lockName": "a", "leaseId": "x"})),
            ),
            (Method::GET, "/api/v0/locks", None),
        ] {
            let mut request = app.client.request(method, app.url(path));
            if let Some(key) = key {
                request = request.bearer_auth(key);
            }
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.expect("sent");
            assert_eq!(
                response.headers()["www-authenticate"],
                "Bearer realm=\"lockgate\""
            );
            assert_message_error(response, 401).await;
        }
    }
}

/// Missing or mistyped fields, broken JSON, bad names and lease lengths: 400 JSON, and nothing
/// changes.
#[tokio::test]
async fn bad_requests_get_400_and_change_nothing() {
    let app = spawn_app().await;
    let key = app.sync_user().await;
    for body in [
        json!({"lockName": "x"}),
        json!({"requester": "r"}),
        json!({"lockName": 5, "requester": "r"}),
        json!({"lockName": "x", "requester": ""}),
        json!({"lockName": "", "requester": "r"}),
        json!({"lockName": "n".repeat(257), "requester": "r"}),
        json!({"lockName": "x", "requester": "r", "leaseSeconds": 0}),
        json!({"lockName": "x", "requester": "r", "leaseSeconds": 86_401}),
        json!({"lockName": "x", "requester": "r", "leaseSeconds": "ten"}),
    ] {
        let response = app
            .sync(Method::POST, "/lock", &key, Some(body.clone()))
            .await;
        let message = assert_message_error(response, 400).await;
        assert!(!message.is_empty(), "{body}");
    }
    let broken = app
        .client
        .post(app.url("/api/v0/lock"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{\"lockName\":")
        .send()
        .await
        .expect("POST");
    assert_message_error(broken, 400).await;
    assert_message_error(
        app.sync(
            Method::POST,
            "/unlock",
            &key,
            Some(json!({"lockName": "x"})),
        )
        .await,
        400,
    )
    .await;
    assert_message_error(app.sync(Method::GET, "/lock", &key, None).await, 400).await;
    let listed = app.sync_ok(Method::GET, "/locks", &key, None).await;
    assert_eq!(listed, json!({"locks": []}), "nothing was created");
}

/// Sign-ups per address and minute are limited across all gateways; past the limit: 429 with
/// Retry-After. X-Forwarded-For counts only from a trusted proxy.
#[tokio::test]
async fn sign_ups_are_rate_limited_per_address_across_gateways() {
    let pod_a = spawn_app_with(|settings| settings.synchronize.signups_per_minute = 3).await;
    let pod_b = pod_a.peer().await;
    let sign_up = |app: &TestApp, forwarded: Option<&str>| {
        let mut request = app.client.post(app.url("/api/v0/users/anonymous"));
        if let Some(forwarded) = forwarded {
            request = request.header("x-forwarded-for", forwarded);
        }
        request.send()
    };

    for app in [&pod_a, &pod_b, &pod_a] {
        assert_eq!(sign_up(app, None).await.expect("sent").status(), 200);
    }
    let refused = sign_up(&pod_b, Some("203.0.113.7")).await.expect("sent");
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    let message = assert_message_error(refused, 429).await;
    assert!(message.contains('3'), "{message}");

    // Behind a trusted proxy, the forwarded address is the client.
    let behind_proxy = pod_a
        .peer_with(|settings| settings.server.trusted_proxies = vec!["127.0.0.1".into()])
        .await;
    for client in ["203.0.113.7", "203.0.113.8"] {
        assert_eq!(
            sign_up(&behind_proxy, Some(client))
                .await
                .expect("sent")
                .status(),
            200,
            "{client} has its own count"
        );
    }
}

/// The admin API shows a user's lock counts and revokes it: the key fails at once and its locks
/// are released.
#[tokio::test]
async fn the_admin_api_shows_and_revokes_users() {
    let app = spawn_app().await;
    let user = app.sync_sign_up().await;
    let key = user["apiKey"].as_str().expect("apiKey");
    let id = user["userId"].as_str().expect("userId");
    lock(&app, key, "held", "a").await;
    let released = lock(&app, key, "released", "a").await;
    unlock(
        &app,
        key,
        "released",
        released["leaseId"].as_str().expect("id"),
    )
    .await;

    let path = format!("/synchronize/users/{id}");
    let shown: Value = app
        .admin(Method::GET, &path)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(shown["userId"], id);
    assert_eq!(shown["lockCount"], 2);
    assert_eq!(shown["heldLocks"], 1);
    assert!(shown["createdAt"]
        .as_str()
        .expect("createdAt")
        .ends_with('Z'));

    let revoked = app
        .admin(Method::DELETE, &path)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(revoked.status(), 200);
    let body: Value = revoked.json().await.expect("json");
    assert_eq!(body["releasedLocks"], 1);
    assert_message_error(info(&app, key, "held").await, 401).await;
    let lock_ref = lockgate::accounts::synchronize_lock(
        &app.settings().synchronize,
        id,
        lockgate::domain::LockName::parse("held").expect("valid"),
    )
    .expect("valid id");
    let record = app.engine.describe(&lock_ref).await.expect("describe");
    assert!(!record.expect("retained").locked, "released");
    for method in [Method::GET, Method::DELETE] {
        assert_message_error(app.admin(method, &path).send().await.expect("sent"), 404).await;
    }
}
