//! The accounts router invoked as Lambda invokes it: API Gateway HTTP API (v2) payloads parsed by
//! `lambda_http`, with the client address taken from the request context.

use std::sync::Arc;

use axum::Router;
use serde_json::{Value, json};
use tower::ServiceExt;

use fittrack_accounts::build::BuildOptions;
use fittrack_accounts::crypto::{PasswordHasher, generate_pii_key, generate_signing_key};
use fittrack_local::{InProcessQueue, SqliteStore};
use fittrack_platform::Config;
use fittrack_platform::config::{RateLimit, RateLimitedAction};

const FIXTURE: &str = include_str!("fixtures/apigw_v2_register.json");

fn router() -> Router {
    let mut config = Config::from_lookup(|name| match name {
        "FITTRACK_JWT_SIGNING_KEY" => Some(generate_signing_key()),
        "FITTRACK_PII_KEY" => Some(generate_pii_key()),
        _ => None,
    })
    .unwrap();
    config.rate_limits.0.insert(RateLimitedAction::Register, RateLimit::per(2, 60));
    let options = BuildOptions { passwords: PasswordHasher::with_cost(256, 1), ..BuildOptions::default() };
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    accounts_api::app(&config, store, Arc::new(InProcessQueue::default()), options).unwrap()
}

fn register_event(source_ip: &str, body: &Value) -> lambda_http::Request {
    let mut event: Value = serde_json::from_str(FIXTURE).unwrap();
    event["requestContext"]["http"]["sourceIp"] = json!(source_ip);
    event["body"] = json!(body.to_string());
    lambda_http::request::from_str(&event.to_string()).expect("valid API Gateway v2 payload")
}

fn registration(n: u32) -> Value {
    json!({"email": format!("lambda{n}@example.com"), "password": "correct horse battery staple",
        "display_name": "Lambda", "date_of_birth": "1990-01-01", "state": "WA"})
}

async fn status_of(app: &Router, request: lambda_http::Request) -> (u16, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn api_gateway_v2_events_reach_the_router() {
    let app = router();
    let (status, body) = status_of(&app, register_event("198.51.100.7", &registration(1))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "verification_pending");

    let (status, body) = status_of(&app, register_event("198.51.100.7", &json!({"email": 1}))).await;
    assert_eq!(status, 422);
    assert_eq!(body["code"], "invalid_body");
}

#[tokio::test]
async fn rate_limits_key_on_the_api_gateway_source_ip_not_forwarded_headers() {
    let app = router();
    for n in 0..2 {
        assert_eq!(status_of(&app, register_event("198.51.100.7", &registration(n))).await.0, 201);
    }
    // The fixture's X-Forwarded-For stays the same while the source differs, and vice versa: only
    // the source IP counts unless forwarding headers are explicitly trusted.
    let (status, body) = status_of(&app, register_event("198.51.100.7", &registration(3))).await;
    assert_eq!(status, 429);
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(status_of(&app, register_event("198.51.100.8", &registration(4))).await.0, 201);
}

#[tokio::test]
async fn health_and_jwks_answer_through_lambda() {
    let app = router();
    let mut event: Value = serde_json::from_str(FIXTURE).unwrap();
    event["rawPath"] = json!("/.well-known/jwks.json");
    event["requestContext"]["http"]["path"] = json!("/.well-known/jwks.json");
    event["requestContext"]["http"]["method"] = json!("GET");
    event["body"] = Value::Null;
    let (status, body) = status_of(&app, lambda_http::request::from_str(&event.to_string()).unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["keys"][0]["alg"], "EdDSA");
}
