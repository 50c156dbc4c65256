use chrono::Duration;
use serde_json::{Value, json};

use fittrack_platform::config::{RateLimit, RateLimitedAction};
use fittrack_tests::both_backends;
use fittrack_tests::server::{Backend, PASSWORD, Settings, registration, spawn_app, unique_email, unique_ip};

async fn five_wrong_passwords_lock_the_account_from_any_address(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let email = unique_email();
    app.signed_up_user(&email).await;
    let wrong = json!({"email": email, "password": "wrong password entirely"});
    for attempt in 1..=4 {
        let response = app.post("/api/v1/auth/login", wrong.clone(), &unique_ip()).await;
        assert_eq!(response.status(), 401, "attempt {attempt}");
        assert_eq!(response.json::<Value>().await.unwrap()["code"], "invalid_credentials");
    }
    let fifth = app.post("/api/v1/auth/login", wrong.clone(), &unique_ip()).await;
    assert_eq!(fifth.status(), 423);
    let right = json!({"email": email, "password": PASSWORD});
    let locked = app.post("/api/v1/auth/login", right.clone(), &unique_ip()).await;
    assert_eq!(locked.status(), 423, "even the right password waits out the lock");
    let retry_after: i64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after));
    assert_eq!(locked.json::<Value>().await.unwrap()["code"], "account_locked");

    app.clock.advance(Duration::minutes(15) + Duration::seconds(1));
    assert_eq!(app.post("/api/v1/auth/login", right, &unique_ip()).await.status(), 200);
    app.stop().await;
}
both_backends!(five_wrong_passwords_lock_the_account_from_any_address);

#[tokio::test]
async fn unknown_emails_answer_exactly_like_known_ones() {
    let app = spawn_app(Settings::new(Backend::Embedded)).await;
    let known = unique_email();
    app.signed_up_user(&known).await;
    let unknown = unique_email();
    let mut answers = Vec::new();
    for email in [&known, &unknown] {
        let mut statuses = Vec::new();
        for _ in 0..5 {
            statuses.push(
                app.post(
                    "/api/v1/auth/login",
                    json!({"email": email, "password": "wrong password entirely"}),
                    &unique_ip(),
                )
                .await
                .status(),
            );
        }
        answers.push(statuses);
    }
    assert_eq!(answers[0], answers[1], "lockout must not reveal which emails have accounts");
    app.stop().await;
}

async fn per_address_rate_limits_hold(backend: Backend) {
    let mut settings = Settings::new(backend);
    settings.rate_limits.0.insert(RateLimitedAction::Login, RateLimit::per(5, 60));
    settings.rate_limits.0.insert(RateLimitedAction::Register, RateLimit::per(3, 60));
    settings.rate_limits.0.insert(RateLimitedAction::ForgotPassword, RateLimit::per(3, 3600));
    settings.rate_limits.0.insert(RateLimitedAction::ResetPassword, RateLimit::per(5, 3600));
    let app = spawn_app(settings).await;
    let ip = unique_ip();

    for _ in 0..5 {
        let status = app
            .post("/api/v1/auth/login", json!({"email": unique_email(), "password": "whatever it is"}), &ip)
            .await
            .status();
        assert_eq!(status, 401);
    }
    let limited =
        app.post("/api/v1/auth/login", json!({"email": unique_email(), "password": "whatever it is"}), &ip).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(limited.headers()["ratelimit-limit"], "5");
    assert_eq!(limited.json::<Value>().await.unwrap()["code"], "rate_limited");
    assert_eq!(
        app.post("/api/v1/auth/login", json!({"email": unique_email(), "password": "x"}), &unique_ip()).await.status(),
        401,
        "other addresses are unaffected"
    );

    for _ in 0..3 {
        assert_eq!(app.post("/api/v1/auth/register", registration(&unique_email()), &ip).await.status(), 201);
    }
    let email = unique_email();
    assert_eq!(app.post("/api/v1/auth/register", registration(&email), &ip).await.status(), 429);
    app.clock.advance(Duration::seconds(61));
    assert_eq!(app.post("/api/v1/auth/register", registration(&email), &ip).await.status(), 201, "a new window opens");

    for _ in 0..3 {
        assert_eq!(app.post("/api/v1/auth/forgot-password", json!({"email": unique_email()}), &ip).await.status(), 202);
    }
    assert_eq!(app.post("/api/v1/auth/forgot-password", json!({"email": unique_email()}), &ip).await.status(), 429);
    for _ in 0..5 {
        assert_eq!(
            app.post("/api/v1/auth/reset-password", json!({"token": "nope", "password": PASSWORD}), &ip).await.status(),
            400
        );
    }
    assert_eq!(
        app.post("/api/v1/auth/reset-password", json!({"token": "nope", "password": PASSWORD}), &ip).await.status(),
        429
    );
    app.stop().await;
}
both_backends!(per_address_rate_limits_hold);

