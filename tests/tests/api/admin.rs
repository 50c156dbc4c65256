//! Admin user management end to end over HTTP: every admin route refuses non-admins; search by
//! each index; a user's whole picture; adjustments retried and clamped, told by notification and
//! by an email with a working one-click unsubscribe that no one can forge for someone else; two
//! admins deciding one account's status at once; suspension ending sessions and sign-in; a ban
//! withdrawing open tickets and refunding them; every step in the action log.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use fittrack_tests::both_backends;
use fittrack_tests::server::{Backend, PASSWORD, Settings, TestApp, spawn_app, unique_ip};

use crate::drawings::{buy, drawing_with_prizes, earn_200, send, wait_for_status};

/// Every operation of the API document under `/api/v1/admin/`, with its path made concrete.
fn admin_operations() -> Vec<(reqwest::Method, String)> {
    let document: Value =
        serde_json::from_str(include_str!("../../../docs/openapi.json")).expect("the API document parses");
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/admin/") {
            continue;
        }
        let concrete = path.replace("{id}", "0192f0c1-7a2b-7c3d-8e4f-0123456789ab").replace("{prize_id}", "p1");
        for method in item.as_object().unwrap().keys() {
            operations.push((method.to_uppercase().parse().unwrap(), concrete.clone()));
        }
    }
    operations
}

#[tokio::test]
async fn every_admin_route_refuses_users_and_strangers() {
    let app = spawn_app(Settings::new(Backend::Embedded)).await;
    let user = app.user_with_profile().await;
    let operations = admin_operations();
    assert!(operations.len() >= 25, "the document lists the admin routes: {}", operations.len());
    for (method, path) in operations {
        let request = app.http.request(method.clone(), format!("{}{path}", app.base));
        let stranger = request.try_clone().unwrap().send().await.unwrap();
        assert_eq!(stranger.status(), 401, "{method} {path} without a session");
        let response = request.bearer_auth(&user).json(&json!({})).send().await.unwrap();
        assert_eq!(response.status(), 403, "{method} {path} as a user");
        assert_eq!(response.json::<Value>().await.unwrap()["code"], "forbidden");
    }
    app.stop().await;
}

