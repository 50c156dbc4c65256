use chrono::Duration;
use serde_json::{Value, json};

use fittrack_tests::both_backends;
use fittrack_tests::server::{
    Backend, PASSWORD, Settings, link_token, registration, spawn_app, unique_email, unique_ip,
};

const NEW_PASSWORD: &str = "a brand new passphrase for me";

async fn password_reset_changes_the_password_once_and_signs_out_everywhere(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let email = unique_email();
    let session = app.signed_up_user(&email).await;
    let ip = unique_ip();

    let known = app.post("/api/v1/auth/forgot-password", json!({"email": email}), &ip).await;
    let unknown = app.post("/api/v1/auth/forgot-password", json!({"email": unique_email()}), &ip).await;
    assert_eq!(known.status(), 202);
    assert_eq!(unknown.status(), known.status());
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap(), "the answer must not reveal accounts");

    let reset_email = app.wait_for_email(&email, 2).await;
    assert!(reset_email.contains("Reset your FitTrack password"));
    let token = link_token(&reset_email);

    let weak = app.post("/api/v1/auth/reset-password", json!({"token": token, "password": "password"}), &ip).await;
    assert_eq!(weak.status(), 422);
    let ok = app.post("/api/v1/auth/reset-password", json!({"token": token, "password": NEW_PASSWORD}), &ip).await;
    assert_eq!(ok.status(), 200, "a weak attempt must not burn the link");
    let again = app
        .post("/api/v1/auth/reset-password", json!({"token": token, "password": "yet another passphrase here"}), &ip)
        .await;
    assert_eq!(again.status(), 400);

    assert_eq!(app.get_auth("/api/v1/users/me", session["access_token"].as_str().unwrap()).await.status(), 401);
    assert_eq!(
        app.post("/api/v1/auth/refresh", json!({"refresh_token": session["refresh_token"]}), &ip).await.status(),
        401
    );
    assert_eq!(app.post("/api/v1/auth/login", json!({"email": email, "password": PASSWORD}), &ip).await.status(), 401);
    assert_eq!(
        app.post("/api/v1/auth/login", json!({"email": email, "password": NEW_PASSWORD}), &ip).await.status(),
        200
    );
    assert!(app.wait_for_email(&email, 3).await.contains("Your FitTrack password was changed"));
    app.stop().await;
}
both_backends!(password_reset_changes_the_password_once_and_signs_out_everywhere);

#[tokio::test]
async fn emailed_links_expire() {
    let app = spawn_app(Settings::new(Backend::Embedded)).await;
    let email = unique_email();
    let ip = unique_ip();
    assert_eq!(app.post("/api/v1/auth/register", registration(&email), &ip).await.status(), 201);
    let verify = link_token(&app.wait_for_email(&email, 1).await);
    app.clock.advance(Duration::hours(24) + Duration::seconds(1));
    let expired = app.post("/api/v1/auth/verify-email", json!({"token": verify}), &ip).await;
    assert_eq!(expired.status(), 400);

    // A fresh link works; resending says the same thing for unknown addresses.
    let resend = app.post("/api/v1/auth/resend-verification", json!({"email": email}), &ip).await;
    let resend_unknown = app.post("/api/v1/auth/resend-verification", json!({"email": unique_email()}), &ip).await;
    assert_eq!(resend.status(), 202);
    assert_eq!(resend.text().await.unwrap(), resend_unknown.text().await.unwrap());
    let fresh = link_token(&app.wait_for_email(&email, 2).await);
    assert_eq!(app.post("/api/v1/auth/verify-email", json!({"token": fresh}), &ip).await.status(), 200);

    assert_eq!(app.post("/api/v1/auth/forgot-password", json!({"email": email}), &ip).await.status(), 202);
    let reset = link_token(&app.wait_for_email(&email, 3).await);
    app.clock.advance(Duration::minutes(61));
    let expired = app.post("/api/v1/auth/reset-password", json!({"token": reset, "password": NEW_PASSWORD}), &ip).await;
    assert_eq!(expired.status(), 400);
    assert_eq!(expired.json::<Value>().await.unwrap()["code"], "invalid_token");
    app.stop().await;
}

