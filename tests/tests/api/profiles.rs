use serde_json::{Value, json};

use chrono::{Datelike, Days};
use fittrack_platform::clock::Clock;
use fittrack_tests::both_backends;
use fittrack_tests::server::{Backend, PASSWORD, Settings, TestApp, registration, spawn_app, unique_email, unique_ip};

fn full_profile() -> Value {
    json!({"display_name": "Ada L", "sex": "female", "fitness_level": "advanced", "time_zone": "America/Chicago",
        "units": "metric", "public_profile": true})
}

async fn send(app: &TestApp, method: reqwest::Method, path: &str, token: &str, body: Value) -> reqwest::Response {
    app.http.request(method, format!("{}{path}", app.base)).bearer_auth(token).json(&body).send().await.unwrap()
}

async fn count(app: &TestApp, token: &str, code: &str) -> i64 {
    let tier: Value = app.get_auth(&format!("/api/v1/tiers/{code}"), token).await.json().await.unwrap();
    tier["user_count"].as_i64().unwrap()
}

async fn a_complete_profile_places_the_user_in_a_tier(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let tokens = app.signed_up_user(&unique_email()).await;
    let token = tokens["access_token"].as_str().unwrap();

    let gated = app.get_auth("/api/v1/tiers", token).await;
    assert_eq!(gated.status(), 403);
    let problem: Value = gated.json().await.unwrap();
    assert_eq!(problem["code"], "profile_incomplete");
    let status: Value = app.get_auth("/api/v1/users/me/profile/complete", token).await.json().await.unwrap();
    assert_eq!(status, json!({"complete": false, "missing": ["sex", "fitness_level"]}));

    let partial = send(&app, reqwest::Method::PUT, "/api/v1/users/me/profile", token, json!({"sex": "female"})).await;
    assert_eq!(partial.status(), 422, "PUT replaces the whole profile");

    let me: Value =
        send(&app, reqwest::Method::PUT, "/api/v1/users/me/profile", token, full_profile()).await.json().await.unwrap();
    assert_eq!(me["tier"]["code"], "F-30-39-ADV", "born 1990-04-12: 30-39");
    assert_eq!(me["profile"]["time_zone"], "America/Chicago");
    assert_eq!(me["profile"]["complete"], true);
    assert_eq!(me["display_name"], "Ada L");

    let tiers: Value = app.get_auth("/api/v1/tiers", token).await.json().await.unwrap();
    assert_eq!(tiers["items"].as_array().unwrap().len(), 30);
    assert_eq!(count(&app, token, "F-30-39-ADV").await, 1);

    let me: Value =
        send(&app, reqwest::Method::PATCH, "/api/v1/users/me/profile", token, json!({"fitness_level": "beginner"}))
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(me["tier"]["code"], "F-30-39-BEG");
    assert_eq!(me["profile"]["units"], "metric", "PATCH leaves other fields alone");
    assert_eq!(count(&app, token, "F-30-39-ADV").await, 0);
    assert_eq!(count(&app, token, "F-30-39-BEG").await, 1);

    let bad = send(
        &app,
        reqwest::Method::PATCH,
        "/api/v1/users/me/profile",
        token,
        json!({"sex": "other", "time_zone": "Mars/Olympus", "date_of_birth": "1991-01-01"}),
    )
    .await;
    assert_eq!(bad.status(), 422);
    let codes: Vec<String> = bad.json::<Value>().await.unwrap()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes, ["invalid_choice", "invalid_time_zone", "immutable"]);
    let unchanged: Value = app.get_auth("/api/v1/users/me", token).await.json().await.unwrap();
    assert_eq!(unchanged["tier"]["code"], "F-30-39-BEG");
    assert_eq!(app.get_auth("/api/v1/tiers/X-00-00-NOPE", token).await.status(), 404);
    app.stop().await;
}
both_backends!(a_complete_profile_places_the_user_in_a_tier);

async fn a_thirtieth_birthday_moves_the_tier_on_the_day(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let birthday = app.clock.now().date_naive() + Days::new(2);
    let born = birthday.with_year(birthday.year() - 30).unwrap_or(birthday - Days::new(30 * 365));
    let email = unique_email();
    let mut body = registration(&email);
    body["date_of_birth"] = json!(born.to_string());
    let tokens = app.signed_up_with(body).await;
    let token = tokens["access_token"].as_str().unwrap();
    let me: Value =
        send(&app, reqwest::Method::PUT, "/api/v1/users/me/profile", token, full_profile()).await.json().await.unwrap();
    assert_eq!(me["tier"]["code"], "F-18-29-ADV");
    if backend == Backend::Embedded {
        // The birthday index is keyed by a hash: neither date of birth nor birthday is readable.
        for date in [born, birthday] {
            assert_eq!(app.files_containing(&date.to_string()), Vec::<std::path::PathBuf>::new(), "{date} stored");
        }
    }

    let tiers = &app.server.as_ref().unwrap().tiers;
    assert_eq!(tiers.run().await.unwrap(), 0, "not due yet");
    app.clock.advance(chrono::Duration::days(1));
    assert_eq!(tiers.run().await.unwrap(), 0, "the day before the birthday");
    app.clock.advance(chrono::Duration::days(1));
    assert_eq!(tiers.run().await.unwrap(), 1, "the birthday");
    assert_eq!(tiers.run().await.unwrap(), 0, "once");

    // The access token expired meanwhile: sign in again.
    let login = app.post("/api/v1/auth/login", json!({"email": email, "password": PASSWORD}), &unique_ip()).await;
    let token = login.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    let me: Value = app.get_auth("/api/v1/users/me", &token).await.json().await.unwrap();
    assert_eq!(me["tier"]["code"], "F-30-39-ADV");
    assert_eq!((count(&app, &token, "F-18-29-ADV").await, count(&app, &token, "F-30-39-ADV").await), (0, 1));
    app.stop().await;
}
both_backends!(a_thirtieth_birthday_moves_the_tier_on_the_day);

