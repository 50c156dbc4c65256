use std::time::Duration;

use fittrack_platform::ports::QueueId;
use serde_json::Value;

use fittrack_tests::both_backends;
use fittrack_tests::server::{Backend, Settings, TestApp, spawn_app};

async fn post(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.http.post(format!("{}{path}", app.base)).bearer_auth(token).send().await.unwrap()
}

async fn balance(app: &TestApp, token: &str) -> i64 {
    let body: Value = app.get_auth("/api/v1/points/balance", token).await.json().await.unwrap();
    body["balance"].as_i64().unwrap()
}

async fn the_simulated_tracker_earns_points_within_one_sync_tick(backend: Backend) {
    let app = spawn_app(Settings { sync_tick: Duration::from_millis(200), ..Settings::new(backend) }).await;
    let token = app.user_with_profile().await;
    let connected = post(&app, "/api/v1/connections/simulated/initiate", &token).await;
    assert_eq!(connected.status(), 201);

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
    let earned = balance(&app, &token).await;
    assert!(earned > 0, "no points after the first sync");
    let activities: Value = app.get_auth("/api/v1/activities", &token).await.json().await.unwrap();
    assert!(activities["items"].as_array().unwrap().iter().any(|a| a["source"] == "simulated"));
    let ledger: Value = app.get_auth("/api/v1/points/transactions?limit=100", &token).await.json().await.unwrap();
    let entries = ledger["items"].as_array().unwrap().len();
    let sum: i64 = ledger["items"].as_array().unwrap().iter().map(|e| e["amount"].as_i64().unwrap()).sum();
    assert_eq!(sum, earned);
    // The outbox relay (every second locally) publishes one point event per ledger entry.
    let queue = &app.server.as_ref().unwrap().queue;
    for _ in 0..50 {
        if queue.depth(QueueId::PointEvents) >= entries {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(queue.depth(QueueId::PointEvents), entries, "one point event per entry");

    // Not due again for an interval; a manual sync fetches the same data and books nothing.
    assert_eq!(app.server.as_ref().unwrap().sync.fan_out().await.unwrap(), 0);
    assert_eq!(post(&app, "/api/v1/connections/simulated/sync", &token).await.status(), 202);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(balance(&app, &token).await, earned);
    let ledger: Value = app.get_auth("/api/v1/points/transactions?limit=100", &token).await.json().await.unwrap();
    assert_eq!(ledger["items"].as_array().unwrap().len(), entries);

    let unknown = post(&app, "/api/v1/connections/fitbit/initiate", &token).await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.json::<Value>().await.unwrap()["code"], "provider_not_available");
    let url = format!("{}/api/v1/connections/simulated", app.base);
    assert_eq!(app.http.delete(&url).bearer_auth(&token).send().await.unwrap().status(), 204);
    assert_eq!(app.http.delete(&url).bearer_auth(&token).send().await.unwrap().status(), 404);
    let connections: Value = app.get_auth("/api/v1/connections", &token).await.json().await.unwrap();
    assert!(connections["items"].as_array().unwrap().is_empty());
    app.stop().await;
}
both_backends!(the_simulated_tracker_earns_points_within_one_sync_tick);
