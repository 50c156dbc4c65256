//! The points router invoked as Lambda invokes it (API Gateway HTTP API v2 payloads).

use std::sync::Arc;

use serde_json::{Value, json};
use tower::ServiceExt;

use fittrack_accounts::build::{BuildOptions, account_service};
use fittrack_accounts::crypto::{generate_pii_key, generate_signing_key};
use fittrack_http::lambda_events::api_gateway_v2;
use fittrack_local::{InProcessQueue, SqliteStore};
use fittrack_platform::Config;
use fittrack_platform::clock::SystemClock;

fn event(method: &str, path: &str, body: Option<Value>) -> lambda_http::Request {
    api_gateway_v2(method, path, "", "198.51.100.9", body.as_ref()).expect("valid API Gateway v2 payload")
}

#[tokio::test]
async fn points_routes_answer_through_lambda_and_require_a_session() {
    // As deployed: the public key only; this function verifies tokens and never signs. The
    // accounts function (the signing key) signs a user in on the same tables.
    let signing = generate_signing_key();
    let public = fittrack_accounts::crypto::JwtKeys::from_pkcs8(&signing).unwrap().public_key().to_owned();
    let pii = generate_pii_key();
    let lookup = |signing: Option<String>| {
        let (public, pii) = (public.clone(), pii.clone());
        Config::from_lookup(move |name| match name {
            "FITTRACK_JWT_SIGNING_KEY" => signing.clone(),
            "FITTRACK_JWT_PUBLIC_KEY" => Some(public.clone()),
            "FITTRACK_PII_KEY" => Some(pii.clone()),
            _ => None,
        })
        .unwrap()
    };
    let config = lookup(None);
    assert!(config.jwt_signing_key.is_none());
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let options = BuildOptions {
        passwords: fittrack_accounts::crypto::PasswordHasher::with_cost(8, 1),
        ..BuildOptions::default()
    };
    let app = points_api::app(&config, store.clone(), Arc::new(SystemClock)).unwrap();

    let signer = account_service(&lookup(Some(signing)), store, Arc::new(InProcessQueue::default()), options).unwrap();
    let new = fittrack_accounts::NewUser {
        email: "ada@example.com".into(),
        password: "correct horse battery staple".into(),
        display_name: "Ada".into(),
        role: fittrack_domain::Role::User,
    };
    signer.create_user(new).await.unwrap();
    let client = fittrack_accounts::ClientInfo::default();
    let tokens = signer.login("ada@example.com", "correct horse battery staple".into(), None, &client).await.unwrap();
    let mut signed_in = event("GET", "/api/v1/points/balance", None);
    signed_in.headers_mut().insert("authorization", format!("Bearer {}", tokens.access_token).parse().unwrap());
    let response = app.clone().oneshot(signed_in).await.unwrap();
    assert_eq!(response.status(), 403, "verified with the public key; the profile gate answers next");

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
