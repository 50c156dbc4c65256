//! The leaderboards router invoked as Lambda invokes it (API Gateway HTTP API v2 payloads).

use std::sync::Arc;

use tower::ServiceExt;

use fittrack_http::lambda_events::api_gateway_v2;
use fittrack_local::SqliteStore;
use fittrack_platform::clock::SystemClock;

fn event(method: &str, path: &str) -> lambda_http::Request {
    api_gateway_v2(method, path, "", "198.51.100.9", None).expect("valid API Gateway v2 payload")
}

#[tokio::test]
async fn leaderboard_routes_answer_through_lambda_and_require_a_session() {
    // As deployed: the public key only (this function verifies tokens and never signs).
    let config = fittrack_http::lambda_events::verifying_config();
    let app =
        leaderboards_api::app(&config, Arc::new(SqliteStore::in_memory().unwrap()), Arc::new(SystemClock)).unwrap();

    for path in ["/api/v1/leaderboards/weekly", "/api/v1/leaderboards/weekly/me", "/api/v1/users/me/ranks"] {
        let response = app.clone().oneshot(event("GET", path)).await.unwrap();
        assert_eq!(response.status(), 401, "{path} needs a session");
    }
    let response = app.clone().oneshot(event("GET", "/health/live")).await.unwrap();
    assert_eq!(response.status(), 200);
    // Routes of other functions are not mounted here.
    let response = app.oneshot(event("GET", "/api/v1/points/balance")).await.unwrap();
    assert_eq!(response.status(), 404);
}
