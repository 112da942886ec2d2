//! The lockable dialect as its clients see it: Basic auth with an account token, leases from the
//! account's plan, heartbeats, namespaces.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{assert_message_error, new_token, spawn_app};

/// The holder's acquire, heartbeat and release all answer true; acquire carries a fencing token
/// in the body and the header.
#[tokio::test]
async fn acquire_heartbeat_and_release_answer_true_for_the_holder() {
    let app = spawn_app().await;
    let token = new_token(&app, json!({"plan": "hobbyist"})).await;

    let response = app.lockable("acquire", "nightly", &token).await;
    assert_eq!(response.status(), 200);
    let header: u64 = response.headers()["fencing-token"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("integer");
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["response"], true);
    assert_eq!(body["fencing_token"], header);

    assert!(app.lockable_ok("heartbeat", "nightly", &token).await);
    assert!(app.lockable_ok("release", "nightly", &token).await);
    assert!(
        !app.lockable_ok("release", "nightly", &token).await,
        "released already"
    );
    assert!(
        app.lockable_ok("acquire", "nightly", &token).await,
        "free again"
    );
}

/// A held lock answers false (200, never 409) to every acquire, its holder's included.
#[tokio::test]
async fn acquire_of_a_held_lock_is_false_even_for_the_holder() {
    let app = spawn_app().await;
    let a = new_token(&app, json!({"plan": "hobbyist"})).await;
    let b = new_token(&app, json!({"plan": "hobbyist"})).await;

    assert!(app.lockable_ok("acquire", "job", &a).await);
    let again = app.lockable("acquire", "job", &a).await;
    assert_eq!(again.status(), 200);
    let body: serde_json::Value = again.json().await.expect("json");
    assert_eq!(body, json!({"response": false}));
    assert!(!app.lockable_ok("acquire", "job", &b).await);
}

/// Heartbeat and release by an account that does not hold the lock answer false and change
/// nothing.
#[tokio::test]
async fn heartbeat_and_release_by_a_non_holder_are_false() {
    let app = spawn_app().await;
    let a = new_token(&app, json!({"plan": "hobbyist"})).await;
    let b = new_token(&app, json!({"plan": "hobbyist"})).await;

    assert!(!app.lockable_ok("heartbeat", "job", &a).await, "never held");
    assert!(app.lockable_ok("acquire", "job", &a).await);
    assert!(!app.lockable_ok("heartbeat", "job", &b).await);
    assert!(!app.lockable_ok("release", "job", &b).await);
    assert!(
        app.lockable_ok("heartbeat", "job", &a).await,
        "a still holds it"
    );
}

/// A business lease of 2 s lapses on time without heartbeats; heartbeats keep it.
#[tokio::test]
async fn a_business_lease_lapses_unless_heartbeated() {
    let app = spawn_app().await;
    let holder = new_token(&app, json!({"plan": "business", "leaseSeconds": 2})).await;
    let other = new_token(&app, json!({"plan": "hobbyist"})).await;

    // Heartbeats every second keep a 2 s lease for 3 s.
    assert!(app.lockable_ok("acquire", "kept", &holder).await);
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert!(app.lockable_ok("heartbeat", "kept", &holder).await);
    }
    assert!(
        !app.lockable_ok("acquire", "kept", &other).await,
        "still held"
    );

    // Without heartbeats it is free after 2 s, not before.
    assert!(app.lockable_ok("acquire", "lapsing", &holder).await);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        !app.lockable_ok("acquire", "lapsing", &other).await,
        "not yet"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        app.lockable_ok("acquire", "lapsing", &other).await,
        "lapsed"
    );
    assert!(!app.lockable_ok("heartbeat", "lapsing", &holder).await);
}

/// Hobbyist and business-without-private accounts share the public namespace; a private
/// namespace is its own.
#[tokio::test]
async fn public_names_are_shared_and_private_namespaces_are_not() {
    let app = spawn_app().await;
    let hobbyist = new_token(&app, json!({"plan": "hobbyist"})).await;
    let public_business = new_token(&app, json!({"plan": "business"})).await;
    let private_1 = new_token(&app, json!({"plan": "business", "privateNamespace": true})).await;
    let private_2 = new_token(&app, json!({"plan": "business", "privateNamespace": true})).await;

    assert!(app.lockable_ok("acquire", "shared", &hobbyist).await);
    assert!(!app.lockable_ok("acquire", "shared", &public_business).await);
    assert!(app.lockable_ok("acquire", "shared", &private_1).await);
    assert!(app.lockable_ok("acquire", "shared", &private_2).await);
    assert!(!app.lockable_ok("acquire", "shared", &private_1).await);
    assert!(
        app.lockable_ok("release", "shared", &private_2).await,
        "its own lock"
    );
    assert!(
        app.lockable_ok("heartbeat", "shared", &hobbyist).await,
        "public one untouched"
    );
}

/// Revoking an account makes its token fail at once and frees its locks.
#[tokio::test]
async fn a_revoked_token_is_refused_and_its_locks_are_released() {
    let app = spawn_app().await;
    let account = app
        .create_lockable_account(json!({"plan": "business", "leaseSeconds": 600}))
        .await;
    let token = account["token"].as_str().expect("token");
    let other = new_token(&app, json!({"plan": "hobbyist"})).await;
    assert!(app.lockable_ok("acquire", "a", token).await);
    assert!(app.lockable_ok("acquire", "b", token).await);

    let path = format!(
        "/lockable/accounts/{}",
        account["accountId"].as_str().expect("id")
    );
    let revoked = app
        .admin(reqwest::Method::DELETE, &path)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(revoked.status(), 200);
    let body: serde_json::Value = revoked.json().await.expect("json");
    assert_eq!(body["releasedLocks"], 2);

    let refused = app.lockable("heartbeat", "a", token).await;
    assert_eq!(
        refused.headers()["www-authenticate"],
        "Basic realm=\"lockgate\""
    );
    assert_message_error(refused, 401).await;
    assert!(
        app.lockable_ok("acquire", "a", &other).await,
        "a was released"
    );
    assert!(
        app.lockable_ok("acquire", "b", &other).await,
        "b was released"
    );
}

