//! The points router invoked as Lambda invokes it (API Gateway HTTP API v2 payloads).

use std::sync::Arc;

use serde_json::{Value, json};
use tower::ServiceExt;

use fittrack_core::Config;
use fittrack_core::app::{BuildOptions, account_service, points_engine};
use fittrack_core::crypto::{generate_pii_key, generate_signing_key};
use fittrack_http::lambda_events::api_gateway_v2;
use fittrack_http::{AppState, points_app};
use fittrack_local::{InProcessQueue, SqliteStore};

fn event(method: &str, path: &str, body: Option<Value>) -> lambda_http::Request {
    api_gateway_v2(method, path, "", "198.51.100.9", body.as_ref()).expect("valid API Gateway v2 payload")
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
