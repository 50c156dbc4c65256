//! The drawings router invoked as Lambda invokes it (API Gateway HTTP API v2 payloads).

use std::sync::Arc;

use tower::ServiceExt;

use fittrack_http::lambda_events::api_gateway_v2;
use fittrack_local::{InProcessQueue, SqliteStore};
use fittrack_platform::clock::SystemClock;

fn event(method: &str, path: &str) -> lambda_http::Request {
    api_gateway_v2(method, path, "", "198.51.100.9", None).expect("valid API Gateway v2 payload")
}

#[tokio::test]
async fn drawing_routes_answer_through_lambda_public_ones_without_a_session() {
    // As deployed: the public key only (this function verifies tokens and never signs).
    let config = fittrack_http::lambda_events::verifying_config();
    let clock = Arc::new(SystemClock);
    let beacon = Arc::new(fittrack_beacons::CommitRevealBeacon::new(clock.clone()));
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let app = drawings_api::app(&config, store, clock, Arc::new(InProcessQueue::default()), beacon).unwrap();

    let id = "0192f0c0a0b0c0d0e0f00112233445566"[..32].to_owned();
    for (method, path) in [
        ("GET", "/api/v1/drawings".to_owned()),
        ("POST", format!("/api/v1/drawings/{id}/free-entry")),
        ("GET", format!("/api/v1/drawings/{id}/my-tickets")),
        ("POST", "/api/v1/admin/drawings".to_owned()),
        ("GET", "/api/v1/admin/sponsors".to_owned()),
    ] {
        let response = app.clone().oneshot(event(method, &path)).await.unwrap();
        assert_eq!(response.status(), 401, "{method} {path} needs a session");
    }
    // Published files need none: an unknown drawing is simply not found.
    for what in ["rules", "results", "snapshot"] {
        let response = app.clone().oneshot(event("GET", &format!("/api/v1/drawings/{id}/{what}"))).await.unwrap();
        assert_eq!(response.status(), 404, "{what}");
    }
    let response = app.clone().oneshot(event("GET", "/health/live")).await.unwrap();
    assert_eq!(response.status(), 200);
    // Routes of other functions are not mounted here.
    let response = app.oneshot(event("GET", "/api/v1/points/balance")).await.unwrap();
    assert_eq!(response.status(), 404);
}
