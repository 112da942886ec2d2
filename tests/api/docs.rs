//! The OpenAPI documents: checked in, in sync with the code, faithful to the original APIs.

use serde_json::Value;

use crate::helpers::{spawn_app, test_settings, TestRedis};

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

/// Every operation, parameter, response, request body, schema field and (if given) security
/// scheme of the contract is in the checked-in document `name`.
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
            let reference = found["responses"][status]["content"]
                ["application/json; charset=utf-8"]["schema"]["$ref"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: response {status} missing"));
            assert_eq!(
                reference,
                format!("#/components/schemas/{}", schema.as_str().expect("name")),
                "{method} {path} {status}"
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
            assert_eq!(
                &schema["properties"][field]["type"], kind,
                "{schema_name}.{field}"
            );
        }
    }
}

/// Each API serves its document under its mount, as generated.
#[tokio::test]
async fn each_api_serves_its_document_under_its_mount() {
    let redis = TestRedis::start().await;
    let app = spawn_app(test_settings(redis.url())).await;
    for (name, mount) in api_mounts() {
        let served: Value = app
            .get(&format!("{mount}/openapi.json"))
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
    let redis = TestRedis::start().await;
    let app = spawn_app(test_settings(redis.url())).await;
    let response = app.get("/docs").await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.expect("text");
    for (name, mount) in api_mounts() {
        let option = format!("<option value=\"{mount}/openapi.json\">{name}</option>");
        assert!(page.contains(&option), "{option}");
    }
    assert!(page.contains("SwaggerUIBundle"), "the bundle is inlined");
    assert!(page.len() > 100_000, "assets are inlined, not fetched");
}