/// A password reset retires every link issued before it: the other reset links and an unused
/// verification link stop working.
async fn a_reset_retires_every_earlier_link(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let email = unique_email();
    let ip = unique_ip();
    assert_eq!(app.post("/api/v1/auth/register", registration(&email), &ip).await.status(), 201);
    let verification = link_token(&app.wait_for_email(&email, 1).await);
    for n in [2, 3] {
        assert_eq!(app.post("/api/v1/auth/forgot-password", json!({"email": email}), &ip).await.status(), 202);
        app.wait_for_email(&email, n).await;
    }
    let (first, second) =
        (link_token(&app.wait_for_email(&email, 2).await), link_token(&app.wait_for_email(&email, 3).await));
    let reset = |token: String, password: &'static str| {
        let (app, ip) = (&app, ip.clone());
        async move { app.post("/api/v1/auth/reset-password", json!({"token": token, "password": password}), &ip).await }
    };
    assert_eq!(reset(second, NEW_PASSWORD).await.status(), 200);
    let stale = reset(first, "yet another passphrase here").await;
    assert_eq!(stale.status(), 400);
    assert_eq!(stale.json::<Value>().await.unwrap()["code"], "invalid_token");
    let verify = app.post("/api/v1/auth/verify-email", json!({"token": verification}), &ip).await;
    assert_eq!(verify.status(), 400, "the old verification link is retired too");
    let login = app.post("/api/v1/auth/login", json!({"email": email, "password": NEW_PASSWORD}), &ip).await;
    assert_eq!(login.status(), 200, "the reset itself verified the address and set the password");
    app.stop().await;
}
both_backends!(a_reset_retires_every_earlier_link);

/// Nobody can use the forms to flood an inbox: however many addresses ask, one recipient gets at
/// most five of our emails of a kind an hour; every answer stays 202.
#[tokio::test]
async fn one_inbox_gets_at_most_five_emails_an_hour() {
    use fittrack_platform::config::{RateLimitedAction, RateLimits};
    let mut settings = Settings::new(Backend::Embedded);
    // The production share (the test settings relax every limit).
    settings
        .rate_limits
        .0
        .insert(RateLimitedAction::EmailsToRecipient, RateLimits::default().get(RateLimitedAction::EmailsToRecipient));
    let app = spawn_app(settings).await;
    let email = unique_email();
    app.signed_up_user(&email).await;
    for _ in 0..8 {
        let asked = app.post("/api/v1/auth/forgot-password", json!({"email": email}), &unique_ip()).await;
        assert_eq!(asked.status(), 202);
    }
    app.wait_for_email(&email, 6).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let resets = app.emails_to("Reset your FitTrack password").await;
    assert_eq!(resets.len(), 5, "five resets of the eight asked for");
    assert_eq!(app.emails_to(&format!("To: {email}")).await.len(), 6, "and the verification, a share of its own");
    app.clock.advance(Duration::hours(1));
    assert_eq!(app.post("/api/v1/auth/forgot-password", json!({"email": email}), &unique_ip()).await.status(), 202);
    app.wait_for_email(&email, 7).await;
    app.stop().await;
}

/// A forgot-password answer takes as long for an unknown address as for a known one: at least
/// the response floor, whatever was looked up.
#[tokio::test]
async fn recovery_answers_take_the_same_floor_for_every_address() {
    let app = spawn_app(Settings::new(Backend::Embedded)).await;
    let known = unique_email();
    app.signed_up_user(&known).await;
    for (email, path) in [
        (known.clone(), "/api/v1/auth/forgot-password"),
        (unique_email(), "/api/v1/auth/forgot-password"),
        (known, "/api/v1/auth/resend-verification"),
        (unique_email(), "/api/v1/auth/resend-verification"),
    ] {
        let started = std::time::Instant::now();
        assert_eq!(app.post(path, json!({"email": email}), &unique_ip()).await.status(), 202);
        assert!(started.elapsed() >= std::time::Duration::from_millis(300), "{path}: {:?}", started.elapsed());
    }
    app.stop().await;
}
