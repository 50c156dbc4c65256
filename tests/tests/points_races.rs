//! Concurrent writers of one user's activity never lose points: once they are done, every booked
//! day equals what its stored records earn by the rate table. On both stores.
//!
//! The interleaving that used to lose points is forced, not hoped for: a store wrapper pauses one
//! writer right after it has read a day's records, lets another writer store a record of the same
//! day and book it, then lets the first one book what it computed from its now outdated read.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use tokio::sync::{Mutex, oneshot};

use fittrack_domain::activity::{Activity, ActivityKind, IntensityMinutes, day_totals};
use fittrack_domain::{RateTable, UserId, competition_day};
use fittrack_local::SqliteStore;
use fittrack_platform::clock::SystemClock;
use fittrack_platform::ports::{ItemStore, Query, StoreError, Table};
use fittrack_points::{EngineError, LedgerError, PointsEngine};
use fittrack_tests::emulator;
use fittrack_tests::store_hooks::{Call, HookedStore, StoreHooks};

/// Fails every booking transaction (the store going away between storing records and booking
/// them: a crash, a timeout) while `failing` is set.
struct FailingBookings {
    failing: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl StoreHooks for FailingBookings {
    async fn before(&self, call: Call) -> Result<(), StoreError> {
        if call == Call::Transact && self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Unavailable("the store went away".into()));
        }
        Ok(())
    }
}

/// A writer that stored its records and failed before booking them leaves the day marked; the
/// user's next ingest (after the writer is surely gone) books it, and the markers go.
async fn a_day_left_unbooked_by_a_failed_writer_is_booked_later(store: Arc<dyn ItemStore>) {
    let failing = Arc::new(FailingBookings { failing: true.into() });
    let clock = Arc::new(fittrack_platform::clock::ManualClock::new("2026-10-15T12:00:00Z".parse().unwrap()));
    let hooked = Arc::new(HookedStore::new(Arc::clone(&store), Arc::clone(&failing)));
    let engine = PointsEngine::new(hooked, clock.clone(), RateTable::default());
    let user = UserId::generate();
    let morning = walk("morning", "2026-10-14T13:00:00Z", 6_000);
    let day = competition_day(morning.start);
    assert!(engine.ingest(user, None, std::slice::from_ref(&morning)).await.is_err(), "the booking failed");
    assert_eq!(engine.ledger().balance(user).await.unwrap().balance, 0);

    failing.failing.store(false, std::sync::atomic::Ordering::SeqCst);
    clock.advance(Duration::minutes(3));
    // The same record again changes nothing stored (it is not newer): only the marker can tell.
    engine.ingest(user, None, std::slice::from_ref(&morning)).await.unwrap();
    let expected = expected_points(std::slice::from_ref(&morning), day);
    assert_eq!(engine.ledger().balance(user).await.unwrap().balance, expected, "booked by the next ingest");
    let markers =
        store.query(Query::partition(Table::Points, format!("USER#{user}")).sort_prefix("PENDING#")).await.unwrap();
    assert!(markers.items.is_empty(), "{:?}", markers.items);
}

#[tokio::test]
async fn sqlite_a_day_left_unbooked_by_a_failed_writer_is_booked_later() {
    a_day_left_unbooked_by_a_failed_writer_is_booked_later(Arc::new(SqliteStore::in_memory().unwrap())).await;
}

#[tokio::test]
async fn dynamodb_a_day_left_unbooked_by_a_failed_writer_is_booked_later() {
    a_day_left_unbooked_by_a_failed_writer_is_booked_later(Arc::new(emulator::dynamo_store().await.0)).await;
}

/// Pauses the first query of a day's records until released.
struct PauseAfterRecords {
    /// Taken by the first records query: told when it has read, then waits to be released.
    pause: Mutex<Option<(oneshot::Sender<()>, oneshot::Receiver<()>)>>,
}

#[async_trait]
impl StoreHooks for PauseAfterRecords {
    async fn after_query(&self, query: &Query) {
        let reads_records = query.sort_prefix.as_deref().is_some_and(|p| p.starts_with("ACT#"));
        if reads_records && let Some((has_read, release)) = self.pause.lock().await.take() {
            let _ = has_read.send(());
            let _ = release.await;
        }
    }
}

fn walk(id: &str, at: &str, steps: u32) -> Activity {
    let start: DateTime<Utc> = at.parse().unwrap();
    Activity {
        source: "health_connect".into(),
        source_id: id.into(),
        kind: ActivityKind::Walk,
        start,
        end: start + Duration::minutes(60),
        steps,
        minutes: IntensityMinutes { moderate: 20, ..Default::default() },
        workout: false,
        received_at: start + Duration::hours(1),
    }
}

