//! Leaderboards end to end: people earn through device uploads (two phones at once among them),
//! and the boards, `me`, the neighbours, `users/me/ranks` and a past period answer with the totals
//! the rate table gives by hand; someone in another tier never appears.

use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};
use serde_json::{Value, json};

use fittrack_domain::leaderboard::Period;
use fittrack_domain::points::{competition_day, day_bounds};
use fittrack_tests::both_backends;
use fittrack_tests::server::{Backend, Settings, TestApp, spawn_app};

/// A walk of `steps` on competition day `day`, starting `hour` hours after its midnight in New
/// York: 10 points per 1,000 steps (100 more at 10,000), nothing else.
fn walk(id: &str, day: NaiveDate, hour: i64, steps: u32) -> Value {
    let start: DateTime<Utc> = day_bounds(day).0 + chrono::Duration::hours(hour);
    let minutes = i64::from(steps / 100).max(20);
    json!({"id": id, "kind": "walk", "start": start, "end": start + chrono::Duration::minutes(minutes), "steps": steps})
}

/// Uploads a batch; returns the points it booked (two uploads racing for one day may book the
/// day's points in either of them).
async fn upload(app: &TestApp, token: &str, batch_id: &str, device: &str, records: Vec<Value>) -> i64 {
    let batch = json!({"batch_id": batch_id, "source": "health_connect", "device_id": device, "records": records});
    app.points().upload(token, &batch).await.points_booked
}

async fn get(app: &TestApp, path: &str, token: &str) -> Value {
    let response = app.get_auth(path, token).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.unwrap()
}

async fn problem(app: &TestApp, path: &str, token: &str) -> String {
    let response = app.get_auth(path, token).await;
    assert_eq!(response.status(), 400, "GET {path}");
    response.json::<Value>().await.unwrap()["code"].as_str().unwrap().to_owned()
}

