//! Google Health and Strava end to end, against the local fakes: the OAuth flow (initiate →
//! provider → callback → tokens sealed → refresh), syncing with paging, 401/refresh, 429 and a
//! revoked grant, webhooks, and disconnecting with revocation at the provider.

use std::time::Duration;

use serde_json::{Value, json};

use fittrack_platform::clock::Clock;
use fittrack_tests::both_backends;
use fittrack_tests::fake_trackers::{self, FakeTrackers};
use fittrack_tests::server::{Backend, Settings, TestApp, spawn_app};

async fn spawn(backend: Backend) -> (TestApp, FakeTrackers) {
    let fake = FakeTrackers::start().await;
    let settings =
        Settings { sync_tick: Duration::from_millis(100), trackers: fake.config(), ..Settings::new(backend) };
    (spawn_app(settings).await, fake)
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[reqwest::header::LOCATION].to_str().unwrap().to_owned()
}

/// A flow started by "initiate": the provider's consent URL and the binding cookie the
/// initiating browser got (as `name=value`).
struct Started {
    url: reqwest::Url,
    cookie: String,
}

async fn initiate(app: &TestApp, token: &str, provider: &str) -> Started {
    let started = app.post_auth(&format!("/api/v1/connections/{provider}/initiate"), token, json!({})).await;
    assert_eq!(started.status(), 200);
    let set_cookie = started.headers()[reqwest::header::SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", &format!("Path=/api/v1/connections/{provider}/callback")] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let started: Value = started.json().await.unwrap();
    assert_eq!(started["status"], "authorization_required");
    assert!(started.get("browser_binding").is_none(), "the binding is never in a body: {started}");
    Started { url: reqwest::Url::parse(started["authorization_url"].as_str().unwrap()).unwrap(), cookie }
}

/// The user consents at the (fake) provider: where it sends the browser back, on our API.
async fn consent(app: &TestApp, url: reqwest::Url) -> String {
    let consent = no_redirects().get(url).send().await.unwrap();
    assert_eq!(consent.status(), 303, "{}", consent.text().await.unwrap());
    let back = reqwest::Url::parse(&location(&consent)).unwrap();
    format!("{}{}?{}", app.base, back.path(), back.query().unwrap())
}

/// A browser landing on the callback, with the given cookie (if any): where it is sent next.
async fn land(callback: &str, cookie: Option<&str>) -> String {
    let mut request = no_redirects().get(callback);
    if let Some(cookie) = cookie {
        request = request.header(reqwest::header::COOKIE, cookie);
    }
    let landed = request.send().await.unwrap();
    assert_eq!(landed.status(), 303);
    location(&landed)
}

/// Plays the browser: initiate, consent at the provider, land on our callback. Returns where the
/// callback sent the browser, and the callback URL with the browser's cookie (to replay it).
async fn authorize(app: &TestApp, token: &str, provider: &str) -> (String, (String, String)) {
    let started = initiate(app, token, provider).await;
    let query: std::collections::HashMap<_, _> = started.url.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256");
    assert!(query["state"].len() >= 43, "a 256-bit state: {}", query["state"]);
    assert!(query["code_challenge"].len() >= 43);
    assert!(query["redirect_uri"].ends_with(&format!("/api/v1/connections/{provider}/callback")));
    let callback = consent(app, started.url).await;
    (land(&callback, Some(&started.cookie)).await, (callback, started.cookie))
}

async fn connection(app: &TestApp, token: &str, provider: &str) -> Value {
    let list: Value = app.get_auth("/api/v1/connections", token).await.json().await.unwrap();
    list["items"].as_array().unwrap().iter().find(|c| c["provider"] == provider).cloned().unwrap_or(Value::Null)
}

/// Polls until `done` holds for the connection (the worker and scheduler run in the background).
async fn until(app: &TestApp, token: &str, provider: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let current = connection(app, token, provider).await;
        if done(&current) {
            return current;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{provider}: never {what}: {}", connection(app, token, provider).await);
}

async fn sync_now(app: &TestApp, token: &str, provider: &str) {
    let response = app.post_auth(&format!("/api/v1/connections/{provider}/sync"), token, json!({})).await;
    assert_eq!(response.status(), 202);
}

async fn activities(app: &TestApp, token: &str) -> Vec<Value> {
    let body: Value = app.get_auth("/api/v1/activities?limit=100", token).await.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

async fn google_health_connects_syncs_refreshes_and_revokes(backend: Backend) {
    let (app, fake) = spawn(backend).await;
    let now = app.clock.now();
    fake.with(|s| {
        s.steps = (0..6).map(|i| (now - chrono::Duration::hours(3) + chrono::Duration::minutes(i), 1_500)).collect();
        s.exercises = vec![(now - chrono::Duration::hours(2), 30, "RUNNING")];
    });
    let token = app.user_with_profile().await;

    let (landed, (callback, cookie)) = authorize(&app, &token, "google_health").await;
    assert!(landed.ends_with("/connections?provider=google_health&result=connected"), "{landed}");
    let replay = land(&callback, Some(&cookie)).await;
    assert!(replay.ends_with("result=failed&code=invalid_authorization_state"), "state is single use");

    if backend == Backend::Embedded {
        // The grant is stored sealed: no token appears anywhere in the database files.
        for token in fake.access_tokens() {
            assert_eq!(app.files_containing(&token), Vec::<std::path::PathBuf>::new(), "plaintext token");
        }
    }

    // Due at once: the scheduler syncs it; six step points come over three pages plus the run.
    let synced = until(&app, &token, "google_health", "synced", |c| c["last_synced_to"].is_string()).await;
    assert_eq!(synced["status"], "active");
    let records = activities(&app, &token).await;
    let steps: u64 =
        records.iter().filter(|a| a["source"] == "google_health").map(|a| a["steps"].as_u64().unwrap()).sum();
    assert_eq!(steps, 9_000);
    assert!(records.iter().any(|a| a["kind"] == "run" && a["workout"] == true));
    let balance: Value = app.get_auth("/api/v1/points/balance", &token).await.json().await.unwrap();
    assert!(balance["balance"].as_i64().unwrap() > 0);

    // The access token stops working: the next sync refreshes once and carries on.
    fake.expire_access_tokens();
    sync_now(&app, &token, "google_health").await;
    for _ in 0..100 {
        if fake.with(|s| s.refreshes) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(fake.with(|s| s.refreshes), 1);
    until(&app, &token, "google_health", "recovered", |c| c["last_error"].is_null() && c["status"] == "active").await;

    // A rate limit is recorded and waited out, not retried in a loop.
    fake.with(|s| s.rate_limit_next = Some(120));
    sync_now(&app, &token, "google_health").await;
    let limited = until(&app, &token, "google_health", "rate limited", |c| c["last_error"].is_string()).await;
    assert!(limited["last_error"].as_str().unwrap().contains("rate limit"), "{limited}");

    // The user revoked us at Google: refreshing fails, the connection waits for the user.
    fake.revoke_all_grants();
    sync_now(&app, &token, "google_health").await;
    until(&app, &token, "google_health", "parked", |c| c["status"] == "reauthorization_required").await;
    // Connecting again restores it.
    let (landed, _) = authorize(&app, &token, "google_health").await;
    assert!(landed.ends_with("result=connected"));
    assert_eq!(connection(&app, &token, "google_health").await["status"], "active");

    let revocations = fake.with(|s| s.revocations);
    let url = format!("{}/api/v1/connections/google_health", app.base);
    assert_eq!(app.http.delete(&url).bearer_auth(&token).send().await.unwrap().status(), 204);
    assert_eq!(fake.with(|s| s.revocations), revocations + 1, "revoked at Google too");
    assert!(connection(&app, &token, "google_health").await.is_null());
    app.stop().await;
}
both_backends!(google_health_connects_syncs_refreshes_and_revokes);

async fn strava_connects_and_webhooks_trigger_syncs(backend: Backend) {
    let (app, fake) = spawn(backend).await;
    let now = app.clock.now();
    fake.with(|s| s.strava_activities = vec![(1001, now - chrono::Duration::hours(5), 1_800, "Run")]);
    let token = app.user_with_profile().await;
    let (landed, _) = authorize(&app, &token, "strava").await;
    assert!(landed.ends_with("provider=strava&result=connected"), "{landed}");
    until(&app, &token, "strava", "synced", |c| c["last_synced_to"].is_string()).await;
    assert_eq!(activities(&app, &token).await.iter().filter(|a| a["source"] == "strava").count(), 1);

    // Subscription validation echoes the challenge only for our verify token.
    let hub = |verify: &str| {
        format!(
            "{}/api/v1/webhooks/strava?hub.mode=subscribe&hub.verify_token={verify}&hub.challenge=15f7d1a9",
            app.base
        )
    };
    let ok = app.http.get(hub(fake_trackers::STRAVA_VERIFY_TOKEN)).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.json::<Value>().await.unwrap(), json!({"hub.challenge": "15f7d1a9"}));
    assert_eq!(app.http.get(hub("guess")).send().await.unwrap().status(), 403);

    // A new activity at Strava, announced by webhook, arrives without waiting for the schedule.
    fake.with(|s| s.strava_activities.push((1002, now - chrono::Duration::hours(1), 2_400, "Ride")));
    let event = json!({"object_type": "activity", "object_id": 1002, "aspect_type": "create",
        "owner_id": fake_trackers::STRAVA_ATHLETE, "subscription_id": fake_trackers::STRAVA_SUBSCRIPTION_ID, "event_time": now.timestamp(), "updates": {}});
    let response = app.http.post(format!("{}/api/v1/webhooks/strava", app.base)).json(&event).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut seen = 0;
    for _ in 0..100 {
        seen = activities(&app, &token).await.iter().filter(|a| a["source"] == "strava").count();
        if seen == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, 2, "the webhook's activity was synced");
    let unknown = json!({"object_type": "activity", "object_id": 1, "aspect_type": "create", "owner_id": 999,
        "subscription_id": fake_trackers::STRAVA_SUBSCRIPTION_ID});
    let response = app.http.post(format!("{}/api/v1/webhooks/strava", app.base)).json(&unknown).send().await.unwrap();
    assert_eq!(response.status(), 200, "unknown athletes are acknowledged and ignored");

    let url = format!("{}/api/v1/connections/strava", app.base);
    assert_eq!(app.http.delete(&url).bearer_auth(&token).send().await.unwrap().status(), 204);
    assert_eq!(fake.with(|s| s.revocations), 1, "deauthorized at Strava");
    app.stop().await;
}
both_backends!(strava_connects_and_webhooks_trigger_syncs);

/// Forged Strava events (athlete ids are public) cannot drive syncs: another subscription's are
/// ignored, and a burst moves the athlete's sync once (the daily budget: `tests/sync_worker.rs`).
async fn forged_strava_events_cannot_drive_syncs(backend: Backend) {
    let (app, fake) = spawn(backend).await;
    let token = app.user_with_profile().await;
    let (landed, _) = authorize(&app, &token, "strava").await;
    assert!(landed.ends_with("result=connected"), "{landed}");
    until(&app, &token, "strava", "synced", |c| c["last_synced_to"].is_string()).await;
    let fetches = || fake.with(|s| s.data_requests);
    let settled = fetches();
    let event = |subscription: u64| {
        json!({"object_type": "activity", "object_id": 5, "aspect_type": "create",
            "owner_id": fake_trackers::STRAVA_ATHLETE, "subscription_id": subscription})
    };
    let post = |body: Value| {
        let (http, url) = (app.http.clone(), format!("{}/api/v1/webhooks/strava", app.base));
        async move { http.post(url).json(&body).send().await.unwrap().status() }
    };
    assert_eq!(post(event(999)).await, 200, "acknowledged");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(fetches(), settled, "another subscription's event moves nothing");

    // A burst of fifty: one sync.
    let burst =
        futures_util::future::join_all((0..50).map(|_| post(event(fake_trackers::STRAVA_SUBSCRIPTION_ID)))).await;
    assert!(burst.iter().all(|s| *s == 200));
    for _ in 0..100 {
        if fetches() > settled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(fetches(), settled + 1, "a burst of events is one sync");

    app.stop().await;
}
both_backends!(forged_strava_events_cannot_drive_syncs);

#[tokio::test]
async fn google_health_webhooks_need_the_subscriber_secret() {
    let (app, _fake) = spawn(Backend::Embedded).await;
    let url = format!("{}/api/v1/webhooks/google-health", app.base);
    let verification = json!({"type": "verification"});
    let anonymous = app.http.post(&url).json(&verification).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.json::<Value>().await.unwrap()["code"], "webhook_unauthorized");
    let wrong = app.http.post(&url).header("authorization", "nope").json(&verification).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let secret = fake_trackers::GOOGLE_WEBHOOK_SECRET;
    let verified = app.http.post(&url).header("authorization", secret).json(&verification).send().await.unwrap();
    assert_eq!(verified.status(), 201);
    let garbled = app.http.post(&url).header("authorization", secret).body("{").send().await.unwrap();
    assert_eq!(garbled.status(), 400);
    let unknown = json!({"healthUserId": "someone-else", "dataType": "steps"});
    let response = app.http.post(&url).header("authorization", secret).json(&unknown).send().await.unwrap();
    assert_eq!(response.status(), 204);
    app.stop().await;
}

#[tokio::test]
async fn callbacks_refuse_what_they_cannot_trust() {
    let (app, _fake) = spawn(Backend::Embedded).await;
    let token = app.user_with_profile().await;
    let forged = no_redirects()
        .get(format!("{}/api/v1/connections/strava/callback?code=c&state=forged", app.base))
        .send()
        .await
        .unwrap();
    assert!(location(&forged).ends_with("result=failed&code=invalid_authorization_state"));
    let declined = no_redirects()
        .get(format!("{}/api/v1/connections/strava/callback?error=access_denied&state=x", app.base))
        .send()
        .await
        .unwrap();
    assert!(location(&declined).ends_with("result=failed&code=authorization_declined"));
    let posted =
        app.post_auth("/api/v1/connections/strava/callback", &token, json!({"state": "forged", "code": "c"})).await;
    assert_eq!(posted.status(), 400);
    assert_eq!(posted.json::<Value>().await.unwrap()["code"], "invalid_authorization_state");
    // A state issued for Strava does not complete a Google connection.
    let started = initiate(&app, &token, "strava").await;
    let state = started.url.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let crossed =
        app.post_auth("/api/v1/connections/google_health/callback", &token, json!({"state": state, "code": "c"})).await;
    assert_eq!(crossed.json::<Value>().await.unwrap()["code"], "invalid_authorization_state");
    app.stop().await;
}

/// A stranger starts a flow on their own account and gets a victim to consent with the genuine
/// provider link: neither the victim's browser nor the victim's app can complete it, and the
/// stranger's pending authorization is untouched by the attempts.
async fn a_stranger_cannot_link_a_victims_tracker(backend: Backend) {
    let (app, _fake) = spawn(backend).await;
    let (stranger, victim) = (app.user_with_profile().await, app.user_with_profile().await);
    let started = initiate(&app, &stranger, "strava").await;
    let callback = consent(&app, started.url.clone()).await;

    // The victim's browser, with no cookie or with a binding of its own flow.
    let landed = land(&callback, None).await;
    assert!(landed.ends_with("result=failed&code=authorization_not_bound"), "{landed}");
    let own = initiate(&app, &victim, "strava").await;
    let landed = land(&callback, Some(&own.cookie)).await;
    assert!(landed.ends_with("result=failed&code=authorization_not_bound"), "{landed}");
    // The victim's app posting the code: signed in, but not as the one who started it.
    let query: std::collections::HashMap<_, _> =
        reqwest::Url::parse(&callback).unwrap().query_pairs().into_owned().collect();
    let body = json!({"state": query["state"], "code": query["code"]});
    let posted = app.post_auth("/api/v1/connections/strava/callback", &victim, body.clone()).await;
    assert_eq!(posted.status(), 403);
    assert_eq!(posted.json::<Value>().await.unwrap()["code"], "authorization_not_bound");
    // And nobody completes it without signing in.
    let anonymous = app.post("/api/v1/connections/strava/callback", body.clone(), "10.0.0.1").await;
    assert_eq!(anonymous.status(), 401);
    for token in [&stranger, &victim] {
        assert!(connection(&app, token, "strava").await.is_null(), "nothing was linked");
    }
    // The refusals changed nothing: the flow still completes for the browser that started it.
    let landed = land(&callback, Some(&started.cookie)).await;
    assert!(landed.ends_with("result=connected"), "{landed}");
    app.stop().await;
}
both_backends!(a_stranger_cannot_link_a_victims_tracker);

/// One Strava athlete offered to a second FitTrack account: refused, and both accounts go to the
/// review queue; the first link stays.
async fn a_tracker_account_feeds_one_account(backend: Backend) {
    let (app, fake) = spawn(backend).await;
    let (first, second) = (app.user_with_profile().await, app.user_with_profile().await);
    let (landed, _) = authorize(&app, &first, "strava").await;
    assert!(landed.ends_with("result=connected"), "{landed}");
    let (landed, _) = authorize(&app, &second, "strava").await;
    assert!(landed.ends_with("result=failed&code=tracker_account_in_use"), "{landed}");
    assert_eq!(fake.with(|s| s.revocations), 0, "not revoked: that would cut the first account's link too");
    assert!(connection(&app, &second, "strava").await.is_null());
    assert_eq!(connection(&app, &first, "strava").await["status"], "active");
    for token in [&first, &second] {
        let balance: Value = app.get_auth("/api/v1/points/balance", token).await.json().await.unwrap();
        assert_eq!(balance["under_review"], true, "both accounts are flagged: {balance}");
    }
    // The app's way gets the problem itself.
    let started = initiate(&app, &second, "strava").await;
    let callback = consent(&app, started.url).await;
    let query: std::collections::HashMap<_, _> =
        reqwest::Url::parse(&callback).unwrap().query_pairs().into_owned().collect();
    let posted = app
        .post_auth(
            "/api/v1/connections/strava/callback",
            &second,
            json!({"state": query["state"], "code": query["code"]}),
        )
        .await;
    assert_eq!(posted.status(), 409);
    assert_eq!(posted.json::<Value>().await.unwrap()["code"], "tracker_account_in_use");
    assert_eq!(connection(&app, &first, "strava").await["status"], "active", "the first link stands");
    app.stop().await;
}
both_backends!(a_tracker_account_feeds_one_account);
