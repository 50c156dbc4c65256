//! Reviews hold awards and settle them exactly once; anomalous days flag the account. On both
//! stores, with the ledger's invariants checked after every scenario: the spendable balance is the
//! sum of the entries' amounts, the held balance the sum of their held amounts.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use fittrack_core::antigaming::{Resolution, Review, ReviewStatus};
use fittrack_core::clock::SystemClock;
use fittrack_core::points::{Balance, Booking, EntryKind, PointsEngine};
use fittrack_core::ports::{ItemStore, Table, to_item};
use fittrack_domain::activity::{Activity, ActivityKind, IntensityMinutes};
use fittrack_domain::{DayPoints, RateTable, UserId};
use fittrack_local::SqliteStore;
use fittrack_tests::emulator;

fn engine(store: Arc<dyn ItemStore>) -> PointsEngine {
    PointsEngine::new(store, Arc::new(SystemClock), RateTable::default())
}

fn points(total: u32) -> DayPoints {
    DayPoints { steps: total, total, ..DayPoints::default() }
}

fn day(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, n).unwrap()
}

/// The balance after checking it against the ledger.
async fn checked_balance(engine: &PointsEngine, user: UserId) -> Balance {
    let balance = engine.ledger().balance(user).await.unwrap();
    let (entries, _) = engine.ledger().entries(user, 1000, None).await.unwrap();
    assert_eq!(entries.iter().map(|e| e.amount).sum::<i64>(), balance.balance, "balance == sum(amount)");
    assert_eq!(entries.iter().map(|e| e.held_amount).sum::<i64>(), balance.held, "held == sum(held_amount)");
    balance
}

async fn open_review_of(engine: &PointsEngine, user: UserId) -> Review {
    let (open, _) = engine.antigaming().reviews(ReviewStatus::Open, 100, None).await.unwrap();
    open.into_iter().find(|r| r.user_id == user).expect("an open review of the user")
}

async fn held_points_are_paid_out_or_forfeited_once(store: Arc<dyn ItemStore>) {
    let engine = engine(store);
    let (cleared, confirmed) = (UserId::generate(), UserId::generate());
    let device = format!("tablet-{}", uuid::Uuid::new_v4());
    engine.ledger().book_day(cleared, day(1), &points(40)).await.unwrap();
    for user in [cleared, confirmed] {
        engine.antigaming().record_device(user, &device).await.unwrap();
    }
    assert_eq!(
        engine.ledger().book_day(cleared, day(2), &points(100)).await.unwrap(),
        Booking::Booked { amount: 100, balance_after: 40, held: true }
    );
    engine.ledger().book_day(confirmed, day(2), &points(80)).await.unwrap();
    let before = checked_balance(&engine, cleared).await;
    assert_eq!((before.balance, before.held, before.holds), (40, 100, 1), "earned before the flag stays spendable");

    let review = open_review_of(&engine, cleared).await;
    engine.antigaming().resolve(&review.id, Resolution::Cleared, UserId::generate(), None).await.unwrap();
    let after = checked_balance(&engine, cleared).await;
    assert_eq!((after.balance, after.held, after.holds, after.lifetime_earned), (140, 0, 0, 140));
    let (entries, _) = engine.ledger().entries(cleared, 1, None).await.unwrap();
    assert_eq!((entries[0].kind, entries[0].amount, entries[0].held_amount), (EntryKind::Release, 100, -100));
    assert!(
        engine.antigaming().resolve(&review.id, Resolution::Cleared, UserId::generate(), None).await.is_err(),
        "a review is resolved once"
    );
    assert_eq!(checked_balance(&engine, cleared).await, after, "and pays out once");

    let review = open_review_of(&engine, confirmed).await;
    engine.antigaming().resolve(&review.id, Resolution::Confirmed, UserId::generate(), None).await.unwrap();
    let forfeited = checked_balance(&engine, confirmed).await;
    assert_eq!((forfeited.balance, forfeited.held, forfeited.lifetime_earned), (0, 0, 0));
    assert_eq!(
        engine.ledger().book_day(confirmed, day(3), &points(30)).await.unwrap(),
        Booking::Booked { amount: 30, balance_after: 30, held: false },
        "once resolved, awards are spendable again"
    );
}

#[tokio::test]
async fn sqlite_held_points_are_paid_out_or_forfeited_once() {
    held_points_are_paid_out_or_forfeited_once(Arc::new(SqliteStore::in_memory().unwrap())).await;
}

#[tokio::test]
async fn dynamodb_held_points_are_paid_out_or_forfeited_once() {
    held_points_are_paid_out_or_forfeited_once(Arc::new(emulator::dynamo_store().await.0)).await;
}

