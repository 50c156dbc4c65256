//! The connections router invoked as Lambda invokes it (API Gateway HTTP API v2 payloads).

use std::sync::Arc;

use serde_json::{Value, json};
use tower::ServiceExt;

use fittrack_core::Config;
use fittrack_core::crypto::{generate_pii_key, generate_signing_key};
use fittrack_local::{InProcessQueue, SqliteStore};

fn event(method: &str, path: &str, query: &str, body: Option<Value>) -> lambda_http::Request {
    let event = json!({
        "version": "2.0", "routeKey": format!("{method} {path}"), "rawPath": path, "rawQueryString": query,
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
async fn connections_and_webhooks_answer_through_lambda() {
    let config = Config::from_lookup(|name| match name {
        "FITTRACK_JWT_SIGNING_KEY" => Some(generate_signing_key()),
        "FITTRACK_PII_KEY" => Some(generate_pii_key()),
        "FITTRACK_STRAVA_WEBHOOK_VERIFY_TOKEN" => Some("verify-me".into()),
        "FITTRACK_STRAVA_CLIENT_ID" => Some("client".into()),
        _ => None,
    })
    .unwrap();
    let trackers = fittrack_trackers::configured(&config.trackers).unwrap();
    let app = connections_api::app(
        &config,
        Arc::new(SqliteStore::in_memory().unwrap()),
        Arc::new(InProcessQueue::default()),
        trackers,
    )
    .unwrap();

    let response = app.clone().oneshot(event("GET", "/api/v1/connections", "", None)).await.unwrap();
    assert_eq!(response.status(), 401, "connections need a session");
    let query = "hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=abc";
    let response = app.clone().oneshot(event("GET", "/api/v1/webhooks/strava", query, None)).await.unwrap();
    assert_eq!(response.status(), 200);
    let query = "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=abc";
    let response = app.clone().oneshot(event("GET", "/api/v1/webhooks/strava", query, None)).await.unwrap();
    assert_eq!(response.status(), 403);
    let forged = json!({"state": "forged", "code": "c"});
    let response =
        app.clone().oneshot(event("POST", "/api/v1/connections/strava/callback", "", Some(forged))).await.unwrap();
    assert_eq!(response.status(), 400);
    // Routes of other functions are not mounted here.
    let response = app.oneshot(event("GET", "/api/v1/points/balance", "", None)).await.unwrap();
    assert_eq!(response.status(), 404);
}
