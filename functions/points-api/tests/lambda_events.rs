//! The points router invoked as Lambda invokes it (API Gateway HTTP API v2 payloads).

use std::sync::Arc;

use serde_json::{Value, json};
use tower::ServiceExt;

use fittrack_core::Config;
use fittrack_core::app::{BuildOptions, account_service, points_engine};
use fittrack_core::crypto::{generate_pii_key, generate_signing_key};
use fittrack_http::{AppState, points_app};
use fittrack_local::{InProcessQueue, SqliteStore};

fn event(method: &str, path: &str, body: Option<Value>) -> lambda_http::Request {
    let event = json!({
        "version": "2.0", "routeKey": format!("{method} {path}"), "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "api.fittrack.test"},
        "requestContext": {"accountId": "123456789012", "apiId": "api", "domainName": "api.fittrack.test",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "198.51.100.9", "userAgent": "t"},
            "requestId": "r", "routeKey": format!("{method} {path}"), "stage": "$default", "time": "22/Nov/2026:00:00:00 +0000", "timeEpoch": 0},
        "body": body.map(|b| b.to_string()),
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).expect("valid API Gateway v2 payload")
}

#[tokio::test]
async fn points_routes_answer_through_lambda_and_require_a_session() {
    let config = Config::from_lookup(|name| match name {
        "FITTRACK_JWT_SIGNING_KEY" => Some(generate_signing_key()),
        "FITTRACK_PII_KEY" => Some(generate_pii_key()),
        _ => None,
    })
    .unwrap();
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let options = BuildOptions::default();
    let points = points_engine(store.clone(), &options);
    let accounts = account_service(&config, store, Arc::new(InProcessQueue::default()), options).unwrap();
    let app = points_app(AppState::new(&config, accounts, points));

    let response = app.clone().oneshot(event("GET", "/api/v1/points/balance", None)).await.unwrap();
    assert_eq!(response.status(), 401);
    let batch = json!({"batch_id": "b", "source": "healthkit", "device_id": "iphone", "records": []});
    let response = app.clone().oneshot(event("POST", "/api/v1/ingest/batches", Some(batch))).await.unwrap();
    assert_eq!(response.status(), 401, "no upload without a session");
    let response = app.clone().oneshot(event("GET", "/health/live", None)).await.unwrap();
    assert_eq!(response.status(), 200);
    // Routes of other functions are not mounted here.
    let response = app.oneshot(event("GET", "/api/v1/users/me", None)).await.unwrap();
    assert_eq!(response.status(), 404);
}
