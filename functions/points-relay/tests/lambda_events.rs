//! The relay Lambda's two triggers, on local adapters: a stream batch drains the shards it names,
//! a scheduled event sweeps them all.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use fittrack_domain::{DayPoints, UserId};
use fittrack_local::{InProcessQueue, SqliteStore};
use fittrack_platform::clock::SystemClock;
use fittrack_platform::ports::{ItemStore, Queue, QueueId};
use fittrack_points::{OutboxRelay, PointEvent, PointsLedger};
use serde_json::json;

fn stream_record(pk: &str) -> serde_json::Value {
    json!({
        "eventID": "1", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/points/stream/2026-11-22T00:00:00.000",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_795_000_000.0,
            "Keys": {"pk": {"S": pk}, "sk": {"S": "000001795000#u#000000000001"}},
            "SequenceNumber": "111", "SizeBytes": 26, "StreamViewType": "KEYS_ONLY"
        }
    })
}

fn scheduled_event() -> serde_json::Value {
    json!({"version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-22T10:00:00Z", "region": "us-east-1", "resources": [], "detail": {}})
}

#[test]
fn stream_batches_name_their_shards_and_schedules_sweep_all() {
    let batch = json!({"Records": [stream_record("OUTBOX#3"), stream_record("OUTBOX#3"), stream_record("OUTBOX#12")]});
    assert_eq!(points_relay::shards_to_drain(&batch), Some([3, 12].into()));
    let foreign = json!({"Records": [stream_record("USER#abc"), stream_record("OUTBOX#99")]});
    assert_eq!(points_relay::shards_to_drain(&foreign), Some([].into()), "not outbox keys: nothing to drain");
    assert_eq!(points_relay::shards_to_drain(&scheduled_event()), None);
}

async fn received(queue: &InProcessQueue) -> Vec<PointEvent> {
    let messages = queue.receive(QueueId::PointEvents, 10, Duration::from_millis(50)).await.unwrap();
    messages.iter().map(|m| serde_json::from_str(&m.body).unwrap()).collect()
}

#[tokio::test]
async fn the_handler_publishes_what_the_trigger_asks_for() {
    let store: Arc<dyn ItemStore> = Arc::new(SqliteStore::in_memory().unwrap());
    let queue = Arc::new(InProcessQueue::new(Duration::from_secs(30), 5));
    let ledger = PointsLedger::new(Arc::clone(&store), Arc::new(SystemClock));
    let user = UserId::generate();
    for (n, total) in [(1, 10), (2, 20)] {
        let points = DayPoints { steps: total, total, ..DayPoints::default() };
        ledger.book_day(user, NaiveDate::from_ymd_opt(2026, 11, n).unwrap(), &points).await.unwrap();
    }
    let relay = OutboxRelay::new(store, Arc::clone(&queue) as Arc<dyn Queue>);

    // Entries 1 and 2 sit in shards 1 and 2; the stream batch names only shard 2.
    let published = points_relay::handle(json!({"Records": [stream_record("OUTBOX#2")]}), &relay).await.unwrap();
    assert_eq!(published, 1);
    let events = received(&queue).await;
    assert_eq!(events.iter().map(|e| (e.seq, e.amount)).collect::<Vec<_>>(), [(2, 20)]);

    assert_eq!(points_relay::handle(scheduled_event(), &relay).await.unwrap(), 1, "the sweep finds the rest");
    assert_eq!(received(&queue).await[0].event_id, format!("{user}:1"));
    assert_eq!(points_relay::handle(scheduled_event(), &relay).await.unwrap(), 0, "nothing is published twice");
}