/// Twenty wrong guesses at once, from twenty addresses: at most the limit's worth are checked at
/// all, the rest are refused as locked, and the address ends locked.
async fn concurrent_guesses_never_get_past_the_limit(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let email = unique_email();
    app.signed_up_user(&email).await;
    let guesses = (0..20).map(|n| {
        let body = json!({"email": email, "password": format!("wrong guess number {n}")});
        let app = &app;
        async move { app.post("/api/v1/auth/login", body, &unique_ip()).await.status().as_u16() }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(checked <= 4, "at most 4 wrong passwords answered as wrong before the lock: {statuses:?}");
    // The rest are refused unchecked: locked (423), or 429 while the last attempts are in flight.
    assert_eq!(statuses.iter().filter(|s| matches!(**s, 423 | 429)).count(), 20 - checked, "{statuses:?}");
    let right = app.post("/api/v1/auth/login", json!({"email": email, "password": PASSWORD}), &unique_ip()).await;
    assert_eq!(right.status(), 423, "locked");
    app.stop().await;
}
both_backends!(concurrent_guesses_never_get_past_the_limit);

/// Clients of one IPv6 /64 share a limit: rotating the interface id gains nothing.
#[tokio::test]
async fn ipv6_clients_share_their_64s_limit() {
    let mut settings = Settings::new(Backend::Embedded);
    settings.rate_limits.0.insert(RateLimitedAction::Register, RateLimit::per(3, 60));
    let app = spawn_app(settings).await;
    let statuses = futures_util::future::join_all((0..5).map(|n| {
        let app = &app;
        async move {
            let address = format!("2001:db8:ab:cd::{:x}", n + 1);
            app.post("/api/v1/auth/register", registration(&unique_email()), &address).await.status().as_u16()
        }
    }))
    .await;
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 2, "{statuses:?}");
    let elsewhere = app.post("/api/v1/auth/register", registration(&unique_email()), "2001:db8:ab:ce::1").await;
    assert_eq!(elsewhere.status(), 201, "another /64 has its own limit");
    app.stop().await;
}

/// Device uploads are limited per user (whatever the address): past the limit, 429 with
/// `Retry-After`, and the refused batch books nothing.
#[tokio::test]
async fn device_uploads_are_limited_per_user() {
    let mut settings = Settings::new(Backend::Embedded);
    settings.rate_limits.0.insert(RateLimitedAction::DeviceUpload, RateLimit::per(3, 3600));
    let app = spawn_app(settings).await;
    let token = app.user_with_profile().await;
    let start = chrono::Utc::now() - Duration::hours(3);
    let batch = |n: u32| {
        let record = json!({"id": format!("r{n}"), "kind": "walk", "start": start + Duration::minutes(i64::from(n) * 20),
            "end": start + Duration::minutes(i64::from(n) * 20 + 10), "steps": 800, "light_minutes": 10});
        json!({"batch_id": format!("b-{n}"), "source": "healthkit", "device_id": "phone", "records": [record]})
    };
    for n in 0..3 {
        let ok = app
            .http
            .post(format!("{}/api/v1/ingest/batches", app.base))
            .bearer_auth(&token)
            .header("x-forwarded-for", unique_ip())
            .json(&batch(n))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 201);
    }
    let before: Value = app.get_auth("/api/v1/points/balance", &token).await.json().await.unwrap();
    let limited = app
        .http
        .post(format!("{}/api/v1/ingest/batches", app.base))
        .bearer_auth(&token)
        .header("x-forwarded-for", unique_ip())
        .json(&batch(3))
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), 429, "a new address does not reset a user's limit");
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(limited.json::<Value>().await.unwrap()["code"], "rate_limited");
    let after: Value = app.get_auth("/api/v1/points/balance", &token).await.json().await.unwrap();
    assert_eq!(before, after, "the refused batch booked nothing");
    app.stop().await;
}

/// A stranger who keeps an address locked does not keep its owner out: the owner asks for an
/// emailed link and signs in with it past the lock, once.
async fn the_mailbox_owner_signs_in_past_a_lockout(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let email = unique_email();
    app.signed_up_user(&email).await;
    for _ in 0..5 {
        app.post("/api/v1/auth/login", json!({"email": email, "password": "a stranger guessing"}), &unique_ip()).await;
    }
    let right = json!({"email": email, "password": PASSWORD});
    assert_eq!(app.post("/api/v1/auth/login", right.clone(), &unique_ip()).await.status(), 423);

    let asked = app.post("/api/v1/auth/unlock", json!({"email": email}), &unique_ip()).await;
    assert_eq!(asked.status(), 202);
    let unknown = app.post("/api/v1/auth/unlock", json!({"email": unique_email()}), &unique_ip()).await;
    assert_eq!(unknown.status(), 202, "the same answer for an unknown address");
    let mail = app.wait_for_email(&email, 2).await;
    assert!(mail.contains("Sign in to FitTrack despite the lock"), "{mail}");
    let token = fittrack_tests::server::link_token(&mail);

    // Another account's link does not open this one.
    let other = unique_email();
    app.signed_up_user(&other).await;
    app.post("/api/v1/auth/unlock", json!({"email": other}), &unique_ip()).await;
    let other_token = fittrack_tests::server::link_token(&app.wait_for_email(&other, 2).await);
    let mut crossed = right.clone();
    crossed["unlock_token"] = json!(other_token);
    assert_eq!(app.post("/api/v1/auth/login", crossed, &unique_ip()).await.status(), 400);

    let mut with_link = right.clone();
    with_link["unlock_token"] = json!(token);
    let signed_in = app.post("/api/v1/auth/login", with_link.clone(), &unique_ip()).await;
    assert_eq!(signed_in.status(), 200, "past the lock");
    assert!(signed_in.json::<Value>().await.unwrap()["access_token"].is_string());
    let again = app.post("/api/v1/auth/login", with_link, &unique_ip()).await;
    assert_eq!(again.status(), 400, "the link works once");
    assert_eq!(again.json::<Value>().await.unwrap()["code"], "invalid_token");
    app.stop().await;
}
both_backends!(the_mailbox_owner_signs_in_past_a_lockout);
