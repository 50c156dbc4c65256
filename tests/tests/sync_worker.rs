//! The sync worker and its schedule: the fan-out leases a due connection to its next regular sync,
//! a successful job keeps that due time (one index move per sync), a job lost on the way comes back
//! one interval later, and the jobs of a batch run concurrently, each isolated from the others.

use std::sync::Arc;

use fittrack_platform::batch::{Delivery, run_batch};

use chrono::Duration;

use fittrack_domain::UserId;
use fittrack_local::SqliteStore;
use fittrack_platform::clock::ManualClock;
use fittrack_platform::ports::{ItemStore, Key, Table, TrackerError, TrackerProvider};
use fittrack_sync::{SyncJob, SyncService};
use fittrack_tests::sync_fixture::local_sync;
use fittrack_trackers::SimulatedTracker;

struct Scheduled {
    store: Arc<dyn ItemStore>,
    clock: Arc<ManualClock>,
    sync: SyncService,
}

fn scheduled() -> Scheduled {
    scheduled_with(Arc::new(SimulatedTracker))
}

fn scheduled_with(tracker: Arc<dyn TrackerProvider>) -> Scheduled {
    let store: Arc<dyn ItemStore> = Arc::new(SqliteStore::in_memory().unwrap());
    let clock = Arc::new(ManualClock::new("2026-06-10T16:00:00Z".parse().unwrap()));
    let sync = local_sync(Arc::clone(&store), vec![tracker], clock.clone());
    Scheduled { store, clock, sync }
}

async fn due_key(store: &dyn ItemStore, user: UserId) -> String {
    let key = Key::new(format!("USER#{user}"), "CONN#simulated");
    let item = store.get(Table::Users, &key).await.unwrap().unwrap();
    item["gsi1sk"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_successful_sync_keeps_the_leased_due_time() {
    let s = scheduled();
    let user = UserId::generate();
    s.sync.connect(user, "simulated").await.unwrap();
    assert_eq!(s.sync.fan_out().await.unwrap(), 1, "a new connection is due at once");
    let leased = due_key(s.store.as_ref(), user).await;
    s.sync.run(&SyncJob { user_id: user, provider: "simulated".into() }).await.unwrap();
    assert_eq!(due_key(s.store.as_ref(), user).await, leased, "the index entry did not move again");
    assert_eq!(s.sync.fan_out().await.unwrap(), 0);
    s.clock.advance(Duration::minutes(15) + Duration::seconds(1));
    assert_eq!(s.sync.fan_out().await.unwrap(), 1, "due again one interval later");
}

#[tokio::test]
async fn a_lost_job_comes_back_one_interval_later() {
    let s = scheduled();
    let user = UserId::generate();
    s.sync.connect(user, "simulated").await.unwrap();
    assert_eq!(s.sync.fan_out().await.unwrap(), 1);
    // The job never runs.
    s.clock.advance(Duration::minutes(14));
    assert_eq!(s.sync.fan_out().await.unwrap(), 0, "leased: not enqueued twice");
    s.clock.advance(Duration::minutes(1) + Duration::seconds(1));
    assert_eq!(s.sync.fan_out().await.unwrap(), 1);
}

/// The simulated tracker, except that fetching for one user panics (a bug in an adapter).
struct PanicsFor(UserId);

#[async_trait::async_trait]
impl TrackerProvider for PanicsFor {
    fn name(&self) -> &'static str {
        "simulated"
    }
    async fn fetch(
        &self,
        token: Option<&str>,
        user: UserId,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<fittrack_domain::activity::Activity>, TrackerError> {
        assert_ne!(user, self.0, "adapter bug");
        SimulatedTracker.fetch(token, user, from, to).await
    }
}

#[tokio::test]
async fn a_panicking_job_fails_only_its_own_message() {
    let doomed = UserId::generate();
    let s = scheduled_with(Arc::new(PanicsFor(doomed)));
    let users: Vec<UserId> = std::iter::once(doomed).chain((0..4).map(|_| UserId::generate())).collect();
    let mut bodies = Vec::new();
    for (n, user) in users.iter().enumerate() {
        s.sync.connect(*user, "simulated").await.unwrap();
        bodies.push((
            format!("m{n}"),
            serde_json::to_string(&SyncJob { user_id: *user, provider: "simulated".into() }).unwrap(),
        ));
    }
    bodies.push(("m-bad".into(), "{not json".into()));
    // The same message twice in one batch (SQS may deliver so): handled once.
    bodies.push(bodies[1].clone());
    let deliveries: Vec<Delivery> = bodies.iter().map(|(id, body)| Delivery { id, body }).collect();
    let mut failed = run_batch(&Arc::new(s.sync.worker().clone()), &deliveries, 10).await;
    failed.sort();
    assert_eq!(failed, ["m-bad", "m0"], "the panic and the malformed message fail; the rest synced");
    for user in &users[1..] {
        let connections = s.sync.connections(*user).await.unwrap();
        assert!(connections[0].last_synced_to.is_some());
    }
}

/// Webhooks only move a connection's next sync forward: once per minute, at most 24 times a UTC
/// day, never for a connection already due sooner; the worker's rewrite keeps the debounce.
#[tokio::test]
async fn webhooks_move_a_sync_within_a_daily_budget() {
    let s = scheduled();
    let user = UserId::generate();
    s.sync.connect(user, "simulated").await.unwrap();
    let index = serde_json::json!({"pk": "TRACKERUSER#simulated#athlete-1", "sk": "TRACKERUSER", "user_id": user});
    s.store.put(Table::Users, index.as_object().unwrap().clone(), None).await.unwrap();
    assert!(!s.sync.notify("simulated", "athlete-1").await.unwrap(), "already due now: nothing to move");
    assert_eq!(s.sync.fan_out().await.unwrap(), 1);
    s.sync.run(&SyncJob { user_id: user, provider: "simulated".into() }).await.unwrap();

    let burst = futures_util::future::join_all((0..20).map(|_| s.sync.notify("simulated", "athlete-1"))).await;
    assert_eq!(burst.into_iter().filter(|moved| *moved.as_ref().unwrap()).count(), 1, "a burst moves it once");
    assert_eq!(s.sync.fan_out().await.unwrap(), 1, "due now");
    s.sync.run(&SyncJob { user_id: user, provider: "simulated".into() }).await.unwrap();
    assert!(!s.sync.notify("simulated", "athlete-1").await.unwrap(), "the sync kept the debounce");

    let mut moved = 1;
    for _ in 0..40 {
        s.clock.advance(Duration::seconds(61));
        if s.sync.notify("simulated", "athlete-1").await.unwrap() {
            moved += 1;
            s.sync.fan_out().await.unwrap();
            s.sync.run(&SyncJob { user_id: user, provider: "simulated".into() }).await.unwrap();
        }
    }
    assert_eq!(moved, 24, "the day's budget");
    s.clock.advance(Duration::days(1));
    s.sync.fan_out().await.unwrap();
    s.sync.run(&SyncJob { user_id: user, provider: "simulated".into() }).await.unwrap();
    assert!(s.sync.notify("simulated", "athlete-1").await.unwrap(), "a new day, a new budget");
    assert!(!s.sync.notify("simulated", "unknown-athlete").await.unwrap());
}
