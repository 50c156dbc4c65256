//! The admin router invoked as Lambda invokes it (API Gateway HTTP API v2 payloads).

use std::sync::Arc;

use tower::ServiceExt;

use fittrack_http::lambda_events::api_gateway_v2;
use fittrack_local::SqliteStore;
use fittrack_platform::clock::SystemClock;

fn event(method: &str, path: &str) -> lambda_http::Request {
    api_gateway_v2(method, path, "", "198.51.100.9", None).expect("valid API Gateway v2 payload")
}

#[tokio::test]
async fn admin_routes_answer_through_lambda_and_need_a_session() {
    let config = fittrack_http::lambda_events::verifying_config();
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let app = admin_api::app(&config, store, Arc::new(SystemClock)).unwrap();
    let id = "0192f0c1-7a2b-7c3d-8e4f-0123456789ab";
    for (method, path) in [
        ("GET", "/api/v1/admin/users".to_owned()),
        ("GET", format!("/api/v1/admin/users/{id}")),
        ("PUT", format!("/api/v1/admin/users/{id}/status")),
        ("POST", format!("/api/v1/admin/users/{id}/adjust-points")),
        ("GET", format!("/api/v1/admin/users/{id}/actions")),
        ("GET", "/api/v1/admin/actions".to_owned()),
    ] {
        let response = app.clone().oneshot(event(method, &path)).await.unwrap();
        assert_eq!(response.status(), 401, "{method} {path} needs a session");
    }
    let response = app.clone().oneshot(event("GET", "/health/live")).await.unwrap();
    assert_eq!(response.status(), 200);
    // Routes of other functions are not mounted here.
    let response = app.oneshot(event("GET", "/api/v1/notifications")).await.unwrap();
    assert_eq!(response.status(), 404);
}