/// Missing, malformed and unknown credentials: 401 JSON with a Basic challenge.
#[tokio::test]
async fn bad_credentials_get_401_with_a_basic_challenge() {
    let app = spawn_app().await;
    let good = new_token(&app, json!({"plan": "hobbyist"})).await;
    let (id, _) = good.split_once('.').expect("token shape");
    let forged = format!("{id}.{}", "0".repeat(64));

    let requests = [
        app.client.get(app.url("/v1/acquire/job")),
        app.client
            .get(app.url("/v1/acquire/job"))
            .header("authorization", "Basic !!!not-base64"),
        app.client
            .get(app.url("/v1/acquire/job"))
            .header("authorization", "Bearer something"),
        app.client
            .get(app.url("/v1/acquire/job"))
            .basic_auth("00000000-0000-0000-0000-000000000000", Some("")),
        app.client
            .get(app.url("/v1/acquire/job"))
            .basic_auth(&forged, Some("")),
    ];
    for request in requests {
        let response = request.send().await.expect("sent");
        assert_eq!(
            response
                .headers()
                .get("www-authenticate")
                .map(|v| v.as_bytes()),
            Some(&b"Basic realm=\"lockgate\""[..])
        );
        assert_message_error(response, 401).await;
    }
    assert!(
        app.lockable_ok("acquire", "job", &good).await,
        "nothing was taken"
    );
}

/// Names follow the common rules; URL-encoded names are decoded. Bad names answer 400 JSON.
#[tokio::test]
async fn lock_names_are_checked_and_url_decoded() {
    let app = spawn_app().await;
    let token = new_token(&app, json!({"plan": "hobbyist"})).await;

    assert!(app.lockable_ok("acquire", &"n".repeat(256), &token).await);
    let message =
        assert_message_error(app.lockable("acquire", &"n".repeat(257), &token).await, 400).await;
    assert!(message.contains("256"), "{message}");
    assert_message_error(app.lockable("acquire", "", &token).await, 400).await;
    assert_message_error(app.lockable("heartbeat", "bad%0Aname", &token).await, 400).await;

    let response = app.lockable("acquire", "team%2Fjob", &token).await;
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["response"], true);
    assert!(app.lockable_ok("release", "team%2Fjob", &token).await);
}

/// POST works like GET on every operation.
#[tokio::test]
async fn post_is_accepted_like_get() {
    let app = spawn_app().await;
    let token = new_token(&app, json!({"plan": "hobbyist"})).await;
    for (op, expected) in [
        ("acquire", true),
        ("heartbeat", true),
        ("release", true),
        ("release", false),
    ] {
        let response = app
            .client
            .post(app.url(&format!("/v1/{op}/posted")))
            .basic_auth(&token, Some(""))
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["response"], expected, "{op}");
    }
}

/// A plan change applies to the next acquire: the new lease length is used.
#[tokio::test]
async fn a_changed_lease_applies_to_the_next_acquire() {
    let app = spawn_app().await;
    let account = app
        .create_lockable_account(json!({"plan": "business", "leaseSeconds": 600}))
        .await;
    let token = account["token"].as_str().expect("token");
    let other = new_token(&app, json!({"plan": "hobbyist"})).await;
    let path = format!(
        "/lockable/accounts/{}",
        account["accountId"].as_str().expect("id")
    );
    let patched = app
        .admin(reqwest::Method::PATCH, &path)
        .json(&json!({"leaseSeconds": 1}))
        .send()
        .await
        .expect("PATCH");
    assert_eq!(patched.status(), 200);

    assert!(app.lockable_ok("acquire", "short", token).await);
    tokio::time::sleep(Duration::from_millis(1400)).await;
    assert!(
        app.lockable_ok("acquire", "short", &other).await,
        "1 s lease lapsed"
    );
}

/// HEAD on acquire, heartbeat and release changes nothing (poem would run the GET handler): 405
/// with `Allow: GET, POST`, and the lock stays as it was.
#[tokio::test]
async fn head_on_a_state_changing_route_is_405_and_changes_nothing() {
    let app = spawn_app().await;
    let holder = new_token(&app, json!({"plan": "hobbyist"})).await;
    let other = new_token(&app, json!({"plan": "hobbyist"})).await;
    assert!(app.lockable_ok("acquire", "probed", &holder).await);

    for (op, token) in [
        ("release", &holder),
        ("heartbeat", &holder),
        ("acquire", &other),
    ] {
        let response = app
            .client
            .head(app.url(&format!("/v1/{op}/probed")))
            .basic_auth(token, Some(""))
            .send()
            .await
            .expect("HEAD");
        assert_eq!(response.status(), 405, "HEAD {op}");
        assert_eq!(response.headers()["allow"], "GET, POST", "HEAD {op}");
    }
    assert!(
        !app.lockable_ok("acquire", "probed", &other).await,
        "still held by the first account"
    );
    assert!(app.lockable_ok("release", "probed", &holder).await);
}
