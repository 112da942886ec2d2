//! The OpenAPI documents: checked in, in sync with the code, faithful to the original APIs.

use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_with};

/// Every API and its mount under default settings: the registry's dialects, then the admin API.
fn api_mounts() -> Vec<(&'static str, String)> {
    let settings = lockgate::config::Settings::default();
    lockgate::dialects::DIALECTS
        .iter()
        .map(|dialect| (dialect.name, (dialect.mount)(&settings).to_owned()))
        .chain([("admin", settings.admin.mount.clone())])
        .collect()
}

/// The default mounts are the original services' own paths, so their clients work unchanged;
/// every dialect of the registry has a checked-in document.
#[test]
fn default_mounts_are_the_published_paths() {
    let published = [
        ("maas", "/mutex"),
        ("lockable", "/v1"),
        ("synchronize", "/api"),
        ("sfp", "/sfp/api"),
        ("courses", "/"),
        ("admin", "/admin/v1"),
    ];
    let mounts = api_mounts();
    let mounts: Vec<(&str, &str)> = mounts.iter().map(|(n, m)| (*n, m.as_str())).collect();
    assert_eq!(mounts, published);
    for (name, _) in published {
        assert!(!checked_in(name).is_empty(), "{name}");
    }
}

fn checked_in(name: &str) -> String {
    let path = format!("{}/openapi/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// `openapi/` holds exactly what the code generates; run `lockgate openapi --out openapi` after
/// changing an API.
#[test]
fn checked_in_documents_match_the_code() {
    let documents = lockgate::startup::documents().expect("documents");
    assert!(!documents.is_empty());
    for (name, generated) in documents {
        assert!(
            checked_in(name) == generated,
            "openapi/{name}.json is stale: run `cargo run -- openapi --out openapi`"
        );
    }
}

/// The maas document offers everything the published maas API does (tests/fixtures).
#[test]
fn maas_document_keeps_the_published_contract() {
    check_contract("maas", include_str!("../fixtures/maas-contract.json"));
}

/// The lockable document offers what lockable's documentation describes (tests/fixtures).
#[test]
fn lockable_document_keeps_the_published_contract() {
    check_contract(
        "lockable",
        include_str!("../fixtures/lockable-contract.json"),
    );
}

/// The synchronize document offers what synchronize's document describes (tests/fixtures).
#[test]
fn synchronize_document_keeps_the_published_contract() {
    check_contract(
        "synchronize",
        include_str!("../fixtures/synchronize-contract.json"),
    );
}

/// The courses document offers what the courses page and its models describe
/// (tests/fixtures).
#[test]
fn courses_document_keeps_the_published_contract() {
    check_contract("courses", include_str!("../fixtures/courses-contract.json"));
}

/// The sfp document offers what sfp server's document describes (tests/fixtures).
#[test]
fn sfp_document_keeps_the_published_contract() {
    check_contract("sfp", include_str!("../fixtures/sfp-contract.json"));
}

/// A contract's field: a type name, or `{"type", "format", "enum"}`; checks `got` against it.
fn check_field(got: &Value, want: &Value, what: &str) {
    match want {
        // A capitalised name is another schema of the document.
        Value::String(name) if name.starts_with(char::is_uppercase) => assert_eq!(
            got["$ref"],
            format!("#/components/schemas/{name}"),
            "{what}"
        ),
        Value::String(_) => assert_eq!(&got["type"], want, "{what}"),
        _ => {
            for key in ["type", "format", "enum"] {
                if let Some(expected) = want.get(key) {
                    assert_eq!(&got[key], expected, "{what} {key}");
                }
            }
        }
    }
}

/// Every operation, parameter, response, request body, schema field, (if given) security
/// scheme and documented status of the contract is in the checked-in document `name`.
fn check_contract(name: &str, contract: &str) {
    let contract: Value = serde_json::from_str(contract).expect("fixture");
    let doc: Value = serde_json::from_str(&checked_in(name)).expect("document");

    assert_eq!(doc["info"]["title"], contract["title"]);
    if let Some(version) = contract.get("version") {
        assert_eq!(&doc["info"]["version"], version);
    }
    assert_eq!(doc["servers"][0]["url"], contract["server"]);

    for op in contract["operations"].as_array().expect("operations") {
        let path = op["path"].as_str().expect("path");
        let method = op["method"].as_str().expect("method");
        let found = &doc["paths"][path][method];
        assert!(found.is_object(), "{method} {path} missing");
        assert_eq!(found["operationId"], op["operationId"], "{method} {path}");
        let none = Vec::new();
        let params = found["parameters"].as_array().unwrap_or(&none);
        for want in op["parameters"].as_array().expect("parameters") {
            let got = params
                .iter()
                .find(|p| p["name"] == want["name"])
                .unwrap_or_else(|| panic!("{method} {path}: parameter {} missing", want["name"]));
            assert_eq!(got["in"], want["in"], "{}", want["name"]);
            assert_eq!(
                got["required"].as_bool().unwrap_or(false),
                want["required"].as_bool().expect("required"),
                "{} required",
                want["name"]
            );
            assert_eq!(got["schema"]["type"], want["type"], "{} type", want["name"]);
            if let Some(format) = want.get("format") {
                assert_eq!(&got["schema"]["format"], format, "{} format", want["name"]);
            }
        }
        for (status, schema) in op["responses"].as_object().expect("responses") {
            let name = schema.as_str().expect("name");
            // `[Name]`: an array of `Name`.
            let (schema, name) = match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
                Some(item) => {
                    let array = &found["responses"][status]["content"]
                        ["application/json; charset=utf-8"]["schema"];
                    assert_eq!(array["type"], "array", "{method} {path} {status}");
                    (&array["items"], item)
                }
                None => (
                    &found["responses"][status]["content"]["application/json; charset=utf-8"]
                        ["schema"],
                    name,
                ),
            };
            let reference = schema["$ref"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: response {status} missing"));
            assert_eq!(
                reference,
                format!("#/components/schemas/{name}"),
                "{method} {path} {status}"
            );
        }
        let statuses = contract
            .get("statuses")
            .and_then(|s| s.get(op["operationId"].as_str().expect("id")));
        for status in statuses.and_then(Value::as_array).into_iter().flatten() {
            let status = status.as_u64().expect("status").to_string();
            assert!(
                found["responses"][&status].is_object(),
                "{method} {path}: status {status} undocumented"
            );
        }
        if let Some(body) = op.get("body") {
            let reference = found["requestBody"]["content"]["application/json; charset=utf-8"]
                ["schema"]["$ref"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: no JSON request body"));
            assert_eq!(
                reference,
                format!("#/components/schemas/{}", body.as_str().expect("name"))
            );
            assert_eq!(
                found["requestBody"]["required"], true,
                "{method} {path} body"
            );
        }
        let secured = op
            .get("security")
            .is_none_or(|s| s.as_bool() != Some(false));
        if let (Some(want), true) = (contract.get("security"), secured) {
            let scheme = found["security"][0]
                .as_object()
                .and_then(|s| s.keys().next())
                .unwrap_or_else(|| panic!("{method} {path}: no security"));
            let defined = &doc["components"]["securitySchemes"][scheme];
            assert_eq!(defined["type"], want["type"], "{scheme}");
            assert_eq!(defined["scheme"], want["scheme"], "{scheme}");
            if let Some(name) = want.get("name") {
                assert_eq!(name, scheme, "{method} {path}: security scheme name");
            }
            if let Some(format) = want.get("bearerFormat") {
                assert_eq!(&defined["bearerFormat"], format, "{scheme}");
            }
            if let Some(key) = want.get("keyName") {
                assert_eq!(&defined["name"], key, "{scheme}: header name");
                assert_eq!(&defined["in"], &want["in"], "{scheme}: in");
            }
        }
    }

    for (schema_name, fields) in contract["schemas"].as_object().expect("schemas") {
        let schema = &doc["components"]["schemas"][schema_name];
        assert!(schema.is_object(), "schema {schema_name} missing");
        let required: Vec<&str> = schema["required"]
            .as_array()
            .expect("required list")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for (field, kind) in fields.as_object().expect("fields") {
            assert!(
                required.contains(&field.as_str()),
                "{schema_name}.{field} not required"
            );
            check_field(
                &schema["properties"][field],
                kind,
                &format!("{schema_name}.{field}"),
            );
        }
    }
    let optional = contract.get("optional").and_then(Value::as_object);
    for (schema_name, fields) in optional.into_iter().flatten() {
        let schema = &doc["components"]["schemas"][schema_name];
        assert!(schema.is_object(), "schema {schema_name} missing");
        for (field, kind) in fields.as_object().expect("fields") {
            let what = format!("{schema_name}.{field}");
            assert!(schema["properties"][field].is_object(), "{what} missing");
            check_field(&schema["properties"][field], kind, &what);
        }
    }
}

/// Each API serves its document under its mount, as generated.
#[tokio::test]
async fn each_api_serves_its_document_under_its_mount() {
    let app = spawn_app().await;
    for (name, mount) in api_mounts() {
        let served: Value = app
            .get(&format!("{}/openapi.json", mount.trim_end_matches('/')))
            .await
            .json()
            .await
            .expect("json");
        let stored: Value = serde_json::from_str(&checked_in(name)).expect("json");
        assert_eq!(served, stored, "{name}");
    }
}

/// `/docs` is a Swagger UI page offering every dialect's document, with its assets inline.
#[tokio::test]
async fn swagger_ui_lists_every_dialect() {
    let app = spawn_app().await;
    let response = app.get("/docs").await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.expect("text");
    for (name, mount) in api_mounts() {
        let document = format!("{}/openapi.json", mount.trim_end_matches('/'));
        let option = format!("<option value=\"{document}\">{name}</option>");
        assert!(page.contains(&option), "{option}");
    }
    assert!(page.contains("SwaggerUIBundle"), "the bundle is inlined");
    assert!(page.len() > 100_000, "assets are inlined, not fetched");
}

/// One request that fails, and the status it must fail with.
struct Failing {
    doc: &'static str,
    method: reqwest::Method,
    /// The operation's path as its document writes it.
    documented: &'static str,
    path: String,
    auth: Auth,
    body: Option<Value>,
    status: u16,
}

enum Auth {
    None,
    Basic(String),
    Bearer(String),
    /// The courses dialect's session header.
    Sid(String),
}

/// Each operation's document lists the error statuses it really answers: the failures a client
/// can provoke are each answered with a status that operation documents.
#[tokio::test]
async fn documented_error_statuses_are_the_ones_answered() {
    use reqwest::Method;
    let app = spawn_app().await;
    app.lock_ok("held").await;
    let token = crate::helpers::new_token(&app, serde_json::json!({"plan": "hobbyist"})).await;
    let key = app.sync_user().await;
    let long = "n".repeat(300);
    let wrong_id = uuid::Uuid::new_v4();
    let admin = crate::helpers::ADMIN_TOKEN.to_owned();
    let sfp = app.sfp_token("svc", "owner");
    let sfp_viewer = app.sfp_token("svc", "viewer");
    let sid = app
        .admin(Method::POST, "/course-sessions")
        .json(&serde_json::json!({"userId": "u"}))
        .send()
        .await
        .expect("POST")
        .json::<Value>()
        .await
        .expect("json")["sid"]
        .as_str()
        .expect("sid")
        .to_owned();
    let case = |doc, method, documented, path: String, auth, body, status| Failing {
        doc,
        method,
        documented,
        path,
        auth,
        body,
        status,
    };
    let lock_body = serde_json::json!({"lockName": "x", "requester": "r"});
    let unlock_body = serde_json::json!({"lockName": "never", "leaseId": "x"});
    let cases = [
        case(
            "maas",
            Method::GET,
            "/lock/{name}",
            format!("/mutex/lock/{long}"),
            Auth::None,
            None,
            400,
        ),
        case(
            "maas",
            Method::PUT,
            "/lock/{name}",
            "/mutex/lock/held?timeout=0".into(),
            Auth::None,
            None,
            408,
        ),
        case(
            "maas",
            Method::PUT,
            "/lock/{name}",
            "/mutex/lock/x?timeout=-1".into(),
            Auth::None,
            None,
            400,
        ),
        case(
            "maas",
            Method::DELETE,
            "/lock/{name}",
            format!("/mutex/lock/free?mutex_id={wrong_id}"),
            Auth::None,
            None,
            404,
        ),
        case(
            "maas",
            Method::DELETE,
            "/lock/{name}",
            format!("/mutex/lock/held?mutex_id={wrong_id}"),
            Auth::None,
            None,
            403,
        ),
        case(
            "maas",
            Method::DELETE,
            "/lock/{name}",
            "/mutex/lock/held?mutex_id=not-a-uuid".into(),
            Auth::None,
            None,
            400,
        ),
        case(
            "lockable",
            Method::GET,
            "/acquire/{name}",
            "/v1/acquire/x".into(),
            Auth::None,
            None,
            401,
        ),
        case(
            "lockable",
            Method::POST,
            "/release/{name}",
            format!("/v1/release/{long}"),
            Auth::Basic(token),
            None,
            400,
        ),
        case(
            "synchronize",
            Method::POST,
            "/v0/lock",
            "/api/v0/lock".into(),
            Auth::None,
            Some(lock_body),
            401,
        ),
        case(
            "synchronize",
            Method::GET,
            "/v0/lock",
            "/api/v0/lock?lockName=never".into(),
            Auth::Bearer(key.clone()),
            None,
            404,
        ),
        case(
            "synchronize",
            Method::POST,
            "/v0/unlock",
            "/api/v0/unlock".into(),
            Auth::Bearer(key),
            Some(unlock_body),
            404,
        ),
        case(
            "sfp",
            Method::POST,
            "/locks",
            "/sfp/api/locks".into(),
            Auth::Bearer(sfp.clone()),
            Some(
                serde_json::json!({"repository": "r", "resource": "x", "leaseDurationSeconds": 0}),
            ),
            400,
        ),
        case(
            "sfp",
            Method::POST,
            "/locks",
            "/sfp/api/locks".into(),
            Auth::None,
            None,
            401,
        ),
        case(
            "sfp",
            Method::GET,
            "/locks/{repository}/{resource}",
            "/sfp/api/locks/r/x".into(),
            Auth::Bearer(sfp_viewer),
            None,
            403,
        ),
        case(
            "sfp",
            Method::GET,
            "/locks/{repository}/{resource}/{ticketId}",
            format!("/sfp/api/locks/r/x/{wrong_id}"),
            Auth::Bearer(sfp.clone()),
            None,
            404,
        ),
        case(
            "sfp",
            Method::POST,
            "/locks/{repository}/{resource}/{ticketId}/acquire",
            "/sfp/api/locks/r/x/not-a-ticket/acquire".into(),
            Auth::Bearer(sfp.clone()),
            None,
            404,
        ),
        case(
            "sfp",
            Method::DELETE,
            "/locks/{repository}/{resource}",
            format!("/sfp/api/locks/{long}/x"),
            Auth::Bearer(sfp),
            None,
            400,
        ),
        case(
            "courses",
            Method::GET,
            "/locks",
            "/locks?subject.courseId=algebra101".into(),
            Auth::None,
            None,
            401,
        ),
        case(
            "courses",
            Method::GET,
            "/locks",
            "/locks?subject.courseId=nocourse1".into(),
            Auth::Sid(sid.clone()),
            None,
            404,
        ),
        case(
            "courses",
            Method::POST,
            "/locks",
            "/locks".into(),
            Auth::Sid(sid.clone()),
            Some(serde_json::json!({"type": "gadget"})),
            400,
        ),
        case(
            "courses",
            Method::DELETE,
            "/locks/{lockId}",
            "/locks/12345".into(),
            Auth::Sid(sid),
            None,
            404,
        ),
        case(
            "admin",
            Method::GET,
            "/courses/{courseId}",
            "/admin/v1/courses/nocourse1".into(),
            Auth::Bearer(admin.clone()),
            None,
            404,
        ),
        case(
            "admin",
            Method::DELETE,
            "/course-sessions/{sessionId}",
            "/admin/v1/course-sessions/none".into(),
            Auth::Bearer(admin.clone()),
            None,
            404,
        ),
        case(
            "admin",
            Method::GET,
            "/lockable/accounts/{accountId}",
            "/admin/v1/lockable/accounts/none".into(),
            Auth::Bearer(admin),
            None,
            404,
        ),
        case(
            "admin",
            Method::DELETE,
            "/synchronize/users/{userId}",
            "/admin/v1/synchronize/users/none".into(),
            Auth::Bearer("wrong".into()),
            None,
            401,
        ),
    ];
    for failing in cases {
        let Failing {
            doc,
            method,
            documented,
            path,
            auth,
            body,
            status,
        } = failing;
        let mut request = app.client.request(method.clone(), app.url(&path));
        request = match auth {
            Auth::None => request,
            Auth::Basic(user) => request.basic_auth(user, Some("")),
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Sid(sid) => request.header("SID", sid),
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answered = request.send().await.expect("send").status().as_u16();
        assert_eq!(answered, status, "{method} {path}");
        let document: Value = serde_json::from_str(&checked_in(doc)).expect("json");
        let responses = &document["paths"][documented][method.as_str().to_lowercase()]["responses"];
        assert!(
            responses.get(status.to_string()).is_some(),
            "{doc} {method} {documented} answers {status} but documents {responses}"
        );
    }
}

/// Mounts are configurable: every API answers under the mount it is given (its document names
/// it as its server), and no longer under the default.
#[tokio::test]
async fn every_api_answers_under_the_mount_it_is_given() {
    let app = spawn_app_with(|settings| {
        settings.maas.mount = "/tools/mutex".into();
        settings.lockable.mount = "/tools/lockable".into();
        settings.synchronize.mount = "/tools/sync".into();
        settings.sfp.mount = "/tools/sfp".into();
        settings.courses.mount = "/tools/courses".into();
        settings.admin.mount = "/ops".into();
    })
    .await;
    let body = app.lock_ok("moved").await;
    assert_eq!(body["is_locked"], true);
    let token = crate::helpers::new_token(&app, serde_json::json!({"plan": "hobbyist"})).await;
    assert!(app.lockable_ok("acquire", "moved", &token).await);
    app.sync_user().await;
    let sfp = app
        .client
        .get(app.url("/tools/sfp/locks/repo/moved"))
        .bearer_auth(app.sfp_token("svc", "owner"))
        .send()
        .await
        .expect("GET");
    assert_eq!(sfp.status(), 200);
    let courses = app
        .get("/tools/courses/locks?subject.courseId=algebra101")
        .await;
    assert_eq!(courses.status(), 401);
    let body: Value = courses.json().await.expect("json");
    assert_eq!(
        body["message"], "Invalid credentials",
        "courses' error shape"
    );
    assert_eq!(app.get("/mutex/lock/moved").await.status(), 404);
    let document: Value = app
        .get("/tools/mutex/openapi.json")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(document["servers"][0]["url"], "/tools/mutex");
}
