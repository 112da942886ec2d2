//! The admin API: lockable accounts, its authentication, and the disabled mode.

use serde_json::json;

use crate::helpers::{assert_message_error, spawn_app, spawn_app_with, ADMIN_TOKEN};

/// Creating an account answers 201 with its settings and a token; plans set their defaults.
#[tokio::test]
async fn create_answers_201_with_the_account_and_its_token() {
    let app = spawn_app().await;

    let hobbyist = app
        .create_lockable_account(json!({"plan": "hobbyist", "label": "team a"}))
        .await;
    assert_eq!(hobbyist["plan"], "hobbyist");
    assert_eq!(hobbyist["leaseSeconds"], 60);
    assert_eq!(hobbyist["privateNamespace"], false);
    assert_eq!(hobbyist["label"], "team a");
    let id = hobbyist["accountId"].as_str().expect("id");
    assert!(uuid::Uuid::parse_str(id).is_ok());
    let token = hobbyist["token"].as_str().expect("token");
    let secret = token.split_once('.').expect("shape").1;
    assert!(secret.len() >= 32, "at least 128 bits");
    assert!(hobbyist["createdAt"]
        .as_str()
        .expect("createdAt")
        .ends_with('Z'));

    let business = app
        .create_lockable_account(
            json!({"plan": "business", "leaseSeconds": 120, "privateNamespace": true}),
        )
        .await;
    assert_eq!(business["leaseSeconds"], 120);
    assert_eq!(business["privateNamespace"], true);
    assert_ne!(business["token"], hobbyist["token"]);
}

/// Only a hash of the token is stored: no value in Redis contains the token's secret.
#[tokio::test]
async fn the_token_is_stored_only_as_a_hash() {
    let app = crate::helpers::spawn_app().await;
    let prefix = app.settings().redis.key_prefix.clone();
    let account = app
        .create_lockable_account(json!({"plan": "hobbyist"}))
        .await;
    let secret = account["token"]
        .as_str()
        .expect("token")
        .split_once('.')
        .expect("shape")
        .1
        .to_owned();

    app.redis.assert_stored_nowhere(&prefix, &secret).await;
}

/// Settings that break a plan's rules, unknown fields and bad JSON: 400 with a message.
#[tokio::test]
async fn invalid_accounts_are_refused_with_400() {
    let app = spawn_app().await;
    let bodies = [
        json!({"plan": "hobbyist", "leaseSeconds": 30}),
        json!({"plan": "hobbyist", "privateNamespace": true}),
        json!({"plan": "business", "leaseSeconds": 0}),
        json!({"plan": "business", "leaseSeconds": 86_401}),
        json!({"plan": "enterprise"}),
        json!({"leaseSeconds": 30}),
        json!({"plan": "business", "lease_seconds": 30}),
        json!({"plan": "hobbyist", "label": "x".repeat(257)}),
        json!({"plan": "hobbyist", "label": 5}),
    ];
    for body in bodies {
        let response = app
            .admin(reqwest::Method::POST, "/lockable/accounts")
            .json(&body)
            .send()
            .await
            .expect("POST");
        assert_message_error(response, 400).await;
    }
    let broken = app
        .admin(reqwest::Method::POST, "/lockable/accounts")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("POST");
    assert_message_error(broken, 400).await;
}

/// Show, change and revoke an account; afterwards it is gone (404).
#[tokio::test]
async fn an_account_can_be_shown_changed_and_revoked() {
    let app = spawn_app().await;
    let created = app
        .create_lockable_account(
            json!({"plan": "business", "leaseSeconds": 30, "privateNamespace": true, "label": "x"}),
        )
        .await;
    let path = format!(
        "/lockable/accounts/{}",
        created["accountId"].as_str().expect("id")
    );

    let shown: serde_json::Value = app
        .admin(reqwest::Method::GET, &path)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(shown["leaseSeconds"], 30);
    assert!(
        shown.get("token").is_none(),
        "the token is shown only at creation"
    );

    let changed: serde_json::Value = app
        .admin(reqwest::Method::PATCH, &path)
        .json(&json!({"leaseSeconds": 45, "label": ""}))
        .send()
        .await
        .expect("PATCH")
        .json()
        .await
        .expect("json");
    assert_eq!(changed["leaseSeconds"], 45);
    assert_eq!(changed["privateNamespace"], true, "untouched");
    assert!(changed["label"].is_null(), "an empty label clears it");

    let downgraded: serde_json::Value = app
        .admin(reqwest::Method::PATCH, &path)
        .json(&json!({"plan": "hobbyist"}))
        .send()
        .await
        .expect("PATCH")
        .json()
        .await
        .expect("json");
    assert_eq!(downgraded["leaseSeconds"], 60);
    assert_eq!(downgraded["privateNamespace"], false);
    let refused = app
        .admin(reqwest::Method::PATCH, &path)
        .json(&json!({"leaseSeconds": 10}))
        .send()
        .await
        .expect("PATCH");
    assert_message_error(refused, 400).await;

    let revoked = app
        .admin(reqwest::Method::DELETE, &path)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(revoked.status(), 200);
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let gone = app.admin(method, &path).send().await.expect("sent");
        assert_message_error(gone, 404).await;
    }
    let patch_gone = app
        .admin(reqwest::Method::PATCH, &path)
        .json(&json!({"label": "y"}))
        .send()
        .await
        .expect("PATCH");
    assert_message_error(patch_gone, 404).await;
}

/// No admin token or a wrong one: 401 JSON, and nothing is created.
#[tokio::test]
async fn admin_calls_need_the_admin_token() {
    let app = spawn_app().await;
    let requests = [
        app.client.post(app.url("/admin/v1/lockable/accounts")),
        app.client
            .post(app.url("/admin/v1/lockable/accounts"))
            .bearer_auth("wrong-token"),
        app.client
            .post(app.url("/admin/v1/lockable/accounts"))
            .bearer_auth(format!("{ADMIN_TOKEN}x")),
        app.client
            .post(app.url("/admin/v1/lockable/accounts"))
            .basic_auth(ADMIN_TOKEN, Some("")),
    ];
    for request in requests {
        let response = request
            .json(&json!({"plan": "hobbyist"}))
            .send()
            .await
            .expect("POST");
        assert_message_error(response, 401).await;
    }
    let get = app.get("/admin/v1/lockable/accounts/anything").await;
    assert_message_error(get, 401).await;
}

/// Without `admin.token` the admin API is disabled: every call, its document included, is 404
/// JSON; the dialects work as ever.
#[tokio::test]
async fn without_an_admin_token_the_admin_api_is_disabled() {
    let app = spawn_app_with(|settings| {
        settings.admin.token = String::new();
    })
    .await;
    for path in [
        "/admin/v1/lockable/accounts",
        "/admin/v1/lockable/accounts/x",
        "/admin/v1/openapi.json",
    ] {
        for method in [reqwest::Method::GET, reqwest::Method::POST] {
            let response = app
                .client
                .request(method, app.url(path))
                .bearer_auth(ADMIN_TOKEN)
                .json(&json!({"plan": "hobbyist"}))
                .send()
                .await
                .expect("sent");
            let message = assert_message_error(response, 404).await;
            assert!(message.contains("disabled"), "{message}");
        }
    }
    let docs = app.get("/docs").await.text().await.expect("text");
    assert!(
        !docs.contains("/admin/v1/openapi.json"),
        "not offered in /docs"
    );
    assert_eq!(app.lock("still-works", Some(0)).await.status(), 200);
}
