//! Analytics end to end: three days of sign-ups, activity, purchases and a drawing, then every
//! figure of the four reports against the count done the slow way (listing the accounts, reading
//! each person's ledger, reading the drawing) and against what a person computes from the rules.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde_json::{Value, json};

use fittrack_domain::competition_day;
use fittrack_platform::clock::Clock;
use fittrack_tests::both_backends;
use fittrack_tests::server::{Backend, PASSWORD, Settings, TestApp, spawn_app, unique_ip};

use crate::drawings::{COST, buy, drawing_with_prizes, earn_200, send, wait_for_status};

async fn get(app: &TestApp, path: &str, token: &str) -> Value {
    let (status, body) = send(app, reqwest::Method::GET, path, token, None).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

async fn sign_in(app: &TestApp, email: &str) -> String {
    let login = app.post("/api/v1/auth/login", json!({"email": email, "password": PASSWORD}), &unique_ip()).await;
    login.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
}

/// Every account, the slow way: the whole admin list, page by page.
async fn all_accounts(app: &TestApp, admin: &str) -> Vec<Value> {
    let mut accounts = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/admin/users?limit=2&cursor={c}"),
            None => "/api/v1/admin/users?limit=2".to_owned(),
        };
        let page = get(app, &path, admin).await;
        accounts.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["pagination"]["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return accounts,
        }
    }
}

