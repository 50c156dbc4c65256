use serde_json::{Value, json};

use fittrack_tests::both_backends;
use fittrack_tests::server::{Backend, PASSWORD, Settings, spawn_app, unique_email, unique_ip};

async fn reused_refresh_token_revokes_the_family(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let first = app.signed_up_user(&unique_email()).await;
    let ip = unique_ip();
    let second: Value = app
        .post("/api/v1/auth/refresh", json!({"refresh_token": first["refresh_token"]}), &ip)
        .await
        .json()
        .await
        .unwrap();
    assert!(second["refresh_token"].is_string());

    // The rotated-out token comes back: someone has a copy. The whole session ends.
    let reuse = app.post("/api/v1/auth/refresh", json!({"refresh_token": first["refresh_token"]}), &ip).await;
    assert_eq!(reuse.status(), 401);
    assert_eq!(reuse.json::<Value>().await.unwrap()["code"], "refresh_token_reused");
    let newest = app.post("/api/v1/auth/refresh", json!({"refresh_token": second["refresh_token"]}), &ip).await;
    assert_eq!(newest.status(), 401, "the legitimate newest token dies with its family");
    assert_eq!(app.get_auth("/api/v1/users/me", second["access_token"].as_str().unwrap()).await.status(), 401);
    assert_eq!(app.get_auth("/api/v1/users/me", first["access_token"].as_str().unwrap()).await.status(), 401);

    let unknown = app.post("/api/v1/auth/refresh", json!({"refresh_token": "not-a-token"}), &ip).await;
    assert_eq!(unknown.json::<Value>().await.unwrap()["code"], "invalid_refresh_token");
    app.stop().await;
}
both_backends!(reused_refresh_token_revokes_the_family);

async fn logout_is_immediate_and_logout_all_ends_every_session(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let email = unique_email();
    let laptop = app.signed_up_user(&email).await;
    let ip = unique_ip();
    let phone: Value =
        app.post("/api/v1/auth/login", json!({"email": email, "password": PASSWORD}), &ip).await.json().await.unwrap();
    let (laptop_access, phone_access) =
        (laptop["access_token"].as_str().unwrap(), phone["access_token"].as_str().unwrap());

    let logout =
        app.post_auth("/api/v1/auth/logout", laptop_access, json!({"refresh_token": laptop["refresh_token"]})).await;
    assert_eq!(logout.status(), 204);
    // Well before the token's expiry, it no longer works.
    assert_eq!(app.get_auth("/api/v1/users/me", laptop_access).await.status(), 401);
    assert_eq!(
        app.post("/api/v1/auth/refresh", json!({"refresh_token": laptop["refresh_token"]}), &ip).await.status(),
        401
    );
    assert_eq!(app.get_auth("/api/v1/users/me", phone_access).await.status(), 200, "other sessions are untouched");

    let third: Value =
        app.post("/api/v1/auth/login", json!({"email": email, "password": PASSWORD}), &ip).await.json().await.unwrap();
    assert_eq!(app.post_auth("/api/v1/auth/logout-all", phone_access, json!({})).await.status(), 204);
    for tokens in [&phone, &third] {
        assert_eq!(app.get_auth("/api/v1/users/me", tokens["access_token"].as_str().unwrap()).await.status(), 401);
        assert_eq!(
            app.post("/api/v1/auth/refresh", json!({"refresh_token": tokens["refresh_token"]}), &ip).await.status(),
            401
        );
    }
    app.stop().await;
}
both_backends!(logout_is_immediate_and_logout_all_ends_every_session);

#[tokio::test]
async fn access_tokens_expire_and_verify_against_the_published_key() {
    let app = spawn_app(Settings::new(Backend::Embedded)).await;
    let tokens = app.signed_up_user(&unique_email()).await;
    let access = tokens["access_token"].as_str().unwrap();

    let jwks: Value =
        app.http.get(format!("{}/.well-known/jwks.json", app.base)).send().await.unwrap().json().await.unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["alg"], "EdDSA");
    let decoding = jsonwebtoken::DecodingKey::from_ed_components(key["x"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["fittrack-api"]);
    let claims = jsonwebtoken::decode::<Value>(access, &decoding, &validation).unwrap().claims;
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 900);
    assert_eq!(claims["role"], "user");
    assert!(claims.get("email").is_none(), "no PII in tokens");

    // A token with a forged role fails its signature.
    let parts: Vec<&str> = access.split('.').collect();
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut payload: Value = serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
    payload["role"] = json!("admin");
    let forged = format!("{}.{}.{}", parts[0], engine.encode(payload.to_string()), parts[2]);
    assert_eq!(app.get_auth("/api/v1/users/me", &forged).await.status(), 401);
    assert_eq!(app.get_auth("/api/v1/users/me", "garbage").await.status(), 401);
    let missing = app.http.get(format!("{}/api/v1/users/me", app.base)).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    app.stop().await;
}
