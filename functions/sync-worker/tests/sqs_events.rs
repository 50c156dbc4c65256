//! The sync worker invoked with an SQS event.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::json;

use fittrack_domain::UserId;
use fittrack_local::{InProcessQueue, SqliteStore};
use fittrack_platform::Config;
use fittrack_platform::ports::{ItemStore, Queue, TrackerProvider};
use fittrack_trackers::SimulatedTracker;

fn record(id: &str, body: &str) -> serde_json::Value {
    json!({"messageId": id, "receiptHandle": format!("rh-{id}"), "body": body, "attributes": {}, "messageAttributes": {},
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:fittrack-sync", "awsRegion": "us-east-1"})
}

#[tokio::test]
async fn syncs_good_jobs_and_reports_malformed_ones() {
    let config =
        Config::from_lookup(|name| (name == "FITTRACK_TRACKER_KEY").then(fittrack_platform::crypto::generate_pii_key))
            .unwrap();
    let store: Arc<dyn ItemStore> = Arc::new(SqliteStore::in_memory().unwrap());
    let queue: Arc<dyn Queue> = Arc::new(InProcessQueue::default());
    let trackers: Vec<Arc<dyn TrackerProvider>> = vec![Arc::new(SimulatedTracker)];
    let clock = Arc::new(fittrack_platform::clock::SystemClock);
    let engine = fittrack_points::engine(Arc::clone(&store), clock.clone());
    // The connections API connects; the worker function only runs jobs.
    let sync =
        fittrack_sync::build::sync_service(&config, Arc::clone(&store), queue, engine, trackers.clone(), clock.clone())
            .unwrap();
    let worker = Arc::new(sync_worker::worker(&config, store, trackers, clock).unwrap());
    let user = UserId::generate();
    sync.connect(user, "simulated").await.unwrap();
    let good = json!({"user_id": user, "provider": "simulated"}).to_string();
    let gone = json!({"user_id": UserId::generate(), "provider": "simulated"}).to_string();
    let event: SqsEvent = serde_json::from_value(json!({"Records": [
        record("m-good", &good), record("m-bad", "{not json"), record("m-gone", &gone),
    ]}))
    .unwrap();

    let response = sync_worker::handle(event, &worker).await;

    assert_eq!(serde_json::to_value(&response).unwrap(), json!({"batchItemFailures": [{"itemIdentifier": "m-bad"}]}));
    let connection = sync.connection(user, "simulated").await.unwrap();
    assert!(connection.last_synced_to.is_some(), "the good job synced");
}