async fn counters_agree_with_the_slow_counts(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let day0 = competition_day(app.clock.now());
    // Who was active on which competition day, by hand as the test goes.
    let mut active: BTreeSet<(NaiveDate, String)> = BTreeSet::new();
    let today = |app: &TestApp| competition_day(app.clock.now());

    // Day 0: the admin and Ana and Bo sign up (and sign in); Ana's yesterday is booked.
    let admin = app.admin().await;
    let admin_id = app.accounts().me(&admin).await.id.to_string();
    active.insert((day0, admin_id));
    let ana = app.user_with_profile().await;
    let bo = app.user_with_profile().await;
    let (ana_me, bo_me) = (app.accounts().me(&ana).await, app.accounts().me(&bo).await);
    earn_200(&app, &ana).await;
    for who in [&ana_me, &bo_me] {
        active.insert((day0, who.id.to_string()));
    }

    // Day 1: Cy signs up, Bo's day is booked, Ana signs in again.
    app.clock.advance(Duration::hours(24));
    let day1 = today(&app);
    let cy = app.user_with_profile().await;
    let cy_me = app.accounts().me(&cy).await;
    earn_200(&app, &bo).await;
    let ana = sign_in(&app, &ana_me.email).await;
    for who in [&cy_me, &bo_me, &ana_me] {
        active.insert((day1, who.id.to_string()));
    }

    // Day 2: Cy's day is booked; a drawing opens, Ana and Bo buy, Cy enters free; it is drawn.
    app.clock.advance(Duration::hours(24));
    let day2 = today(&app);
    let admin = sign_in(&app, &app.accounts().me(&admin).await.email).await;
    earn_200(&app, &cy).await;
    let id = drawing_with_prizes(&app, &admin, 50).await;
    send(&app, reqwest::Method::POST, &format!("/api/v1/admin/drawings/{id}/schedule"), &admin, None).await;
    wait_for_status(&app, &id, &ana, "open").await;
    assert_eq!(buy(&app, &id, &ana, 3, "a").await.0, 201);
    assert_eq!(buy(&app, &id, &bo, 2, "b").await.0, 201);
    assert_eq!(send(&app, reqwest::Method::POST, &format!("/api/v1/drawings/{id}/free-entry"), &cy, None).await.0, 201);
    for who in [&ana_me, &bo_me, &cy_me] {
        active.insert((day2, who.id.to_string()));
    }
    let admin_me = app.accounts().me(&admin).await;
    active.insert((day2, admin_me.id.to_string()));
    let open = get(&app, "/api/v1/admin/analytics/drawings", &admin).await;
    let open_group = open.as_array().unwrap().iter().find(|g| g["status"] == "open").expect("an open group").clone();
    assert_eq!((open_group["drawings"].as_u64(), open_group["entrants"].is_null()), (Some(1), true));
    app.clock.advance(Duration::minutes(6));
    wait_for_status(&app, &id, &ana, "closed").await;
    app.clock.advance(Duration::minutes(5));
    wait_for_status(&app, &id, &ana, "completed").await;
    assert_eq!(today(&app), day2, "the test stays within its third day");

    // Overview, against the slow counts.
    let accounts = all_accounts(&app, &admin).await;
    let overview = get(&app, "/api/v1/admin/analytics/overview", &admin).await;
    assert_eq!(overview["total_users"].as_u64(), Some(accounts.len() as u64));
    assert_eq!(accounts.len(), 4, "the admin, Ana, Bo and Cy");
    let dau = active.iter().filter(|(d, _)| *d == day2).count() as u64;
    assert_eq!(overview["dau"].as_u64(), Some(dau), "{overview}");
    let month = |d: NaiveDate| (d.year(), d.month());
    let mau: BTreeSet<&String> = active.iter().filter(|(d, _)| month(*d) == month(day2)).map(|(_, u)| u).collect();
    assert_eq!(overview["mau"].as_u64(), Some(mau.len() as u64));
    assert_eq!(overview["active_drawings"], 0, "the only drawing is drawn");
    // Points, the slow way: every ledger entry of every person, written on day 2.
    let mut earned = 0;
    let mut spent = 0;
    for token in [&ana, &bo, &cy] {
        let ledger = get(&app, "/api/v1/points/transactions?limit=100", token).await;
        for entry in ledger["items"].as_array().unwrap() {
            let at: DateTime<Utc> = entry["created_at"].as_str().unwrap().parse().unwrap();
            if competition_day(at) != day2 {
                continue;
            }
            match entry["kind"].as_str().unwrap() {
                "earn" | "correction" | "release" => earned += entry["amount"].as_i64().unwrap(),
                "spend" | "refund" => spent -= entry["amount"].as_i64().unwrap(),
                _ => {}
            }
        }
    }
    assert_eq!((earned, spent), (200, 5 * COST), "by hand: Cy's day; Ana's 3 and Bo's 2 tickets");
    assert_eq!(
        (overview["points_earned_today"].as_i64(), overview["points_spent_today"].as_i64()),
        (Some(earned), Some(spent))
    );

    // Registrations per day, week and month, against the accounts' own creation times.
    let mut by_day: BTreeMap<NaiveDate, u64> = BTreeMap::new();
    for account in &accounts {
        let at: DateTime<Utc> = account["created_at"].as_str().unwrap().parse().unwrap();
        *by_day.entry(competition_day(at)).or_default() += 1;
    }
    assert_eq!(by_day.get(&day0).copied(), Some(3));
    let from = day0 - Duration::days(10);
    for bucket in ["day", "week", "month"] {
        let counts =
            get(&app, &format!("/api/v1/admin/analytics/registrations?bucket={bucket}&from={from}&to={day2}"), &admin)
                .await;
        let start = |d: NaiveDate| match bucket {
            "day" => d,
            "week" => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
            _ => d.with_day(1).unwrap(),
        };
        let mut expected: BTreeMap<NaiveDate, u64> = BTreeMap::new();
        let mut d = from;
        while d <= day2 {
            expected.entry(start(d)).or_default();
            d += Duration::days(1);
        }
        for (d, n) in &by_day {
            *expected.entry(start(*d)).or_default() += n;
        }
        let got: BTreeMap<NaiveDate, u64> = counts
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["start"].as_str().unwrap().parse().unwrap(), c["registrations"].as_u64().unwrap()))
            .collect();
        assert_eq!(got, expected, "{bucket}");
    }
    let (status, problem) = send(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/admin/analytics/registrations?from={day2}&to={day0}"),
        &admin,
        None,
    )
    .await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (422, Some("invalid_range")));

    // Activity: three booked days (Ana's day -1, Bo's day 0, Cy's day 1), 10,000 steps each:
    // 100 step points and the 100-point goal bonus a day, by the rate table.
    let activity =
        get(&app, &format!("/api/v1/admin/analytics/activity?from={}&to={day2}", day0 - Duration::days(1)), &admin)
            .await;
    assert_eq!(activity["active_user_days"], 3);
    let kind = |name: &str| activity["kinds"].as_array().unwrap().iter().find(|k| k["kind"] == name).unwrap().clone();
    assert_eq!(
        (kind("steps")["points"].as_i64(), kind("steps")["average_per_active_user"].as_f64()),
        (Some(300), Some(100.0))
    );
    assert_eq!(
        (kind("total")["points"].as_i64(), kind("total")["average_per_active_user"].as_f64()),
        (Some(600), Some(200.0))
    );
    assert_eq!(kind("workouts")["points"], 0);

    // Drawings: the drawn one's figures, against its own published commitment.
    let committed = get(&app, &format!("/api/v1/drawings/{id}/commitment"), &ana).await;
    let groups = get(&app, "/api/v1/admin/analytics/drawings", &admin).await;
    let groups = groups.as_array().unwrap();
    assert_eq!(groups.len(), 1, "one drawing, one group: {groups:?}");
    let done = &groups[0];
    assert_eq!(
        (done["drawing_type"].as_str(), done["status"].as_str(), done["drawings"].as_u64()),
        (Some("weekly"), Some("completed"), Some(1))
    );
    assert_eq!(
        (done["entrants"].as_u64(), done["tickets"].as_u64()),
        (committed["entrants"].as_u64(), committed["tickets"].as_u64())
    );
    assert_eq!(
        (committed["entrants"].as_u64(), committed["tickets"].as_u64()),
        (Some(3), Some(7)),
        "3 + 2 bought, 2 free"
    );
    assert_eq!(done["participation_rate"].as_f64(), Some(0.75), "3 entrants of 4 users");
    assert_eq!(done["tickets_per_participant"].as_f64(), Some(2.3333));
    assert!(app.conformance.violations().is_empty(), "{:?}", app.conformance.violations());
    app.stop().await;
}
both_backends!(counters_agree_with_the_slow_counts);
