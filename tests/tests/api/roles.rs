use serde_json::{Value, json};

use fittrack_tests::server::{Backend, Settings, spawn_app, unique_email, unique_ip};

#[tokio::test]
async fn admin_routes_need_the_admin_role() {
    let app = spawn_app(Settings::new(Backend::Embedded)).await;
    let user = app.signed_up_user(&unique_email()).await;
    let user_access = user["access_token"].as_str().unwrap();
    let forbidden = app.get_auth("/api/v1/admin/users", user_access).await;
    assert_eq!(forbidden.status(), 403);
    assert_eq!(forbidden.json::<Value>().await.unwrap()["code"], "forbidden");

    let admin = app.admin().await;
    let admin_access = admin.as_str();

    for i in 0..3 {
        app.signed_up_user(&format!("extra{i}-{}", unique_email())).await;
    }
    let page: Value = app.get_auth("/api/v1/admin/users?limit=2", admin_access).await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["pagination"]["has_more"], true);
    assert!(page["items"][0].get("email").is_none(), "the list carries no PII");
    let mut seen = page["items"].as_array().unwrap().len();
    let mut cursor = page["pagination"]["next_cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let next: Value =
            app.get_auth(&format!("/api/v1/admin/users?limit=2&cursor={c}"), admin_access).await.json().await.unwrap();
        seen += next["items"].as_array().unwrap().len();
        cursor = next["pagination"]["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, 5);
    assert_eq!(app.get_auth("/api/v1/admin/users?limit=0", admin_access).await.status(), 422);
    assert_eq!(app.get_auth("/api/v1/admin/users?cursor=bogus!", admin_access).await.status(), 400);

    // Promote the user; the new role arrives with the next refresh.
    let me: Value = app.get_auth("/api/v1/users/me", user_access).await.json().await.unwrap();
    let promote = app
        .http
        .put(format!("{}/api/v1/admin/users/{}/role", app.base, me["id"].as_str().unwrap()))
        .bearer_auth(admin_access)
        .json(&json!({"role": "premium"}))
        .send()
        .await
        .unwrap();
    assert_eq!(promote.status(), 204);
    let refreshed: Value = app
        .post("/api/v1/auth/refresh", json!({"refresh_token": user["refresh_token"]}), &unique_ip())
        .await
        .json()
        .await
        .unwrap();
    let me: Value =
        app.get_auth("/api/v1/users/me", refreshed["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(me["role"], "premium");
    app.stop().await;
}

/// A demoted admin loses admin rights on the very next request, not when the token expires; an
/// admin can end all of another user's sessions at once.
#[tokio::test]
async fn demotion_and_revoked_sessions_take_effect_on_the_next_request() {
    let app = spawn_app(Settings::new(Backend::Embedded)).await;
    let (boss, deputy) = (app.admin().await, app.admin().await);
    assert_eq!(app.get_auth("/api/v1/admin/users", &deputy).await.status(), 200);
    let deputy_id = app.get_auth("/api/v1/users/me", &deputy).await.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let demote = app
        .http
        .put(format!("{}/api/v1/admin/users/{deputy_id}/role", app.base))
        .bearer_auth(&boss)
        .json(&json!({"role": "user"}))
        .send()
        .await
        .unwrap();
    assert_eq!(demote.status(), 204);
    let after = app.get_auth("/api/v1/admin/users", &deputy).await;
    assert_eq!(after.status(), 403, "the admin token stops working at once");
    assert_eq!(app.get_auth("/api/v1/users/me", &deputy).await.status(), 200, "still signed in, as a user");

    // Ending the deputy's sessions: their token is refused from the next request on.
    let url = format!("{}/api/v1/admin/users/{deputy_id}/sessions", app.base);
    assert_eq!(app.http.delete(&url).bearer_auth(&deputy).send().await.unwrap().status(), 403, "admins only");
    assert_eq!(app.http.delete(&url).bearer_auth(&boss).send().await.unwrap().status(), 204);
    assert_eq!(app.get_auth("/api/v1/users/me", &deputy).await.status(), 401);
    let unknown = format!("{}/api/v1/admin/users/not-a-user/sessions", app.base);
    assert_eq!(app.http.delete(&unknown).bearer_auth(&boss).send().await.unwrap().status(), 404);
    app.stop().await;
}
