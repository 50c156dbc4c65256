//! The transactional outbox: every ledger entry reaches the point-events queue at least once, even
//! when the relay dies before SQS accepted an event or after it did but before the outbox item
//! was deleted. On the embedded store with the in-process queue, and on DynamoDB with SQS.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDate;

use fittrack_domain::{DayPoints, UserId};
use fittrack_local::{InProcessQueue, SqliteStore};
use fittrack_platform::clock::SystemClock;
use fittrack_platform::ports::{ItemStore, Queue, QueueError, QueueId, ReceivedMessage};
use fittrack_points::{OutboxRelay, PointEvent, PointsLedger};
use fittrack_tests::emulator;

/// Where a relay run dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Crash {
    /// Before the queue accepted the `n`th event.
    BeforeSend(usize),
    /// After the queue accepted the `n`th event, before its outbox item was deleted.
    AfterSend(usize),
}

/// A queue that fails once, at a chosen send, the way a dying relay would.
struct CrashingQueue {
    inner: Arc<dyn Queue>,
    crash: Crash,
    sends: AtomicUsize,
}

#[async_trait]
impl Queue for CrashingQueue {
    async fn send(&self, queue: QueueId, body: &str) -> Result<(), QueueError> {
        let n = self.sends.fetch_add(1, Ordering::SeqCst);
        let died = || Err(QueueError::Unavailable("relay died".into()));
        match self.crash {
            Crash::BeforeSend(at) if at == n => died(),
            Crash::AfterSend(at) if at == n => {
                self.inner.send(queue, body).await?;
                died()
            }
            _ => self.inner.send(queue, body).await,
        }
    }
    async fn receive(&self, queue: QueueId, max: usize, wait: Duration) -> Result<Vec<ReceivedMessage>, QueueError> {
        self.inner.receive(queue, max, wait).await
    }
    async fn ack(&self, queue: QueueId, receipt: &str) -> Result<(), QueueError> {
        self.inner.ack(queue, receipt).await
    }
    async fn release(&self, queue: QueueId, receipt: &str) -> Result<(), QueueError> {
        self.inner.release(queue, receipt).await
    }
}

/// Books a few days for a few users, corrections included; returns every entry's event id.
async fn book_history(store: Arc<dyn ItemStore>, users: usize) -> BTreeSet<String> {
    let ledger = PointsLedger::new(store, Arc::new(SystemClock));
    let mut expected = BTreeSet::new();
    for _ in 0..users {
        let user = UserId::generate();
        for (day, total) in [(1, 120), (2, 300), (1, 150), (3, 80), (2, 250)] {
            let points = DayPoints { steps: total, total, ..DayPoints::default() };
            ledger.book_day(user, NaiveDate::from_ymd_opt(2026, 11, day).unwrap(), &points).await.unwrap();
        }
        let (entries, _) = ledger.entries(user, 100, None).await.unwrap();
        expected.extend(entries.iter().map(|e| format!("{user}:{}", e.seq)));
    }
    expected
}

/// Everything on the queue, acknowledged, as delivery counts by event id.
async fn drain_queue(queue: &dyn Queue) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    loop {
        let batch = queue.receive(QueueId::PointEvents, 10, Duration::from_millis(200)).await.unwrap();
        if batch.is_empty() {
            return seen;
        }
        for message in batch {
            let event: PointEvent = serde_json::from_str(&message.body).unwrap();
            *seen.entry(event.event_id).or_default() += 1;
            queue.ack(QueueId::PointEvents, &message.receipt).await.unwrap();
        }
    }
}

