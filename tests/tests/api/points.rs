use chrono::{Duration, Utc};
use serde_json::{Value, json};

use fittrack_tests::both_backends;
use fittrack_tests::server::{Backend, Settings, TestApp, spawn_app, unique_email};

fn walk(id: &str, hours_ago: i64, steps: u32) -> Value {
    let start = Utc::now() - Duration::hours(hours_ago);
    json!({"id": id, "kind": "walk", "start": start, "end": start + Duration::minutes(30), "steps": steps,
        "moderate_minutes": 30, "workout": true})
}

async fn upload(app: &TestApp, token: &str, batch: &Value) -> reqwest::Response {
    app.http.post(format!("{}/api/v1/ingest/batches", app.base)).bearer_auth(token).json(batch).send().await.unwrap()
}

async fn device_batches_earn_points_once(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let token = app.user_with_profile().await;
    let batch = json!({"batch_id": "b-1", "source": "health_connect", "device_id": "pixel-9",
        "records": [walk("r1", 3, 3_000), walk("r2", 2, 2_000)]});

    let receipt = app.points().upload(&token, &batch).await;
    let booked = receipt.points_booked;
    assert!(booked >= 2 * (20 + 60 + 50), "two walks earn their points: {receipt:?}");
    assert_eq!(receipt.records, 2);

    assert_eq!(app.points().balance(&token).await.balance, booked);

    // The app retries the same upload: nothing more is booked.
    let again = upload(&app, &token, &batch).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!((again["duplicate"].as_bool(), again["points_booked"].as_i64()), (Some(true), Some(0)));
    // The same records in a new batch (a re-sync) book nothing either.
    let mut resync = batch.clone();
    resync["batch_id"] = json!("b-2");
    assert_eq!(app.points().upload(&token, &resync).await.points_booked, 0);
    assert_eq!(app.points().balance(&token).await.balance, booked);

    let mut reused = batch.clone();
    reused["records"] = json!([walk("r3", 1, 500)]);
    let conflict = upload(&app, &token, &reused).await;
    assert_eq!(conflict.status(), 409);
    assert_eq!(conflict.json::<Value>().await.unwrap()["code"], "batch_conflict");

    let activities: Value = app.get_auth("/api/v1/activities", &token).await.json().await.unwrap();
    let items = activities["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "re-sent records are stored once: {activities}");
    assert!(items.iter().all(|a| a["counted"] == true && a["source"] == "health_connect"));
    assert!(items[0]["start"].as_str() > items[1]["start"].as_str(), "newest first");
    let runs: Value = app.get_auth("/api/v1/activities?kind=run", &token).await.json().await.unwrap();
    assert!(runs["items"].as_array().unwrap().is_empty());
    let paged: Value = app.get_auth("/api/v1/activities?limit=1", &token).await.json().await.unwrap();
    let cursor = paged["pagination"]["next_cursor"].as_str().unwrap().to_owned();
    let rest: Value =
        app.get_auth(&format!("/api/v1/activities?limit=1&cursor={cursor}"), &token).await.json().await.unwrap();
    assert_eq!(rest["items"][0], items[1]);
    assert_eq!(rest["pagination"]["has_more"], false);
    let summary = app.points().summary(&token).await;
    assert_eq!(summary.week.steps, 5_000);
    assert_eq!(summary.week.workouts, 2);
    assert_eq!(summary.week.points, booked);
    assert_eq!(app.get_auth("/api/v1/activities?from=2026-01-01&to=2026-03-01", &token).await.status(), 422);

    let ledger = app.points().transactions(&token, 1).await;
    assert_eq!(ledger.items.len(), 1);
    assert_eq!(ledger.items[0].balance_after, booked, "newest first, with the balance after it");
    let all = app.points().transactions(&token, 100).await;
    let sum: i64 = all.items.iter().map(|e| e.amount).sum();
    assert_eq!(sum, booked, "balance == sum(ledger)");
    app.stop().await;
}
both_backends!(device_batches_earn_points_once);

#[tokio::test]
async fn invalid_batches_change_nothing_and_incomplete_profiles_are_gated() {
    let app = spawn_app(Settings::new(Backend::Embedded)).await;
    let tokens = app.signed_up_user(&unique_email()).await;
    let incomplete = tokens["access_token"].as_str().unwrap();
    let batch = json!({"batch_id": "b-1", "source": "health_connect", "device_id": "pixel-9", "records": [walk("r1", 3, 3_000)]});
    let gated = upload(&app, incomplete, &batch).await;
    assert_eq!(gated.status(), 403);
    assert_eq!(gated.json::<Value>().await.unwrap()["code"], "profile_incomplete");

    let token = app.user_with_profile().await;
    let mut future = walk("r2", -2, 100);
    future["kind"] = json!("teleport");
    let bad = json!({"batch_id": "b-2", "source": "health_connect", "device_id": "pixel-9", "records": [walk("r1", 3, 3_000), future]});
    let response = upload(&app, &token, &bad).await;
    assert_eq!(response.status(), 422);
    let fields: Vec<String> = response.json::<Value>().await.unwrap()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["records[1].kind", "records[1].end"]);
    assert_eq!(app.points().balance(&token).await.balance, 0, "nothing of an invalid batch is stored");
    app.stop().await;
}