async fn adjust(app: &TestApp, admin: &str, user: &str, key: Option<&str>, amount: i64) -> (u16, Value) {
    let mut request = app
        .http
        .post(format!("{}/api/v1/admin/users/{user}/adjust-points", app.base))
        .bearer_auth(admin)
        .json(&json!({"amount": amount, "reason": "sync outage on Nov 20"}));
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn set_status(app: &TestApp, admin: &str, user: &str, status: &str) -> (u16, Value) {
    send(
        app,
        reqwest::Method::PUT,
        &format!("/api/v1/admin/users/{user}/status"),
        admin,
        Some(json!({"status": status, "reason": "chargeback investigation"})),
    )
    .await
}

async fn wait_for_email(app: &TestApp, email: &str, needle: &str) -> String {
    let started = Instant::now();
    loop {
        let found = app.emails_to(&format!("To: {email}")).await;
        if let Some(message) = found.into_iter().find(|m| m.contains(needle)) {
            return message;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no email to {email} containing {needle:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn login_status(app: &TestApp, email: &str) -> (u16, Value) {
    let response = app.post("/api/v1/auth/login", json!({"email": email, "password": PASSWORD}), &unique_ip()).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn users_admin_can_find_adjust_suspend_and_reinstate(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let (admin, second_admin) = (app.admin().await, app.admin().await);
    let (ana, bo) = (app.user_with_profile().await, app.user_with_profile().await);
    earn_200(&app, &ana).await;
    let (ana_me, bo_me) = (app.accounts().me(&ana).await, app.accounts().me(&bo).await);
    let ana_id = ana_me.id.to_string();

    // Found by each index: exact email (any case), name prefix, status, tier.
    let search = |query: String| {
        let app = &app;
        let admin = &admin;
        async move {
            let (status, page) =
                send(app, reqwest::Method::GET, &format!("/api/v1/admin/users?{query}"), admin, None).await;
            assert_eq!(status, 200, "{page}");
            page["items"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(search(format!("email={}", ana_me.email.to_uppercase())).await, std::slice::from_ref(&ana_id));
    assert!(search("email=nobody@example.com".into()).await.is_empty());
    let named = search("display_name=test%20us&limit=100".into()).await;
    assert!(named.contains(&ana_id) && named.contains(&bo_me.id.to_string()));
    assert!(search("display_name=zz".into()).await.is_empty());
    let me: Value = app.get_auth("/api/v1/users/me", &ana).await.json().await.unwrap();
    let tier = me["tier"]["code"].as_str().unwrap().to_owned();
    assert!(search(format!("tier={tier}&limit=100")).await.contains(&ana_id));
    assert!(search("status=active&limit=100".into()).await.contains(&ana_id));
    assert!(search("status=suspended".into()).await.is_empty());
    let (status, problem) = send(&app, reqwest::Method::GET, "/api/v1/admin/users?tier=X-1", &admin, None).await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (422, Some("invalid_tier")));

    // The whole picture.
    let (status, detail) =
        send(&app, reqwest::Method::GET, &format!("/api/v1/admin/users/{ana_id}"), &admin, None).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["account"]["email"], ana_me.email.as_str());
    assert_eq!(detail["balance"]["balance"], 200);
    assert_eq!(detail["recent_transactions"][0]["kind"], "earn");

    // An adjustment sent twice at once with one key books once; a debit past the balance is clamped.
    let (first, second) = tokio::join!(
        adjust(&app, &admin, &ana_id, Some("adj-1"), 50),
        adjust(&app, &admin, &ana_id, Some("adj-1"), 50)
    );
    assert_eq!((first.0, second.0), (201, 201), "{first:?} {second:?}");
    assert_eq!(first.1, second.1, "the retry answers the first receipt");
    assert_eq!(app.points().balance(&ana).await.balance, 250);
    let (status, clamped) = adjust(&app, &admin, &ana_id, Some("adj-2"), -1_000).await;
    assert_eq!(status, 201);
    assert_eq!((clamped["applied"].as_i64(), clamped["clamped_by"].as_i64()), (Some(-250), Some(-750)));
    assert_eq!(app.points().balance(&ana).await.balance, 0, "200 earned + 50 - 250 by hand");
    let (_, ledger) = send(&app, reqwest::Method::GET, "/api/v1/points/transactions", &ana, None).await;
    let newest = &ledger["items"][0];
    assert_eq!(
        (newest["kind"].as_str(), newest["amount"].as_i64(), newest["requested"].as_i64()),
        (Some("adjustment"), Some(-250), Some(-1_000))
    );
    let adjustments = ledger["items"].as_array().unwrap().iter().filter(|e| e["kind"] == "adjustment").count();
    assert_eq!(adjustments, 2, "one entry per key");
    let (status, problem) = adjust(&app, &admin, &ana_id, Some("adj-2"), -5).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("idempotency_key_reused")));
    assert_eq!(adjust(&app, &admin, &ana_id, None, 5).await.0, 400);
    assert_eq!(adjust(&app, &admin, &ana_id, Some("adj-3"), 0).await.0, 422);

    // Told in the app and by email, with a one-click unsubscribe only Ana's link can use.
    let email = wait_for_email(&app, &ana_me.email, "+50 points from the FitTrack team").await;
    assert!(email.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{email}");
    let link = email
        .lines()
        .find_map(|l| l.strip_prefix("List-Unsubscribe: <"))
        .and_then(|l| l.strip_suffix('>'))
        .expect("a List-Unsubscribe header")
        .to_owned();
    let path = link.split_once("/api/v1/").map(|(_, rest)| format!("/api/v1/{rest}")).unwrap();
    let forged = path.replace(&ana_id, &bo_me.id.to_string());
    let forged = app.http.post(format!("{}{forged}", app.base)).send().await.unwrap();
    assert_eq!(forged.status(), 400, "a link for another user is refused");
    let page = app.http.get(format!("{}{path}", app.base)).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("<form method=\"post\">"), "a GET only shows the button");
    let (_, prefs) = send(&app, reqwest::Method::GET, "/api/v1/users/me/notification-preferences", &ana, None).await;
    assert_eq!(prefs["email"]["points_updates"], true, "a GET changes nothing");
    let done = app
        .http
        .post(format!("{}{path}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let (_, prefs) = send(&app, reqwest::Method::GET, "/api/v1/users/me/notification-preferences", &ana, None).await;
    assert_eq!(
        (prefs["email"]["points_updates"].as_bool(), prefs["email"]["prize_updates"].as_bool()),
        (Some(false), Some(true))
    );
    let (_, bo_prefs) = send(&app, reqwest::Method::GET, "/api/v1/users/me/notification-preferences", &bo, None).await;
    assert_eq!(bo_prefs["email"]["points_updates"], true, "Bo's choices are his own");
    // Unsubscribed: the next adjustment is in the app, not in the mailbox.
    assert_eq!(adjust(&app, &admin, &ana_id, Some("adj-4"), 7).await.0, 201);
    let (_, notes) = send(&app, reqwest::Method::GET, "/api/v1/notifications", &ana, None).await;
    assert_eq!(notes["items"][0]["title"], "+7 points");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(app.emails_to(&format!("To: {}", ana_me.email)).await.iter().all(|m| !m.contains("+7 points")));

    // Two admins decide at once. A decision made on a status that changed meanwhile is refused
    // (409); one that reads the other's result first is a legal step from it. Either way the
    // account's history is one chain of legal steps, each logged once.
    let (a, b) = tokio::join!(
        set_status(&app, &admin, &ana_id, "suspended"),
        set_status(&app, &second_admin, &ana_id, "banned")
    );
    for (status, body) in [&a, &b] {
        assert!(*status == 200 || (*status == 409 && body["code"] == "conflict"), "{status} {body}");
    }
    let landed = [&a, &b].iter().filter(|o| o.0 == 200).count();
    assert!(landed >= 1, "{a:?} {b:?}");
    let (_, detail) = send(&app, reqwest::Method::GET, &format!("/api/v1/admin/users/{ana_id}"), &admin, None).await;
    let landed_status = detail["account"]["status"].as_str().unwrap().to_owned();
    // Every session ended at once, and sign-in refuses the account.
    assert_eq!(app.get_auth("/api/v1/users/me", &ana).await.status(), 401);
    let (status, problem) = login_status(&app, &ana_me.email).await;
    assert_eq!((status, problem["code"].as_str()), (403, Some(format!("account_{landed_status}").as_str())));
    // Admins cannot decide about themselves; a banned account comes back to active only.
    let admin_id = app.accounts().me(&admin).await.id.to_string();
    let (status, problem) = set_status(&app, &admin, &admin_id, "suspended").await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("own_account")));
    assert_eq!(set_status(&app, &admin, &ana_id, &landed_status).await.0, 200, "asking again changes nothing");
    let (status, _) = set_status(&app, &admin, &ana_id, "active").await;
    assert_eq!(status, 200);
    let (status, tokens) = login_status(&app, &ana_me.email).await;
    assert_eq!(status, 200, "reinstated: {tokens}");
    let ana = tokens["access_token"].as_str().unwrap().to_owned();
    let (_, notes) = send(&app, reqwest::Method::GET, "/api/v1/notifications?is_read=false", &ana, None).await;
    let titles: Vec<&str> = notes["items"].as_array().unwrap().iter().map(|n| n["title"].as_str().unwrap()).collect();
    assert_eq!(
        titles[..2],
        [
            "Your account is active again",
            if landed_status == "banned" { "Your account is closed" } else { "Your account is suspended" }
        ]
    );
    let essential = if landed_status == "banned" {
        "Your FitTrack account is closed"
    } else {
        "Your FitTrack account is suspended"
    };
    let sent = wait_for_email(&app, &ana_me.email, essential).await;
    assert!(!sent.contains("List-Unsubscribe"), "account emails are essential: no unsubscribe");

    // The log has each decision once, with who, why and what changed.
    let (_, log) =
        send(&app, reqwest::Method::GET, &format!("/api/v1/admin/users/{ana_id}/actions?limit=100"), &admin, None)
            .await;
    let entries = log["items"].as_array().unwrap();
    let mut changes: Vec<&Value> = entries.iter().filter(|e| e["action"] == "user_status_changed").collect();
    changes.reverse();
    assert_eq!(changes.len(), landed + 1, "each decision that landed once, then the reinstatement");
    let mut status = "active";
    for change in &changes {
        assert_eq!(change["before"]["status"], status, "a chain of legal steps: {changes:?}");
        status = change["after"]["status"].as_str().unwrap();
    }
    assert_eq!(changes[landed - 1]["after"]["status"], landed_status.as_str());
    let adjusted = entries.iter().filter(|e| e["action"] == "points_adjusted").count();
    assert_eq!(adjusted, 3, "adj-1 once, adj-2, adj-4");
    assert!(entries.iter().all(|e| e["request_id"].as_str().is_some_and(|r| !r.is_empty())));
    assert_eq!(
        entries.iter().find(|e| e["action"] == "user_status_changed").unwrap()["reason"],
        "chargeback investigation"
    );
    let (_, by_second) = send(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/admin/actions?admin={}", app.accounts().me(&second_admin).await.id),
        &admin,
        None,
    )
    .await;
    let by_second = by_second["items"].as_array().unwrap().len();
    assert_eq!(by_second, usize::from(b.0 == 200), "the second admin's entry only if their decision landed");
    assert!(app.conformance.violations().is_empty(), "{:?}", app.conformance.violations());
    app.stop().await;
}
both_backends!(users_admin_can_find_adjust_suspend_and_reinstate);

async fn a_ban_withdraws_open_tickets_and_refunds_them(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let admin = app.admin().await;
    let (ana, bo) = (app.user_with_profile().await, app.user_with_profile().await);
    earn_200(&app, &ana).await;
    earn_200(&app, &bo).await;
    let ana_me = app.accounts().me(&ana).await;
    let (ana_id, ana_email) = (ana_me.id.to_string(), ana_me.email);
    let id = drawing_with_prizes(&app, &admin, 50).await;
    send(&app, reqwest::Method::POST, &format!("/api/v1/admin/drawings/{id}/schedule"), &admin, None).await;
    wait_for_status(&app, &id, &ana, "open").await;
    assert_eq!(buy(&app, &id, &ana, 3, "ana-1").await.0, 201);
    assert_eq!(buy(&app, &id, &ana, 2, "ana-2").await.0, 201);
    assert_eq!(
        send(&app, reqwest::Method::POST, &format!("/api/v1/drawings/{id}/free-entry"), &ana, None).await.0,
        201
    );
    assert_eq!(buy(&app, &id, &bo, 2, "bo-1").await.0, 201);
    assert_eq!(app.points().balance(&ana).await.balance, 200 - 5 * crate::drawings::COST);

    let (status, banned) = set_status(&app, &admin, &ana_id, "banned").await;
    assert_eq!((status, banned["status"].as_str()), (200, Some("banned")), "{banned}");
    // The scheduler withdraws Ana's tickets and gives back every point they cost, once.
    let started = Instant::now();
    loop {
        let (_, detail) =
            send(&app, reqwest::Method::GET, &format!("/api/v1/admin/users/{ana_id}"), &admin, None).await;
        if detail["balance"]["balance"] == 200 {
            let refunds =
                detail["recent_transactions"].as_array().unwrap().iter().filter(|e| e["kind"] == "refund").count();
            assert_eq!(refunds, 2, "one refund per purchase");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never refunded: {detail}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, drawing) = send(&app, reqwest::Method::GET, &format!("/api/v1/drawings/{id}"), &bo, None).await;
    assert_eq!(
        (drawing["counts"]["tickets"].as_u64(), drawing["counts"]["entrants"].as_u64()),
        (Some(2), Some(1)),
        "{drawing}"
    );
    // Reinstated, Ana is back, but not into this drawing: the ban withdrew her from it for good.
    assert_eq!(set_status(&app, &admin, &ana_id, "active").await.0, 200);
    let (status, tokens) = login_status(&app, &ana_email).await;
    assert_eq!(status, 200);
    let ana = tokens["access_token"].as_str().unwrap().to_owned();
    let (status, refused) = buy(&app, &id, &ana, 1, "ana-3").await;
    assert_eq!((status, refused["errors"][0]["code"].as_str()), (403, Some("account_restricted")), "{refused}");
    assert_eq!(app.points().balance(&ana).await.balance, 200);
    // The draw sees only Bo's tickets.
    app.clock.advance(chrono::Duration::minutes(6));
    wait_for_status(&app, &id, &bo, "closed").await;
    let (_, committed) =
        send(&app, reqwest::Method::GET, &format!("/api/v1/drawings/{id}/commitment"), &bo, None).await;
    assert_eq!((committed["tickets"].as_u64(), committed["entrants"].as_u64()), (Some(2), Some(1)), "{committed}");
    let (_, log) =
        send(&app, reqwest::Method::GET, &format!("/api/v1/admin/users/{ana_id}/actions"), &admin, None).await;
    assert_eq!(log["items"][1]["after"]["status"], "banned");
    app.stop().await;
}
both_backends!(a_ban_withdraws_open_tickets_and_refunds_them);
