use std::time::Duration;

use fittrack_platform::ports::QueueId;
use serde_json::Value;

use fittrack_tests::both_backends;
use fittrack_tests::server::{Backend, Settings, TestApp, spawn_app};

async fn post(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.http.post(format!("{}{path}", app.base)).bearer_auth(token).send().await.unwrap()
}

async fn the_simulated_tracker_earns_points_within_one_sync_tick(backend: Backend) {
    let app = spawn_app(Settings { sync_tick: Duration::from_millis(200), ..Settings::new(backend) }).await;
    let token = app.user_with_profile().await;
    app.connections().connect_simulated(&token).await;

    // The local scheduler ticks every 200 ms here; a new connection is due at once.
    let mut synced = false;
    for _ in 0..100 {
        let connections: Value = app.get_auth("/api/v1/connections", &token).await.json().await.unwrap();
        if connections["items"][0]["last_synced_to"].is_string() {
            synced = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(synced, "the scheduler never synced the new connection");
    let earned = app.points().balance(&token).await.balance;
    assert!(earned > 0, "no points after the first sync");
    let activities: Value = app.get_auth("/api/v1/activities", &token).await.json().await.unwrap();
    assert!(activities["items"].as_array().unwrap().iter().any(|a| a["source"] == "simulated"));
    let ledger = app.points().transactions(&token, 100).await;
    let entries = ledger.items.len();
    let sum: i64 = ledger.items.iter().map(|e| e.amount).sum();
    assert_eq!(sum, earned);
    // The outbox relay (every second locally) publishes each entry's event, and the leaderboards
    // worker counts it: the all-time board shows every point earned, within seconds.
    let queue = &app.server.as_ref().unwrap().queue;
    let mut board = Value::Null;
    for _ in 0..200 {
        board = app.get_auth("/api/v1/leaderboards/all_time/me", &token).await.json().await.unwrap();
        if board["points"] == earned && queue.depth(QueueId::PointEvents) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(board["points"], earned, "{entries} entries on the board: {board}");
    assert_eq!(queue.depth(QueueId::PointEvents), 0, "nothing piles up");

    // Not due again for an interval; a manual sync fetches the same data and books nothing.
    assert_eq!(app.server.as_ref().unwrap().sync.fan_out().await.unwrap(), 0);
    app.connections().sync_now(&token, "simulated").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.points().balance(&token).await.balance, earned);
    assert_eq!(app.points().transactions(&token, 100).await.items.len(), entries);

    let unknown = post(&app, "/api/v1/connections/fitbit/initiate", &token).await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.json::<Value>().await.unwrap()["code"], "provider_not_available");
    let url = format!("{}/api/v1/connections/simulated", app.base);
    assert_eq!(app.http.delete(&url).bearer_auth(&token).send().await.unwrap().status(), 204);
    assert_eq!(app.http.delete(&url).bearer_auth(&token).send().await.unwrap().status(), 404);
    assert!(app.connections().list(&token).await.items.is_empty());
    app.stop().await;
}
both_backends!(the_simulated_tracker_earns_points_within_one_sync_tick);