async fn a_device_feeding_two_accounts_lands_in_the_review_queue(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let (first, second) = (app.user_with_profile().await, app.user_with_profile().await);
    async fn shared_upload(app: &TestApp, token: &str, batch_id: &str) -> reqwest::StatusCode {
        // Each batch's walk an hour apart from the account's others: none is a duplicate.
        let hours_ago = match batch_id {
            "b-b" => 5,
            "b-a2" | "b-c2" => 3,
            "b-c3" => 4,
            _ => 2,
        };
        let batch = json!({"batch_id": batch_id, "source": "healthkit", "device_id": "shared-iphone",
            "records": [walk(&format!("r-{batch_id}"), hours_ago, 1_000)]});
        app.points().upload_status(token, &batch).await
    }
    for (token, batch_id) in [(&first, "b-a"), (&first, "b-b"), (&second, "b-c")] {
        assert_eq!(shared_upload(&app, token, batch_id).await, 201);
    }
    assert_eq!(app.get_auth("/api/v1/admin/reviews", &first).await.status(), 403);

    let admin = &app.admin().await;

    // One upload naming a device another account used first proves nothing (device ids are the
    // client's to choose): nobody is flagged yet.
    let open: Value = app.get_auth("/api/v1/admin/reviews", admin).await.json().await.unwrap();
    assert_eq!(open["items"].as_array().unwrap().len(), 0, "{open}");
    // The second account's second upload with it flags that account, and only that one, once.
    for batch_id in ["b-c2", "b-c3"] {
        assert_eq!(shared_upload(&app, &second, batch_id).await, 201, "flagged accounts keep uploading");
    }
    assert_eq!(shared_upload(&app, &first, "b-a2").await, 201);
    let first_balance = app.points().balance(&first).await;
    assert_eq!((first_balance.held, first_balance.under_review), (0, false));
    let me: Value = app.get_auth("/api/v1/users/me", &second).await.json().await.unwrap();
    let first_me: Value = app.get_auth("/api/v1/users/me", &first).await.json().await.unwrap();
    let open: Value = app.get_auth("/api/v1/admin/reviews", admin).await.json().await.unwrap();
    let items = open["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "one review, of the account that came second: {open}");
    assert_eq!((&items[0]["user_id"], &items[0]["reason"]), (&me["id"], &json!("shared_device")));
    assert_eq!(items[0]["related_users"], json!([first_me["id"]]));

    // Flagged accounts keep earning, but held: a new walk of the second account's pays nothing yet.
    let batch = json!({"batch_id": "b-d", "source": "healthkit", "device_id": "own-phone",
        "records": [walk("r-b-d", 1, 4_000)]});
    let receipt = app.points().upload(&second, &batch).await;
    let held = receipt.points_held;
    assert!(held > 0 && receipt.points_booked == 0, "{receipt:?}");
    let balance = app.points().balance(&second).await;
    // Its uploads from the one that flagged it were held too.
    let held_total = balance.held;
    assert!(held_total > held && balance.under_review, "{balance:?}");
    let spendable_before = balance.balance;

    let id = items[0]["id"].as_str().unwrap();
    let resolve = |id: String| {
        let (http, url, token) =
            (app.http.clone(), format!("{}/api/v1/admin/reviews/{id}/resolve", app.base), admin.to_owned());
        async move {
            http.post(url)
                .bearer_auth(token)
                .json(&json!({"resolution": "cleared", "note": "family tablet"}))
                .send()
                .await
                .unwrap()
        }
    };
    let resolved = resolve(id.to_owned()).await;
    assert_eq!(resolved.status(), 200);
    assert_eq!(resolved.json::<Value>().await.unwrap()["status"], "resolved");
    assert_eq!(resolve(id.to_owned()).await.status(), 404, "a review is resolved once");
    let balance = app.points().balance(&second).await;
    assert_eq!(balance.balance, spendable_before + held_total, "cleared: the held points are paid out");
    assert_eq!((balance.held, balance.under_review), (0, false));
    let open: Value = app.get_auth("/api/v1/admin/reviews", admin).await.json().await.unwrap();
    assert_eq!(open["items"].as_array().unwrap().len(), 0);
    let done: Value = app.get_auth("/api/v1/admin/reviews?status=resolved", admin).await.json().await.unwrap();
    assert_eq!(done["items"][0]["resolution"], "cleared");
    // The user is told, once, in the app; the admin's decision and note are in the action log.
    let notes: Value = app.get_auth("/api/v1/notifications", &second).await.json().await.unwrap();
    let told: Vec<&Value> =
        notes["items"].as_array().unwrap().iter().filter(|n| n["kind"] == "review_resolved").collect();
    assert_eq!(told.len(), 1, "{notes}");
    assert_eq!(told[0]["data"]["resolution"], "cleared");
    let path = format!("/api/v1/admin/users/{}/actions", me["id"].as_str().unwrap());
    let log: Value = app.get_auth(&path, admin).await.json().await.unwrap();
    assert_eq!(
        (log["items"][0]["action"].as_str(), log["items"][0]["reason"].as_str()),
        (Some("review_resolved"), Some("family tablet"))
    );
    assert_eq!(log["items"].as_array().unwrap().len(), 1, "the 404 retry logged nothing");
    app.stop().await;
}
both_backends!(a_device_feeding_two_accounts_lands_in_the_review_queue);

/// Twenty phones of one person upload at once, each four walks of the same day: every upload is
/// answered 201 and the day ends booked at what its eighty walks earn by hand, goal included.
async fn concurrent_uploads_for_one_day_book_what_the_day_earns(backend: Backend) {
    use fittrack_domain::competition_day;
    use fittrack_domain::points::day_bounds;

    let app = spawn_app(Settings::new(backend)).await;
    let token = app.user_with_profile().await;
    let yesterday = competition_day(Utc::now()).pred_opt().unwrap();
    let morning = day_bounds(yesterday).0 + Duration::hours(6);
    let uploads = (0..20).map(|phone| {
        let records: Vec<Value> = (0..4)
            .map(|walk| {
                let start = morning + Duration::minutes(10 * (4 * phone + walk));
                json!({"id": format!("walk-{walk}"), "kind": "walk", "start": start,
                    "end": start + Duration::minutes(10), "steps": 150, "light_minutes": 1})
            })
            .collect();
        let batch = json!({"batch_id": format!("phone-{phone}"), "source": "healthkit",
            "device_id": format!("phone-{phone}"), "records": records});
        let (app, token) = (&app, &token);
        async move {
            // As the app does: a busy answer (503) is retried a little later, with the same batch.
            let mut status = app.points().upload_status(token, &batch).await;
            for attempt in 1..30 {
                if status != 503 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
                status = app.points().upload_status(token, &batch).await;
            }
            status
        }
    });
    let statuses = futures_util::future::join_all(uploads).await;
    assert!(statuses.iter().all(|s| *s == 201), "every upload lands, retries included: {statuses:?}");

    // By hand: 80 × 150 = 12,000 steps = 120, 80 light minutes = 80, the 10,000-step goal = 100.
    let expected = 120 + 80 + 100;
    let balance = app.points().balance(&token).await;
    assert_eq!(balance.balance, expected, "{balance:?}");
    let summary = app.points().summary(&token).await;
    assert_eq!(summary.week.steps, 12_000);
    assert_eq!(summary.week.points, expected);
    app.stop().await;
}
both_backends!(concurrent_uploads_for_one_day_book_what_the_day_earns);
