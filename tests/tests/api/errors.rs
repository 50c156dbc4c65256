use serde_json::{Value, json};

use fittrack_tests::server::{Backend, Settings, spawn_app, unique_ip};

async fn problem(response: reqwest::Response, status: u16, code: &str) {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code);
    assert_eq!(body["status"], status);
    assert!(body["title"].is_string() && body["type"].is_string());
}

#[tokio::test]
async fn bad_input_gets_problem_details_with_stable_codes() {
    let app = spawn_app(Settings::new(Backend::Embedded)).await;
    let url = format!("{}/api/v1/auth/register", app.base);
    let send = |body: reqwest::Body, content_type: &'static str| {
        app.http
            .post(&url)
            .header("content-type", content_type)
            .header("x-forwarded-for", unique_ip())
            .body(body)
            .send()
    };
    problem(send("{not json".into(), "application/json").await.unwrap(), 400, "malformed_json").await;
    problem(send(r#"{"email": 5}"#.into(), "application/json").await.unwrap(), 422, "invalid_body").await;
    problem(send("email=x".into(), "application/x-www-form-urlencoded").await.unwrap(), 415, "unsupported_media_type")
        .await;
    let huge = format!(r#"{{"email": "{}"}}"#, "a".repeat(1024 * 1024 + 10));
    problem(send(huge.into(), "application/json").await.unwrap(), 413, "payload_too_large").await;
    problem(app.http.get(format!("{}/api/v1/nowhere", app.base)).send().await.unwrap(), 404, "not_found").await;
    problem(app.http.get(&url).send().await.unwrap(), 405, "method_not_allowed").await;
    problem(
        app.post("/api/v1/auth/social/facebook", json!({"id_token": "x", "nonce": "y"}), &unique_ip()).await,
        404,
        "not_found",
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn request_ids_are_echoed_when_valid_and_replaced_when_not() {
    let app = spawn_app(Settings::new(Backend::Embedded)).await;
    let url = format!("{}/health/live", app.base);
    let echoed = app.http.get(&url).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "abc-123");
    let replaced = app.http.get(&url).header("x-request-id", "bad id with spaces").send().await.unwrap();
    let id = replaced.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    let generated = app.http.get(&url).send().await.unwrap();
    assert!(uuid::Uuid::parse_str(generated.headers()["x-request-id"].to_str().unwrap()).is_ok());
    assert_eq!(generated.headers()["x-content-type-options"], "nosniff");
    assert!(generated.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));

    let ready: Value = app.http.get(format!("{}/health/ready", app.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["checks"]["store"], "ok");
    app.stop().await;
}

/// Every query parameter of every route, at the edges of what its type parses and beyond: no
/// input reaches a panic or a 500; what is refused is refused with a problem.
#[tokio::test]
async fn extreme_query_values_never_reach_a_panic() {
    let app = spawn_app(Settings::new(Backend::Embedded)).await;
    let (user, admin) = (app.user_with_profile().await, app.admin().await);
    let routes: [(&str, &[&str]); 8] = [
        ("/api/v1/activities", &["from", "to", "kind", "limit", "cursor"]),
        ("/api/v1/points/transactions", &["limit", "cursor"]),
        ("/api/v1/admin/reviews", &["status", "limit", "cursor"]),
        ("/api/v1/admin/users", &["limit", "cursor"]),
        ("/api/v1/connections/strava/callback", &["code", "state", "error"]),
        ("/api/v1/webhooks/strava", &["hub.mode", "hub.verify_token", "hub.challenge"]),
        ("/api/v1/tiers", &["limit"]),
        ("/api/v1/activities/summary", &["from"]),
    ];
    let extremes = [
        "-262143-01-01",
        "%2B262142-12-31",
        "262143-01-01",
        "0000-00-00",
        "9999-12-31",
        "1969-12-31",
        "2038-01-19",
        "-1",
        "0",
        "4294967295",
        "4294967296",
        "18446744073709551616",
        "1e308",
        "NaN",
        "o18446744073709551615",
        "o99999999999",
        "%00",
        "%FF%FE",
        "",
        "%20",
        &"9".repeat(5_000),
    ];
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for (route, params) in routes {
        for param in params {
            for value in extremes {
                for token in [&user, &admin] {
                    let url = format!("{}{route}?{param}={value}", app.base);
                    let response = http.get(&url).bearer_auth(token).send().await.unwrap();
                    let status = response.status();
                    assert!(status.as_u16() < 500, "{route}?{param}={}: {status}", &value[..value.len().min(40)]);
                    if status.is_client_error() {
                        assert_eq!(response.headers()["content-type"], "application/problem+json", "{url:.100}");
                    }
                }
            }
        }
    }
    // One past the widest span, and out of range alone, are refused with a code.
    let response = app.get_auth("/api/v1/activities?to=-262143-01-01", &user).await;
    problem(response, 422, "validation_failed").await;
    app.stop().await;
}