/// What the rules give for a day with these records and no streak, by hand: 10 points per 1,000
/// steps, 2 per moderate minute, 100 for reaching 10,000 steps.
fn expected_points(records: &[Activity], day: NaiveDate) -> i64 {
    let totals = day_totals(records, day);
    let steps = i64::from(totals.steps.min(20_000)) / 100;
    let minutes = 2 * i64::from(totals.moderate_minutes);
    let goal = if totals.steps >= 10_000 { 100 } else { 0 };
    steps + minutes + goal
}

async fn a_booking_from_an_outdated_read_never_lands(store: Arc<dyn ItemStore>) {
    let rates = RateTable::default();
    let (has_read, reading) = oneshot::channel();
    let (release, released) = oneshot::channel();
    let pausing = Arc::new(HookedStore::new(
        Arc::clone(&store),
        PauseAfterRecords { pause: Mutex::new(Some((has_read, released))) },
    ));
    let slow = PointsEngine::new(pausing, Arc::new(SystemClock), rates);
    let fast = PointsEngine::new(Arc::clone(&store), Arc::new(SystemClock), rates);
    let user = UserId::generate();
    let morning = walk("morning", "2026-10-14T13:00:00Z", 6_000);
    let evening = walk("evening", "2026-10-14T22:00:00Z", 6_000);
    let day = competition_day(morning.start);

    // The first phone's upload reads the day's records (only its own walk) and is held there.
    let first = tokio::spawn({
        let slow = slow.clone();
        let morning = morning.clone();
        async move { slow.ingest(user, None, &[morning]).await }
    });
    reading.await.unwrap();
    // Meanwhile the second phone's upload stores the evening walk and books the whole day.
    fast.ingest(user, None, std::slice::from_ref(&evening)).await.unwrap();
    release.send(()).unwrap();
    first.await.unwrap().unwrap();

    let expected = expected_points(&[morning, evening], day);
    assert_eq!(expected, 120 + 80 + 100, "12,000 steps, 40 moderate minutes and the step goal");
    let balance = fast.ledger().balance(user).await.unwrap();
    assert_eq!(balance.balance, expected, "the day is booked at what its records earn");
    let (entries, _) = fast.ledger().entries(user, 100, None).await.unwrap();
    assert_eq!(entries.iter().map(|e| e.amount).sum::<i64>(), expected, "balance == sum(ledger)");
}

#[tokio::test]
async fn sqlite_a_booking_from_an_outdated_read_never_lands() {
    a_booking_from_an_outdated_read_never_lands(Arc::new(SqliteStore::in_memory().unwrap())).await;
}

#[tokio::test]
async fn dynamodb_a_booking_from_an_outdated_read_never_lands() {
    a_booking_from_an_outdated_read_never_lands(Arc::new(emulator::dynamo_store().await.0)).await;
}

/// Many writers at once, each adding walks to the same few days (and so to one streak): the final
/// days are what the stored records earn.
async fn many_concurrent_writers_book_what_the_records_earn(store: Arc<dyn ItemStore>) {
    let engine = PointsEngine::new(Arc::clone(&store), Arc::new(SystemClock), RateTable::default());
    let user = UserId::generate();
    let days = ["2026-10-12", "2026-10-13", "2026-10-14"];
    let mut writers = Vec::new();
    let mut all = Vec::new();
    for writer in 0..12u32 {
        let day = days[writer as usize % days.len()];
        let record = walk(&format!("w{writer}"), &format!("{day}T{:02}:00:00Z", 12 + writer / 3), 2_500);
        all.push(record.clone());
        let engine = engine.clone();
        writers.push(tokio::spawn(async move {
            // A writer told "busy" tries again, as the sync worker's queue and the app do.
            let mut result = engine.ingest(user, None, std::slice::from_ref(&record)).await;
            for attempt in 1..30 {
                if !matches!(result, Err(EngineError::Ledger(LedgerError::Busy))) {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
                result = engine.ingest(user, None, std::slice::from_ref(&record)).await;
            }
            result
        }));
    }
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    let mut total = 0;
    for day in days {
        let day: NaiveDate = day.parse().unwrap();
        let records: Vec<Activity> = all.iter().filter(|r| competition_day(r.start) == day).cloned().collect();
        let expected = expected_points(&records, day);
        let booked = engine.ledger().booked_day(user, day).await.unwrap().unwrap();
        assert_eq!(booked.total, expected, "{day}: 4 walks of 2,500 steps reach the goal");
        total += expected;
    }
    assert_eq!(engine.ledger().balance(user).await.unwrap().balance, total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_many_concurrent_writers_book_what_the_records_earn() {
    many_concurrent_writers_book_what_the_records_earn(Arc::new(SqliteStore::in_memory().unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_many_concurrent_writers_book_what_the_records_earn() {
    many_concurrent_writers_book_what_the_records_earn(Arc::new(emulator::dynamo_store().await.0)).await;
}