#[tokio::test]
async fn points_stay_held_until_the_last_open_review_is_cleared() {
    let engine = engine(Arc::new(SqliteStore::in_memory().unwrap()));
    let (user, other, third) = (UserId::generate(), UserId::generate(), UserId::generate());
    for (account, device) in [(user, "phone"), (other, "phone"), (user, "watch"), (third, "watch")] {
        engine.antigaming().record_device(account, device).await.unwrap();
    }
    engine.ledger().book_day(user, day(1), &points(70)).await.unwrap();
    let (open, _) = engine.antigaming().reviews(ReviewStatus::Open, 100, None).await.unwrap();
    let mine: Vec<_> = open.iter().filter(|r| r.user_id == user).collect();
    assert_eq!(mine.len(), 2, "one review per device");
    engine.antigaming().resolve(&mine[0].id, Resolution::Cleared, UserId::generate(), None).await.unwrap();
    let balance = checked_balance(&engine, user).await;
    assert_eq!((balance.balance, balance.held, balance.holds), (0, 70, 1), "another review is still open");
    engine.antigaming().resolve(&mine[1].id, Resolution::Cleared, UserId::generate(), None).await.unwrap();
    let balance = checked_balance(&engine, user).await;
    assert_eq!((balance.balance, balance.held, balance.holds), (70, 0, 0));
}

/// Bookings race the resolution of the account's review: whichever commits first, every point
/// ends up spendable exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bookings_racing_a_resolution_lose_and_duplicate_nothing() {
    for round in 0..8u64 {
        let engine = engine(Arc::new(SqliteStore::in_memory().unwrap()));
        let (user, other) = (UserId::generate(), UserId::generate());
        for account in [user, other] {
            engine.antigaming().record_device(account, "shared").await.unwrap();
        }
        let review = open_review_of(&engine, user).await;
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..3u32 {
            let engine = engine.clone();
            tasks.spawn(async move {
                for n in 1..=10u32 {
                    // Every worker books every day (retries and overlapping syncs).
                    let d = (n + worker) % 10 + 1;
                    engine.ledger().book_day(user, day(d), &points(d * 10)).await.unwrap();
                }
            });
        }
        let resolver = engine.clone();
        tasks.spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(round)).await;
            resolver.antigaming().resolve(&review.id, Resolution::Cleared, UserId::generate(), None).await.unwrap();
        });
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        let balance = checked_balance(&engine, user).await;
        assert_eq!((balance.balance, balance.held, balance.holds), ((1..=10).map(|d| d * 10).sum(), 0, 0));
    }
}

fn walk(id: &str, steps: u32) -> Activity {
    let start: DateTime<Utc> = "2026-10-14T15:00:00Z".parse().unwrap();
    Activity {
        source: "device".into(),
        source_id: id.into(),
        kind: ActivityKind::Walk,
        start,
        end: start + Duration::minutes(60),
        steps,
        minutes: IntensityMinutes { moderate: 30, ..Default::default() },
        workout: false,
        received_at: start + Duration::hours(2),
    }
}

/// A user in `tier`, as the engine sees accounts (only the tier matters to it).
async fn user_in_tier(store: &dyn ItemStore, tier: &str) -> UserId {
    let user = UserId::generate();
    let account = serde_json::json!({"pk": format!("USER#{user}"), "sk": "ACCOUNT", "tier_code": tier});
    store.put(Table::Users, to_item(&account).unwrap(), None).await.unwrap();
    user
}

async fn a_day_far_above_the_tier_is_held_for_review(store: Arc<dyn ItemStore>) {
    let engine = engine(Arc::clone(&store));
    let tier = format!("T{}", uuid::Uuid::new_v4().simple());
    // 40 ordinary days of 5,000 to 8,900 steps and 30 moderate minutes: scores 110 to 140, mean
    // 125, σ ≈ 11, limit ≈ 159.
    for n in 0..40u32 {
        let user = user_in_tier(store.as_ref(), &tier).await;
        engine.ingest(user, None, &[walk("w", 5_000 + n * 100)]).await.unwrap();
    }
    assert!(engine.antigaming().reviews(ReviewStatus::Open, 10, None).await.unwrap().0.is_empty());

    let shaker = user_in_tier(store.as_ref(), &tier).await;
    engine.ingest(shaker, None, &[walk("w", 60_000)]).await.unwrap();
    let review = open_review_of(&engine, shaker).await;
    assert_eq!(review.reason, "activity_anomaly");
    assert!(review.detail.as_deref().unwrap().starts_with("2026-10-14: activity score 660"), "{review:?}");
    let balance = checked_balance(&engine, shaker).await;
    // 200 for steps (counted to 20,000) + 100 goal + 60 for minutes, all held.
    assert_eq!((balance.balance, balance.held), (0, 360), "the anomalous day itself is held");

    // A re-sync of the same day neither opens a second review nor moves the baseline.
    engine.ingest(shaker, None, &[walk("w", 60_000)]).await.unwrap();
    let (open, _) = engine.antigaming().reviews(ReviewStatus::Open, 10, None).await.unwrap();
    assert_eq!(open.len(), 1);

    // An ordinary user of another tier with no baseline yet is never judged.
    let newcomer = user_in_tier(store.as_ref(), "EMPTY-TIER").await;
    engine.ingest(newcomer, None, &[walk("w", 60_000)]).await.unwrap();
    assert_eq!(checked_balance(&engine, newcomer).await.balance, 360);
}

#[tokio::test]
async fn sqlite_a_day_far_above_the_tier_is_held_for_review() {
    a_day_far_above_the_tier_is_held_for_review(Arc::new(SqliteStore::in_memory().unwrap())).await;
}

#[tokio::test]
async fn dynamodb_a_day_far_above_the_tier_is_held_for_review() {
    a_day_far_above_the_tier_is_held_for_review(Arc::new(emulator::dynamo_store().await.0)).await;
}