async fn public_profiles_honour_privacy(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let viewer = app.signed_up_user(&unique_email()).await;
    let viewer = viewer["access_token"].as_str().unwrap();
    send(&app, reqwest::Method::PUT, "/api/v1/users/me/profile", viewer, full_profile()).await;
    let subject = app.signed_up_user(&unique_email()).await;
    let subject = subject["access_token"].as_str().unwrap();
    let mut private = full_profile();
    private["public_profile"] = json!(false);
    private["display_name"] = json!("Grace H");
    let me: Value =
        send(&app, reqwest::Method::PUT, "/api/v1/users/me/profile", subject, private).await.json().await.unwrap();
    let path = format!("/api/v1/users/{}/public", me["id"].as_str().unwrap());

    assert_eq!(app.get_auth(&path, viewer).await.status(), 404, "private by choice");
    send(&app, reqwest::Method::PATCH, "/api/v1/users/me/profile", subject, json!({"public_profile": true})).await;
    let public: Value = app.get_auth(&path, viewer).await.json().await.unwrap();
    assert_eq!(
        public,
        json!({"id": me["id"], "display_name": "Grace H", "tier": {"code": "F-30-39-ADV", "name": "Women 30–39 · Advanced"}})
    );
    app.stop().await;
}
both_backends!(public_profiles_honour_privacy);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_profile_changes_keep_tier_counts_exact() {
    let app = spawn_app(Settings::new(Backend::Embedded)).await;
    let tokens = app.signed_up_user(&unique_email()).await;
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    send(&app, reqwest::Method::PUT, "/api/v1/users/me/profile", &token, full_profile()).await;
    let mut changes = tokio::task::JoinSet::new();
    for i in 0..12 {
        let level = ["beginner", "intermediate", "advanced"][i % 3];
        let (http, url, token) = (app.http.clone(), format!("{}/api/v1/users/me/profile", app.base), token.clone());
        changes.spawn(async move {
            http.patch(url).bearer_auth(token).json(&json!({"fitness_level": level})).send().await.unwrap().status()
        });
    }
    let mut applied = 0;
    while let Some(status) = changes.join_next().await {
        // Under this much contention on one item an update may give up with 503 (Retry-After);
        // what must never happen is a miscount.
        match status.unwrap().as_u16() {
            200 => applied += 1,
            // A tier field changes once per 30 days: the racers after the first are refused.
            503 | 422 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(applied > 0);
    let tiers: Value = app.get_auth("/api/v1/tiers", &token).await.json().await.unwrap();
    let total: i64 = tiers["items"].as_array().unwrap().iter().map(|t| t["user_count"].as_i64().unwrap()).sum();
    assert_eq!(total, 1, "one user is counted in exactly one tier");
    let me: Value = app.get_auth("/api/v1/users/me", &token).await.json().await.unwrap();
    assert_eq!(count(&app, &token, me["tier"]["code"].as_str().unwrap()).await, 1);
    app.stop().await;
}

/// Changing `sex` or `fitness_level` (and so the tier) is allowed once every 30 days: a second
/// change is refused with a code, changes nothing, and works again 30 days later; admins are exempt.
#[tokio::test]
async fn tier_fields_change_once_every_thirty_days() {
    let app = spawn_app(Settings::new(Backend::Embedded)).await;
    let email = unique_email();
    let token = app.signed_up_user(&email).await["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        send(&app, reqwest::Method::PUT, "/api/v1/users/me/profile", &token, full_profile()).await.status(),
        200
    );
    let patch = |level: &'static str, token: String| {
        let app = &app;
        async move {
            send(app, reqwest::Method::PATCH, "/api/v1/users/me/profile", &token, json!({"fitness_level": level})).await
        }
    };
    assert_eq!(patch("intermediate", token.clone()).await.status(), 200, "the first change");
    let again = patch("beginner", token.clone()).await;
    assert_eq!(again.status(), 422);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "fitness_level");
    assert_eq!(body["errors"][0]["code"], "changed_recently");
    let me: Value = app.get_auth("/api/v1/users/me", &token).await.json().await.unwrap();
    assert_eq!(me["profile"]["fitness_level"], "intermediate", "nothing changed");
    let other_fields =
        send(&app, reqwest::Method::PATCH, "/api/v1/users/me/profile", &token, json!({"units": "imperial"})).await;
    assert_eq!(other_fields.status(), 200, "other fields change freely");

    app.clock.advance(chrono::Duration::days(30) + chrono::Duration::seconds(1));
    // The access token expired meanwhile: sign in again.
    let login = app.post("/api/v1/auth/login", json!({"email": email, "password": PASSWORD}), &unique_ip()).await;
    let token = login.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(patch("advanced", token.clone()).await.status(), 200, "thirty days later");
    assert_eq!(patch("beginner", token).await.status(), 422);

    let admin = app.admin().await;
    let admin_profile = json!({"display_name": "Admin", "sex": "male", "fitness_level": "beginner",
        "time_zone": "UTC", "units": "metric", "public_profile": false});
    assert_eq!(send(&app, reqwest::Method::PUT, "/api/v1/users/me/profile", &admin, admin_profile).await.status(), 200);
    assert_eq!(patch("advanced", admin.clone()).await.status(), 200);
    assert_eq!(patch("intermediate", admin).await.status(), 200, "admins are exempt");
    app.stop().await;
}
