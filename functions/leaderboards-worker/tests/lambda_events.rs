//! The leaderboards worker invoked as Lambda invokes it: an SQS batch with a repeated event, a
//! poison message and a message whose staging fails (only those two are reported back), then the
//! scheduled sweep picking up what a dead writer left.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use serde_json::{Value, json};

use fittrack_domain::UserId;
use fittrack_domain::leaderboard::{BoardDay, Period};
use fittrack_domain::points::{EntryKind, competition_day};
use fittrack_leaderboards::{BoardId, LeaderboardService, LeaderboardWorker};
use fittrack_local::SqliteStore;
use fittrack_platform::clock::SystemClock;
use fittrack_platform::messages::PointEvent;
use fittrack_platform::ports::{Condition, Item, ItemStore, Key, Page, Query, StoreError, Table, Update, WriteOp};

const TIER: &str = "F-30-39-INT";

/// A store that refuses to stage anything of one user, as a throttled table would.
struct RefusesStaging {
    inner: Arc<dyn ItemStore>,
    user: UserId,
}

#[async_trait]
impl ItemStore for RefusesStaging {
    async fn get(&self, table: Table, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(table, key).await
    }
    async fn put(&self, table: Table, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        let staged_by_user = item["pk"].as_str().is_some_and(|pk| pk.starts_with("Q#"))
            && item["sk"].as_str().is_some_and(|sk| sk.contains(&self.user.to_string()));
        if staged_by_user {
            return Err(StoreError::Unavailable("throttled".into()));
        }
        self.inner.put(table, item, condition).await
    }
    async fn update(
        &self,
        table: Table,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        self.inner.update(table, key, update, condition).await
    }
    async fn delete(&self, table: Table, key: &Key, condition: Option<Condition>) -> Result<(), StoreError> {
        self.inner.delete(table, key, condition).await
    }
    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.inner.query(query).await
    }
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.inner.transact(ops).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

fn event(user: UserId, seq: u64, points: i64) -> PointEvent {
    PointEvent {
        event_id: format!("{user}:{seq}"),
        user_id: user,
        seq,
        kind: EntryKind::Earn,
        amount: points,
        held_amount: 0,
        balance_after: points,
        cause: "day".into(),
        created_at: Utc::now().timestamp(),
        board_days: vec![BoardDay { day: competition_day(Utc::now()), points }],
    }
}

/// The ledger entry the event stands for: the worker counts an event only from its entry.
async fn ledger(store: &dyn ItemStore, event: &PointEvent) {
    let entry = fittrack_points::LedgerEntry {
        seq: event.seq,
        kind: event.kind,
        amount: event.amount,
        balance_after: event.balance_after,
        held_amount: 0,
        held_after: 0,
        cause: event.cause.clone(),
        created_at: event.created_at,
        board_days: event.board_days.clone(),
        requested: None,
    };
    let mut item = fittrack_platform::ports::to_item(&entry).unwrap();
    let key = fittrack_points::keys::entry_key(event.user_id, event.seq);
    item.insert("pk".into(), key.pk.into());
    item.insert("sk".into(), key.sk.into());
    store.put(Table::Points, item, None).await.unwrap();
}

