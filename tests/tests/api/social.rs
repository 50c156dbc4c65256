use serde_json::{Value, json};

use fittrack_tests::both_backends;
use fittrack_tests::server::{Backend, Settings, spawn_app, unique_email, unique_ip};

fn details() -> Value {
    json!({"display_name": "Gee User", "date_of_birth": "1985-07-01", "state": "TX"})
}

async fn google_sign_in_creates_then_signs_in(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let email = unique_email();
    let subject = uuid::Uuid::new_v4().to_string();
    let ip = unique_ip();
    let token = app.google.id_token(&subject, &email, "n-1", json!({}));

    let missing = app.post("/api/v1/auth/social/google", json!({"id_token": token, "nonce": "n-1"}), &ip).await;
    assert_eq!(missing.status(), 422, "first sign-in needs the registration details");

    let mut body = details();
    body["id_token"] = json!(token);
    body["nonce"] = json!("n-1");
    let created = app.post("/api/v1/auth/social/google", body, &ip).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let me: Value =
        app.get_auth("/api/v1/users/me", created["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(me["email"], email);
    assert_eq!(me["email_verified"], true);

    let again = app.google.id_token(&subject, &email, "n-2", json!({}));
    let signed_in = app.post("/api/v1/auth/social/google", json!({"id_token": again, "nonce": "n-2"}), &ip).await;
    assert_eq!(signed_in.status(), 200);
    let signed_in: Value = signed_in.json().await.unwrap();
    let me_again: Value =
        app.get_auth("/api/v1/users/me", signed_in["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(me_again["id"], me["id"]);
    app.stop().await;
}
both_backends!(google_sign_in_creates_then_signs_in);

#[tokio::test]
async fn id_tokens_are_verified_for_real() {
    let app = spawn_app(Settings::new(Backend::Embedded)).await;
    let email = unique_email();
    let ip = unique_ip();
    let g = &app.google;
    let now = chrono::Utc::now().timestamp();
    let cases = [
        ("wrong nonce", g.id_token("s", &email, "other", json!({}))),
        ("wrong audience", g.id_token("s", &email, "n", json!({"aud": "someone-else"}))),
        ("wrong issuer", g.id_token("s", &email, "n", json!({"iss": "https://evil.example"}))),
        ("expired", g.id_token("s", &email, "n", json!({"exp": now - 3600, "iat": now - 7200}))),
        ("unsigned by the provider", g.forged_token("s", &email, "n").await),
        ("not a JWT", "abc.def.ghi".to_owned()),
    ];
    for (case, token) in cases {
        let mut body = details();
        body["id_token"] = json!(token);
        body["nonce"] = json!("n");
        let response = app.post("/api/v1/auth/social/google", body, &ip).await;
        assert_eq!(response.status(), 401, "{case}");
        assert_eq!(response.json::<Value>().await.unwrap()["code"], "invalid_id_token", "{case}");
    }
    let apple = app.post("/api/v1/auth/social/apple", json!({"id_token": "x", "nonce": "n"}), &ip).await;
    assert_eq!(apple.status(), 404, "apple is not configured in this test");
    assert_eq!(apple.json::<Value>().await.unwrap()["code"], "provider_not_configured");
    app.stop().await;
}

#[tokio::test]
async fn google_links_to_an_existing_verified_account() {
    let app = spawn_app(Settings::new(Backend::Embedded)).await;
    let email = unique_email();
    let tokens = app.signed_up_user(&email).await;
    let me: Value =
        app.get_auth("/api/v1/users/me", tokens["access_token"].as_str().unwrap()).await.json().await.unwrap();
    let id_token = app.google.id_token("google-sub-1", &email.to_uppercase(), "n", json!({}));
    let linked =
        app.post("/api/v1/auth/social/google", json!({"id_token": id_token, "nonce": "n"}), &unique_ip()).await;
    assert_eq!(linked.status(), 200);
    let linked: Value = linked.json().await.unwrap();
    let me_google: Value =
        app.get_auth("/api/v1/users/me", linked["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(me_google["id"], me["id"]);

    let unverified = app.google.id_token("google-sub-2", &unique_email(), "n", json!({"email_verified": false}));
    let mut body = details();
    body["id_token"] = json!(unverified);
    body["nonce"] = json!("n");
    assert_eq!(app.post("/api/v1/auth/social/google", body, &unique_ip()).await.status(), 401);
    app.stop().await;
}
