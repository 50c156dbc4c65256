//! The API contract: `docs/openapi.json` is the document the code generates, every documented
//! operation is served, and what it answers matches the document (every other end-to-end test
//! checks its own answers the same way, through `fittrack_tests::conformance`).

use serde_json::Value;

use fittrack_tests::server::{Backend, Settings, spawn_app};

fn committed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json")
}

/// Fails when a route, a schema or a problem code changed without the committed document; run
/// with `UPDATE_OPENAPI=1` to rewrite it (then review the diff like code).
#[test]
fn openapi_document_is_current() {
    let generated = serde_json::to_string_pretty(&fittrack_http::openapi::document()).unwrap() + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(committed_path(), &generated).unwrap();
    }
    let committed = std::fs::read_to_string(committed_path()).unwrap();
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p fittrack-tests --test api openapi_document`"
    );
}

#[tokio::test]
async fn every_documented_operation_is_served_and_answers_as_documented() {
    let app = spawn_app(Settings::new(Backend::Embedded)).await;
    let document = app.conformance.document().clone();
    assert_eq!(document["openapi"], "3.1.0");
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.push((method.clone(), path.clone()));
        }
    }
    assert!(operations.len() >= 40, "every route of every function is documented: {}", operations.len());
    // Answers are checked as sent: a redirect is not followed.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for (method, path) in &operations {
        // Path parameters get a value of the right shape; no credentials, an empty JSON body.
        let concrete = path
            .replace("{id}", "0190b7c0-0000-7000-8000-000000000000")
            .replace("{provider}", "simulated")
            .replace("{code}", "M-30-39-INT");
        let url = format!("{}{concrete}", app.base);
        let request = http.request(method.to_uppercase().parse().unwrap(), url);
        let request = if ["post", "put", "patch"].contains(&method.as_str()) {
            request.header("content-type", "application/json").body("{}")
        } else {
            request
        };
        let response = request.send().await.unwrap();
        assert_ne!(response.status(), 405, "{method} {path} is documented but not served");
        assert_ne!(response.status(), 500, "{method} {path}: {}", response.text().await.unwrap());
    }
    let seen = app.conformance.seen();
    for (method, path) in &operations {
        assert!(
            seen.iter().any(|(m, p, _)| m == method && p == path),
            "{method} {path} is documented but no route answered it"
        );
    }
    let violations = app.conformance.violations();
    assert!(violations.is_empty(), "answers that differ from the document: {violations:#?}");
}

#[tokio::test]
async fn the_reference_is_served() {
    let app = spawn_app(Settings::new(Backend::Embedded)).await;
    let served: Value = app.http.get(format!("{}/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    let committed: Value = serde_json::from_str(fittrack_http::openapi::SERVED_DOCUMENT).unwrap();
    assert_eq!(served, committed);
    let docs = app.http.get(format!("{}/docs", app.base)).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = docs.text().await.unwrap();
    assert!(page.contains("POST /api/v1/auth/login") && page.contains("GET /api/v1/points/balance"), "{page}");
}
