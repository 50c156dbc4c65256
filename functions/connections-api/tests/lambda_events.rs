//! The connections router invoked as Lambda invokes it (API Gateway HTTP API v2 payloads).

use std::sync::Arc;

use serde_json::{Value, json};
use tower::ServiceExt;

use fittrack_accounts::crypto::{generate_pii_key, generate_signing_key};
use fittrack_http::lambda_events::api_gateway_v2;
use fittrack_local::{InProcessQueue, SqliteStore};
use fittrack_platform::Config;

fn event(method: &str, path: &str, query: &str, body: Option<Value>) -> lambda_http::Request {
    api_gateway_v2(method, path, query, "198.51.100.9", body.as_ref()).expect("valid API Gateway v2 payload")
}

#[tokio::test]
async fn connections_and_webhooks_answer_through_lambda() {
    let config = Config::from_lookup(|name| match name {
        "FITTRACK_JWT_SIGNING_KEY" => Some(generate_signing_key()),
        "FITTRACK_PII_KEY" => Some(generate_pii_key()),
        "FITTRACK_TRACKER_KEY" => Some(generate_pii_key()),
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
        Arc::new(fittrack_platform::clock::SystemClock),
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
    assert_eq!(response.status(), 401, "the app's callback needs the session that started the flow");
    // Routes of other functions are not mounted here.
    let response = app.oneshot(event("GET", "/api/v1/points/balance", "", None)).await.unwrap();
    assert_eq!(response.status(), 404);
}