fn record(id: &str, body: &str) -> Value {
    json!({"messageId": id, "receiptHandle": format!("rh-{id}"), "body": body, "attributes": {}, "messageAttributes": {},
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:fittrack-point-events", "awsRegion": "us-east-1"})
}

async fn account(store: &dyn ItemStore, user: UserId) {
    let item = json!({"pk": format!("USER#{user}"), "sk": "ACCOUNT", "display_name": "P", "tier_code": TIER});
    store.put(Table::Users, item.as_object().cloned().unwrap(), None).await.unwrap();
}

#[tokio::test]
async fn a_batch_counts_each_event_once_and_reports_only_what_failed() {
    let inner: Arc<dyn ItemStore> = Arc::new(SqliteStore::in_memory().unwrap());
    let (ana, fay) = (UserId::generate(), UserId::generate());
    for user in [ana, fay] {
        account(inner.as_ref(), user).await;
    }
    let store: Arc<dyn ItemStore> = Arc::new(RefusesStaging { inner: Arc::clone(&inner), user: fay });
    let worker = Arc::new(LeaderboardWorker::new(Arc::clone(&store), Arc::new(SystemClock)));
    for e in [event(ana, 1, 120), event(ana, 2, 30), event(fay, 1, 500)] {
        ledger(inner.as_ref(), &e).await;
    }
    let first = serde_json::to_string(&event(ana, 1, 120)).unwrap();
    let second = serde_json::to_string(&event(ana, 2, 30)).unwrap();
    let refused = serde_json::to_string(&event(fay, 1, 500)).unwrap();
    // Sent by something other than the relay: no ledger entry stands behind it.
    let forged = serde_json::to_string(&event(ana, 3, 100_000)).unwrap();
    // SQS redelivered the first event under a new message id, next to the original.
    let batch = json!({"Records": [
        record("m-1", &first), record("m-1-again", &first), record("m-2", &second),
        record("m-poison", "{not json"), record("m-refused", &refused), record("m-forged", &forged),
    ]});

    let response = leaderboards_worker::handle(batch, &worker).await.unwrap();

    let mut failed: Vec<String> = response["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect();
    failed.sort();
    assert_eq!(failed, ["m-poison", "m-refused"]);
    let service = LeaderboardService::new(Arc::clone(&inner), Arc::new(SystemClock), pseudonym_keys());
    let board = BoardId::of_day(TIER, Period::Daily, competition_day(Utc::now()));
    let mine = service.me(ana, &board).await.unwrap();
    assert_eq!((mine.rank, mine.points), (Some(1), 150), "the repeated event counted once, the forged one not at all");
    assert_eq!(mine.board.size, 1, "the refused event is not on the board until it is delivered again");

    // Delivered again once the table takes writes: it counts.
    let worker = Arc::new(LeaderboardWorker::new(Arc::clone(&inner), Arc::new(SystemClock)));
    let retry = json!({"Records": [record("m-refused", &refused)]});
    let response = leaderboards_worker::handle(retry, &worker).await.unwrap();
    assert_eq!(response["batchItemFailures"], json!([]));
    let fay_place = service.me(fay, &board).await.unwrap();
    assert_eq!((fay_place.rank, fay_place.points), (Some(1), 500));
    assert_eq!(service.me(ana, &board).await.unwrap().rank, Some(2));
}

#[tokio::test]
async fn the_schedule_sweeps_what_a_dead_writer_left_staged() {
    let store: Arc<dyn ItemStore> = Arc::new(SqliteStore::in_memory().unwrap());
    let ana = UserId::generate();
    account(store.as_ref(), ana).await;
    let worker = Arc::new(LeaderboardWorker::new(Arc::clone(&store), Arc::new(SystemClock)));
    // Staged, then the writer died before draining.
    let earned = event(ana, 1, 70);
    ledger(store.as_ref(), &earned).await;
    worker.stage(&earned).await.unwrap();
    let service = LeaderboardService::new(Arc::clone(&store), Arc::new(SystemClock), pseudonym_keys());
    let board = BoardId::of_day(TIER, Period::AllTime, competition_day(Utc::now()));
    assert!(!service.me(ana, &board).await.unwrap().on_board);

    let scheduled = json!({"version": "0", "id": "e-1", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-24T00:00:00Z", "region": "us-east-1", "resources": [], "detail": {}});
    let response = leaderboards_worker::handle(scheduled, &worker).await.unwrap();

    assert_eq!(response, json!({"applied": 1}));
    assert_eq!(service.me(ana, &board).await.unwrap().points, 70);
}

/// A key for the pseudonyms of private profiles.
fn pseudonym_keys() -> Arc<fittrack_platform::crypto::PiiCipher> {
    let key = fittrack_platform::crypto::generate_pii_key();
    Arc::new(fittrack_platform::crypto::PiiCipher::from_master_key(&key).unwrap())
}