/// One crash, then a healthy run: every entry was published, and only the event the relay died
/// holding after SQS took it was published twice.
async fn a_crashing_relay_loses_nothing(store: Arc<dyn ItemStore>, queue: Arc<dyn Queue>, crash: Crash) {
    let expected = book_history(Arc::clone(&store), 2).await;
    let crashing = CrashingQueue { inner: Arc::clone(&queue), crash, sends: AtomicUsize::new(0) };
    let first = OutboxRelay::new(Arc::clone(&store), Arc::new(crashing));
    assert!(first.drain_all().await.is_err(), "{crash:?} stops the run");
    let second = OutboxRelay::new(Arc::clone(&store), Arc::clone(&queue));
    second.drain_all().await.unwrap();

    let seen = drain_queue(queue.as_ref()).await;
    assert_eq!(seen.keys().cloned().collect::<BTreeSet<_>>(), expected, "{crash:?}: every entry, nothing else");
    let repeats = seen.values().filter(|n| **n > 1).count();
    let allowed = usize::from(matches!(crash, Crash::AfterSend(_)));
    assert_eq!(repeats, allowed, "{crash:?}: repeats {seen:?}");
    assert_eq!(second.drain_all().await.unwrap(), 0, "the outbox is empty");
}

#[tokio::test]
async fn embedded_relay_survives_a_crash_at_every_point() {
    // 2 users × 5 entries: crash at each of the 10 sends, before and after the queue takes it.
    for at in 0..10 {
        for crash in [Crash::BeforeSend(at), Crash::AfterSend(at)] {
            let store: Arc<dyn ItemStore> = Arc::new(SqliteStore::in_memory().unwrap());
            let queue: Arc<dyn Queue> = Arc::new(InProcessQueue::new(Duration::from_secs(30), 5));
            a_crashing_relay_loses_nothing(store, queue, crash).await;
        }
    }
}

#[tokio::test]
async fn dynamodb_and_sqs_relay_survives_a_crash() {
    for crash in [Crash::BeforeSend(3), Crash::AfterSend(6)] {
        let store: Arc<dyn ItemStore> = Arc::new(emulator::dynamo_store().await.0);
        let queue: Arc<dyn Queue> = Arc::new(emulator::sqs_queue_for(QueueId::PointEvents, 30).await);
        a_crashing_relay_loses_nothing(store, queue, crash).await;
    }
}

#[tokio::test]
async fn dynamodb_events_carry_the_entry() {
    let store: Arc<dyn ItemStore> = Arc::new(emulator::dynamo_store().await.0);
    let queue: Arc<dyn Queue> = Arc::new(emulator::sqs_queue_for(QueueId::PointEvents, 30).await);
    let ledger = PointsLedger::new(Arc::clone(&store), Arc::new(SystemClock));
    let user = UserId::generate();
    let points = DayPoints { steps: 90, total: 90, ..DayPoints::default() };
    ledger.book_day(user, NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(), &points).await.unwrap();
    assert_eq!(OutboxRelay::new(store, Arc::clone(&queue)).drain_all().await.unwrap(), 1);
    let message = queue.receive(QueueId::PointEvents, 10, Duration::from_secs(1)).await.unwrap().remove(0);
    let event: PointEvent = serde_json::from_str(&message.body).unwrap();
    assert_eq!(
        (event.user_id, event.seq, event.amount, event.balance_after, event.cause.as_str()),
        (user, 1, 90, 90, "day:2026-11-20")
    );
}

#[tokio::test]
async fn an_unreadable_outbox_item_is_parked_not_a_blockage() {
    use fittrack_platform::ports::{Query, Table, to_item};
    let store: Arc<dyn ItemStore> = Arc::new(SqliteStore::in_memory().unwrap());
    let queue: Arc<dyn Queue> = Arc::new(InProcessQueue::new(Duration::from_secs(30), 5));
    let garbage = serde_json::json!({"pk": "OUTBOX#1", "sk": "000000000000#x#000000000001", "amount": "lots"});
    store.put(Table::Points, to_item(&garbage).unwrap(), None).await.unwrap();
    let expected = book_history(Arc::clone(&store), 1).await;
    let relay = OutboxRelay::new(Arc::clone(&store), Arc::clone(&queue));
    assert_eq!(relay.drain_all().await.unwrap(), expected.len());
    assert_eq!(drain_queue(queue.as_ref()).await.keys().cloned().collect::<BTreeSet<_>>(), expected);
    let parked = store.query(Query::partition(Table::Points, "OUTBOXDEAD#1")).await.unwrap();
    assert_eq!(parked.items.len(), 1, "kept for an operator");
    assert_eq!(relay.drain_all().await.unwrap(), 0);
}
