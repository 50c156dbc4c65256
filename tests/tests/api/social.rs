use serde_json::{Value, json};

use fittrack_tests::both_backends;
use fittrack_tests::server::{Backend, PASSWORD, Settings, TestApp, registration, spawn_app, unique_email, unique_ip};

fn details() -> Value {
    json!({"display_name": "Gee User", "date_of_birth": "1985-07-01", "state": "TX"})
}

/// A nonce issued by the server for one sign-in.
async fn nonce(app: &TestApp) -> String {
    let issued = app.post("/api/v1/auth/social/nonce", json!({}), &unique_ip()).await;
    assert_eq!(issued.status(), 201);
    let issued: Value = issued.json().await.unwrap();
    assert_eq!(issued["expires_in"], 600);
    issued["nonce"].as_str().unwrap().to_owned()
}

/// The domain the test addresses use is a Workspace domain at the fake Google, so Google is
/// authoritative for them.
fn hosted(email: &str) -> Value {
    json!({"hd": email.rsplit_once('@').unwrap().1})
}

async fn google_sign_in_creates_then_signs_in(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let email = unique_email();
    let subject = uuid::Uuid::new_v4().to_string();
    let ip = unique_ip();

    let n = nonce(&app).await;
    let token = app.google.id_token(&subject, &email, &n, json!({}));
    let missing = app.post("/api/v1/auth/social/google", json!({"id_token": token, "nonce": n}), &ip).await;
    assert_eq!(missing.status(), 422, "first sign-in needs the registration details");

    let n = nonce(&app).await;
    let mut body = details();
    body["id_token"] = json!(app.google.id_token(&subject, &email, &n, json!({})));
    body["nonce"] = json!(n);
    let created = app.post("/api/v1/auth/social/google", body, &ip).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let me: Value =
        app.get_auth("/api/v1/users/me", created["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(me["email"], email);
    assert_eq!(me["email_verified"], true);

    let n = nonce(&app).await;
    let again = app.google.id_token(&subject, &email, &n, json!({}));
    let signed_in = app.post("/api/v1/auth/social/google", json!({"id_token": again, "nonce": n}), &ip).await;
    assert_eq!(signed_in.status(), 200);
    let signed_in: Value = signed_in.json().await.unwrap();
    let me_again: Value =
        app.get_auth("/api/v1/users/me", signed_in["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(me_again["id"], me["id"]);
    // The same token and nonce again: the nonce was used.
    let replayed = app.post("/api/v1/auth/social/google", json!({"id_token": again, "nonce": n}), &ip).await;
    assert_eq!(replayed.status(), 401);
    assert_eq!(replayed.json::<Value>().await.unwrap()["code"], "invalid_id_token");
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
    type TokenFor<'a> = Box<dyn Fn(&str) -> String + 'a>;
    let cases: [(&str, TokenFor); 6] = [
        ("wrong nonce", Box::new(|_| g.id_token("s", &email, "other", json!({})))),
        ("wrong audience", Box::new(|n| g.id_token("s", &email, n, json!({"aud": "someone-else"})))),
        ("wrong issuer", Box::new(|n| g.id_token("s", &email, n, json!({"iss": "https://evil.example"})))),
        ("expired", Box::new(|n| g.id_token("s", &email, n, json!({"exp": now - 3600, "iat": now - 7200})))),
        ("not a JWT", Box::new(|_| "abc.def.ghi".to_owned())),
        (
            "signed by the provider, nonce chosen by the client",
            Box::new(|_| g.id_token("s", &email, "mine", json!({}))),
        ),
    ];
    for (case, token) in cases {
        let n = nonce(&app).await;
        let mut body = details();
        body["id_token"] = json!(token(&n));
        body["nonce"] = json!(if case.contains("chosen by the client") { "mine".to_owned() } else { n });
        let response = app.post("/api/v1/auth/social/google", body, &ip).await;
        assert_eq!(response.status(), 401, "{case}");
        assert_eq!(response.json::<Value>().await.unwrap()["code"], "invalid_id_token", "{case}");
    }
    let n = nonce(&app).await;
    let forged = g.forged_token("s", &email, &n).await;
    let mut body = details();
    body["id_token"] = json!(forged);
    body["nonce"] = json!(n);
    assert_eq!(app.post("/api/v1/auth/social/google", body, &ip).await.status(), 401, "unsigned by the provider");
    let n = nonce(&app).await;
    let apple = app.post("/api/v1/auth/social/apple", json!({"id_token": "x", "nonce": n}), &ip).await;
    assert_eq!(apple.status(), 404, "apple is not configured in this test");
    assert_eq!(apple.json::<Value>().await.unwrap()["code"], "provider_not_configured");
    app.stop().await;
}

/// An account with a password is not linked on a matching address alone: its owner signs in with
/// the password and links Google from the account; from then on Google signs in to it.
#[tokio::test]
async fn linking_a_password_account_needs_the_password() {
    let app = spawn_app(Settings::new(Backend::Embedded)).await;
    let email = unique_email();
    let tokens = app.signed_up_user(&email).await;
    let access = tokens["access_token"].as_str().unwrap();
    let me: Value = app.get_auth("/api/v1/users/me", access).await.json().await.unwrap();

    let n = nonce(&app).await;
    let id_token = app.google.id_token("google-sub-1", &email.to_uppercase(), &n, hosted(&email));
    let refused = app.post("/api/v1/auth/social/google", json!({"id_token": id_token, "nonce": n}), &unique_ip()).await;
    assert_eq!(refused.status(), 409);
    assert_eq!(refused.json::<Value>().await.unwrap()["code"], "account_link_required");

    let n = nonce(&app).await;
    let id_token = app.google.id_token("google-sub-1", &email, &n, hosted(&email));
    let no_password =
        app.post_auth("/api/v1/users/me/social/google", access, json!({"id_token": id_token, "nonce": n})).await;
    assert_eq!(no_password.status(), 401, "an access token alone does not add a way in");
    let n = nonce(&app).await;
    let id_token = app.google.id_token("google-sub-1", &email, &n, hosted(&email));
    let link = app
        .post_auth(
            "/api/v1/users/me/social/google",
            access,
            json!({"id_token": id_token, "nonce": n, "password": PASSWORD}),
        )
        .await;
    assert_eq!(link.status(), 204);
    let n = nonce(&app).await;
    let id_token = app.google.id_token("google-sub-1", &email, &n, hosted(&email));
    let linked = app.post("/api/v1/auth/social/google", json!({"id_token": id_token, "nonce": n}), &unique_ip()).await;
    assert_eq!(linked.status(), 200);
    let linked: Value = linked.json().await.unwrap();
    let me_google: Value =
        app.get_auth("/api/v1/users/me", linked["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(me_google["id"], me["id"]);

    // Another account cannot take the same Google identity.
    let other = app.signed_up_user(&unique_email()).await;
    let n = nonce(&app).await;
    let id_token = app.google.id_token("google-sub-1", &email, &n, hosted(&email));
    let taken = app
        .post_auth(
            "/api/v1/users/me/social/google",
            other["access_token"].as_str().unwrap(),
            json!({"id_token": id_token, "nonce": n, "password": PASSWORD}),
        )
        .await;
    assert_eq!(taken.status(), 409);

    let n = nonce(&app).await;
    let unverified = app.google.id_token("google-sub-2", &unique_email(), &n, json!({"email_verified": false}));
    let mut body = details();
    body["id_token"] = json!(unverified);
    body["nonce"] = json!(n);
    assert_eq!(app.post("/api/v1/auth/social/google", body, &unique_ip()).await.status(), 401);
    app.stop().await;
}

/// Someone registered the address with a password but never verified it (perhaps to squat it):
/// the mailbox owner signing in with Google, which is authoritative for the address, takes the
/// account and the squatter's password is gone. A Google account whose address Google is not
/// authoritative for (no Gmail, no matching hosted domain) links nothing.
#[tokio::test]
async fn an_unverified_squat_yields_to_the_authoritative_owner_only() {
    let app = spawn_app(Settings::new(Backend::Embedded)).await;
    let email = unique_email();
    assert_eq!(app.post("/api/v1/auth/register", registration(&email), &unique_ip()).await.status(), 201);

    let n = nonce(&app).await;
    let token = app.google.id_token("sub-not-authoritative", &email, &n, json!({}));
    let refused = app.post("/api/v1/auth/social/google", json!({"id_token": token, "nonce": n}), &unique_ip()).await;
    assert_eq!(refused.status(), 409, "Google does not vouch for this domain");

    let n = nonce(&app).await;
    let token = app.google.id_token("sub-owner", &email, &n, hosted(&email));
    let taken = app.post("/api/v1/auth/social/google", json!({"id_token": token, "nonce": n}), &unique_ip()).await;
    assert_eq!(taken.status(), 200);
    let squatter = app.post("/api/v1/auth/login", json!({"email": email, "password": PASSWORD}), &unique_ip()).await;
    assert_eq!(squatter.status(), 401, "the unverified password was removed");
    app.stop().await;
}