/// Waits until the caller's place on `path`'s board shows `points`; returns how long it took.
async fn until_points(app: &TestApp, path: &str, token: &str, points: i64) -> Duration {
    let started = Instant::now();
    loop {
        let me = get(app, path, token).await;
        if me["points"] == points {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{path} never showed {points}: {me}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn set_profile(app: &TestApp, token: &str, sex: &str, name: &str, public: bool) {
    let profile = json!({"display_name": name, "sex": sex, "fitness_level": "intermediate",
        "time_zone": "America/Denver", "units": "metric", "public_profile": public});
    let response = app
        .http
        .put(format!("{}/api/v1/users/me/profile", app.base))
        .bearer_auth(token)
        .json(&profile)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

async fn boards_rank_people_of_one_tier_as_the_rules_say(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let (ana, bea, cy, dee) = (
        app.user_with_profile().await,
        app.user_with_profile().await,
        app.user_with_profile().await,
        app.user_with_profile().await,
    );
    set_profile(&app, &bea, "female", "Bea", true).await;
    // Someone in another tier, earning more than anyone.
    let other =
        app.signed_up_user(&fittrack_tests::server::unique_email()).await["access_token"].as_str().unwrap().to_owned();
    set_profile(&app, &other, "male", "Other", false).await;
    let tier = get(&app, "/api/v1/users/me", &ana).await["tier"]["code"].as_str().unwrap().to_owned();
    let other_tier = get(&app, "/api/v1/users/me", &other).await["tier"]["code"].as_str().unwrap().to_owned();
    assert_ne!(tier, other_tier);

    // Everything happens on yesterday's competition day, which is whole and in the past: its
    // daily board is a past period (still open for late syncs), reached with `period_start`.
    let today = competition_day(Utc::now());
    let yesterday = today - Days::new(1);
    let daily = format!("/api/v1/leaderboards/daily?period_start={yesterday}");
    let daily_me = format!("/api/v1/leaderboards/daily/me?period_start={yesterday}");

    // Bea: 10,000 steps = 100 + the 100-point step goal = 200. Cy: 5,000 = 50. Uploaded together.
    let _ = tokio::join!(
        upload(&app, &bea, "b1", "bea-phone", vec![walk("b1", yesterday, 8, 10_000)]),
        upload(&app, &cy, "c1", "cy-phone", vec![walk("c1", yesterday, 9, 5_000)]),
        upload(&app, &other, "o1", "o-phone", vec![walk("o1", yesterday, 8, 20_000)]),
    );
    until_points(&app, &daily_me, &cy, 50).await;
    // A minute later, Ana's two phones upload at once: 3,000 + 2,000 steps = 50, the same as Cy,
    // reached later, so Cy stays ahead of her.
    app.clock.advance(chrono::Duration::seconds(60));
    let uploaded = Instant::now();
    let (a1, a2) = tokio::join!(
        upload(&app, &ana, "a1", "ana-phone", vec![walk("a1", yesterday, 10, 3_000)]),
        upload(&app, &ana, "a2", "ana-watch", vec![walk("a2", yesterday, 12, 2_000)]),
    );
    assert_eq!(a1 + a2, 50, "the two uploads book the day once between them");
    let fresh = until_points(&app, &daily_me, &ana, 50).await;
    // A person's own place can show a moment before their row on the board has moved.
    let started = Instant::now();
    while get(&app, &daily, &ana).await["board"]["size"] != 3 {
        assert!(started.elapsed() < Duration::from_secs(20), "the board never held all three");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("leaderboard freshness after an upload: {:?} ({backend:?})", uploaded.elapsed().max(fresh));

    // The top of yesterday's board: Bea, Cy, Ana; Dee earned nothing; the other tier is absent.
    let board = get(&app, &daily, &ana).await;
    assert_eq!(board["board"]["size"], 3, "{board}");
    assert_eq!(board["board"]["tier"], tier.as_str());
    assert_eq!(board["board"]["period_start"], yesterday.to_string());
    let rows: Vec<(i64, i64, bool)> = board["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["rank"].as_i64().unwrap(), r["points"].as_i64().unwrap(), r["is_you"].as_bool().unwrap()))
        .collect();
    assert_eq!(rows, [(1, 200, false), (2, 50, false), (3, 50, true)]);
    assert_eq!(board["items"][0]["display_name"], "Bea", "a public profile shows its name and id");
    assert!(board["items"][0]["user_id"].is_string());
    assert!(board["items"][1]["user_id"].is_null(), "a private profile shows no id");
    assert!(board["items"][1]["display_name"].as_str().unwrap().starts_with("Athlete "));

    // Pages of one walk the same board.
    let first = get(&app, &format!("{daily}&limit=2"), &ana).await;
    assert_eq!(first["pagination"]["has_more"], true);
    let cursor = first["pagination"]["next_cursor"].as_str().unwrap().to_owned();
    let rest = get(&app, &format!("{daily}&limit=2&cursor={cursor}"), &ana).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!((rest["items"][0]["rank"].as_i64(), rest["items"][0]["is_you"].as_bool()), (Some(3), Some(true)));

    // Ana's place: third of three, with both others above her.
    let me = get(&app, &daily_me, &ana).await;
    assert_eq!((me["on_board"].as_bool(), me["rank"].as_i64(), me["points"].as_i64()), (Some(true), Some(3), Some(50)));
    assert_eq!(me["percentile"].as_f64(), Some(33.3));
    let above: Vec<i64> = me["above"].as_array().unwrap().iter().map(|r| r["rank"].as_i64().unwrap()).collect();
    assert_eq!(above, [1, 2]);
    assert!(me["below"].as_array().unwrap().is_empty());
    let bea_me = get(&app, &daily_me, &bea).await;
    assert_eq!((bea_me["rank"].as_i64(), bea_me["below"].as_array().unwrap().len()), (Some(1), 2));
    let dee_me = get(&app, &daily_me, &dee).await;
    assert_eq!((dee_me["on_board"].as_bool(), dee_me["rank"].as_i64()), (Some(false), None), "not on it yet: {dee_me}");

    // The other tier's board, asked for by code, holds only its own person.
    let theirs = get(&app, &format!("{daily}&tier={other_tier}"), &ana).await;
    assert_eq!(theirs["board"]["size"], 1);
    assert_eq!(theirs["items"][0]["points"], 200 + 100);

    // The all-time board counts the same day; the week and month hold it too.
    let all_time = get(&app, "/api/v1/leaderboards/all_time/me", &ana).await;
    assert_eq!((all_time["rank"].as_i64(), all_time["points"].as_i64()), (Some(3), Some(50)));
    let week_start = Period::Weekly.start_of(yesterday);
    let weekly = get(&app, &format!("/api/v1/leaderboards/weekly/me?period_start={week_start}"), &cy).await;
    assert_eq!((weekly["rank"].as_i64(), weekly["points"].as_i64()), (Some(2), Some(50)));

    // The home screen: today's board is empty for Ana; all-time has her third of three.
    let ranks = get(&app, "/api/v1/users/me/ranks", &ana).await;
    let by_period = |p: &str| ranks["boards"].as_array().unwrap().iter().find(|b| b["period"] == p).unwrap().clone();
    assert_eq!(by_period("daily")["on_board"], false);
    assert_eq!((by_period("all_time")["rank"].as_i64(), by_period("all_time")["size"].as_i64()), (Some(3), Some(3)));

    // Bea goes private: her row keeps its place and loses her name and id within seconds.
    set_profile(&app, &bea, "female", "Bea", false).await;
    let started = Instant::now();
    loop {
        let top = get(&app, &daily, &ana).await;
        if top["items"][0]["user_id"].is_null() {
            assert!(top["items"][0]["display_name"].as_str().unwrap().starts_with("Athlete "));
            assert_eq!((top["items"][0]["rank"].as_i64(), top["items"][0]["points"].as_i64()), (Some(1), Some(200)));
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "still shown by name: {top}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Bad input: a problem with a stable code, and nothing else.
    assert_eq!(problem(&app, "/api/v1/leaderboards/yearly", &ana).await, "invalid_period");
    assert_eq!(problem(&app, "/api/v1/leaderboards/daily?tier=X-1", &ana).await, "invalid_tier");
    let tuesday = (0..7).map(|d| today - Days::new(d)).find(|d| d.weekday() == Weekday::Tue).unwrap();
    assert_eq!(
        problem(&app, &format!("/api/v1/leaderboards/weekly?period_start={tuesday}"), &ana).await,
        "invalid_period_start"
    );
    assert_eq!(
        problem(&app, "/api/v1/leaderboards/all_time?period_start=2026-01-01", &ana).await,
        "invalid_period_start"
    );
    assert_eq!(problem(&app, "/api/v1/leaderboards/daily?period_start=yesterday", &ana).await, "invalid_period_start");
    assert_eq!(problem(&app, "/api/v1/leaderboards/daily?limit=0", &ana).await, "invalid_limit");
    assert_eq!(problem(&app, "/api/v1/leaderboards/daily?limit=101", &ana).await, "invalid_limit");
    assert_eq!(problem(&app, "/api/v1/leaderboards/daily?cursor=3.zz", &ana).await, "invalid_cursor");
    assert_eq!(problem(&app, "/api/v1/leaderboards/daily?limit=many", &ana).await, "invalid_query");
    assert_eq!(app.get_auth("/api/v1/leaderboards/daily", "not-a-token").await.status(), 401);
    app.stop().await;
}
both_backends!(boards_rank_people_of_one_tier_as_the_rules_say);
