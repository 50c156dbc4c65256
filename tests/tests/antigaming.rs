//! Reviews hold awards and settle them exactly once; anomalous days and devices first used by
//! another account flag the account, and neither made-up accounts, accounts under review, bulk
//! uploads of history nor a stranger naming someone's device can turn that against honest users.
//! On both stores, with the ledger's invariants checked after every scenario: the spendable
//! balance is the sum of the entries' amounts, the held balance the sum of their held amounts.

use std::sync::Arc;

use chrono::{Duration, NaiveDate, Utc};

use fittrack_domain::activity::{Activity, ActivityKind, IntensityMinutes};
use fittrack_domain::{DayPoints, RateTable, UserId};
use fittrack_local::SqliteStore;
use fittrack_platform::clock::{ManualClock, SystemClock};
use fittrack_platform::ports::{Item, ItemStore, Key, Table, to_item};
use fittrack_points::antigaming::{Resolution, Review, ReviewStatus};
use fittrack_points::ingest::IngestRecord;
use fittrack_points::{Balance, Booking, EntryKind, IngestBatch, IngestReceipt, PointsEngine};
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

async fn open_reviews_of(engine: &PointsEngine, user: UserId) -> Vec<Review> {
    let mut mine = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = engine.antigaming().reviews(ReviewStatus::Open, 100, cursor).await.unwrap();
        mine.extend(page.into_iter().filter(|r| r.user_id == user));
        match next {
            Some(next) => cursor = Some(next),
            None => return mine,
        }
    }
}

async fn open_review_of(engine: &PointsEngine, user: UserId) -> Review {
    open_reviews_of(engine, user).await.into_iter().next().expect("an open review of the user")
}

async fn held_points_are_paid_out_or_forfeited_once(store: Arc<dyn ItemStore>) {
    let engine = engine(store);
    let (owner, cleared, confirmed) = (UserId::generate(), UserId::generate(), UserId::generate());
    let device = format!("tablet-{}", uuid::Uuid::new_v4());
    engine.ledger().book_day(cleared, day(1), &points(40)).await.unwrap();
    // The tablet was first seen on its owner's account; the others are flagged from their second
    // upload with it.
    for user in [owner, cleared, cleared, confirmed, confirmed] {
        engine.antigaming().record_device(user, &device).await.unwrap();
    }
    assert_eq!(checked_balance(&engine, owner).await.holds, 0, "the first account is not held");
    assert_eq!(
        engine.ledger().book_day(cleared, day(2), &points(100)).await.unwrap(),
        Booking::Booked { amount: 100, balance_after: 40, held: true }
    );
    engine.ledger().book_day(confirmed, day(2), &points(80)).await.unwrap();
    let before = checked_balance(&engine, cleared).await;
    assert_eq!((before.balance, before.held, before.holds), (40, 100, 1), "earned before the flag stays spendable");

    let review = open_review_of(&engine, cleared).await;
    engine
        .antigaming()
        .resolve(&review.id, Resolution::Cleared, &fittrack_audit::Actor::new(UserId::generate(), "test"), None)
        .await
        .unwrap();
    let after = checked_balance(&engine, cleared).await;
    assert_eq!((after.balance, after.held, after.holds, after.lifetime_earned), (140, 0, 0, 140));
    let (entries, _) = engine.ledger().entries(cleared, 1, None).await.unwrap();
    assert_eq!((entries[0].kind, entries[0].amount, entries[0].held_amount), (EntryKind::Release, 100, -100));
    assert!(
        engine
            .antigaming()
            .resolve(&review.id, Resolution::Cleared, &fittrack_audit::Actor::new(UserId::generate(), "test"), None)
            .await
            .is_err(),
        "a review is resolved once"
    );
    assert_eq!(checked_balance(&engine, cleared).await, after, "and pays out once");

    let review = open_review_of(&engine, confirmed).await;
    engine
        .antigaming()
        .resolve(&review.id, Resolution::Confirmed, &fittrack_audit::Actor::new(UserId::generate(), "test"), None)
        .await
        .unwrap();
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
    let uploads =
        [(other, "phone"), (third, "watch"), (user, "phone"), (user, "phone"), (user, "watch"), (user, "watch")];
    for (account, device) in uploads {
        engine.antigaming().record_device(account, device).await.unwrap();
    }
    engine.ledger().book_day(user, day(1), &points(70)).await.unwrap();
    let (open, _) = engine.antigaming().reviews(ReviewStatus::Open, 100, None).await.unwrap();
    let mine: Vec<_> = open.iter().filter(|r| r.user_id == user).collect();
    assert_eq!(mine.len(), 2, "one review per device");
    engine
        .antigaming()
        .resolve(&mine[0].id, Resolution::Cleared, &fittrack_audit::Actor::new(UserId::generate(), "test"), None)
        .await
        .unwrap();
    let balance = checked_balance(&engine, user).await;
    assert_eq!((balance.balance, balance.held, balance.holds), (0, 70, 1), "another review is still open");
    engine
        .antigaming()
        .resolve(&mine[1].id, Resolution::Cleared, &fittrack_audit::Actor::new(UserId::generate(), "test"), None)
        .await
        .unwrap();
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
        for account in [other, user, user] {
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
            resolver
                .antigaming()
                .resolve(&review.id, Resolution::Cleared, &fittrack_audit::Actor::new(UserId::generate(), "test"), None)
                .await
                .unwrap();
        });
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        let balance = checked_balance(&engine, user).await;
        assert_eq!((balance.balance, balance.held, balance.holds), ((1..=10).map(|d| d * 10).sum(), 0, 0));
    }
}

/// A one-hour walk with 30 moderate minutes, late morning in New York on `on`.
fn walk_on(id: &str, on: NaiveDate, steps: u32) -> Activity {
    let start = on.and_hms_opt(15, 0, 0).unwrap().and_utc();
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

/// A walk on 2026-10-14: score `steps / 1,000 × 10` + 60 for the minutes.
fn walk(id: &str, steps: u32) -> Activity {
    walk_on(id, day(14), steps)
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
    // 40 ordinary days of 5,000 to 8,900 steps and 30 moderate minutes: scores 110 to 140, ten
    // each; median bucket 100-124 (counted as 125), MAD 0, so the spread is one bucket: limit 200.
    for n in 0..40u32 {
        let user = user_in_tier(store.as_ref(), &tier).await;
        engine.ingest(user, None, &[walk("w", 5_000 + n * 100)]).await.unwrap();
    }
    assert!(engine.antigaming().reviews(ReviewStatus::Open, 10, None).await.unwrap().0.is_empty());

    let shaker = user_in_tier(store.as_ref(), &tier).await;
    engine.ingest(shaker, None, &[walk("w", 60_000)]).await.unwrap();
    let review = open_review_of(&engine, shaker).await;
    assert_eq!(review.reason, "activity_anomaly");
    let detail = review.detail.as_deref().unwrap();
    assert!(detail.starts_with("2026-10-14: activity score 660"), "{review:?}");
    assert!(detail.ends_with("median 125 (MAD 0, limit 200, 40 days)"), "{review:?}");
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

/// Ten made-up accounts each upload one enormous day before the tier has 30 days (nobody is
/// judged yet, so their days enter the baseline unflagged), then forty honest users. Mean + 3σ of
/// those 50 days is about 1,112 + 3 × 1,974 ≈ 7,000, which would let a 660-point shaken phone
/// through; the median and MAD hardly move, and it is flagged.
async fn made_up_accounts_cannot_lift_the_tier_limit(store: Arc<dyn ItemStore>) {
    let engine = engine(Arc::clone(&store));
    let tier = format!("T{}", uuid::Uuid::new_v4().simple());
    for _ in 0..10 {
        let forger = user_in_tier(store.as_ref(), &tier).await;
        engine.ingest(forger, None, &[walk("w", 500_000)]).await.unwrap();
    }
    for n in 0..40u32 {
        let user = user_in_tier(store.as_ref(), &tier).await;
        engine.ingest(user, None, &[walk("w", 5_000 + n * 100)]).await.unwrap();
    }
    let (open, _) = engine.antigaming().reviews(ReviewStatus::Open, 10, None).await.unwrap();
    assert!(open.is_empty(), "no honest day is flagged: {open:?}");

    let shaker = user_in_tier(store.as_ref(), &tier).await;
    engine.ingest(shaker, None, &[walk("w", 60_000)]).await.unwrap();
    let review = open_review_of(&engine, shaker).await;
    let detail = review.detail.as_deref().unwrap();
    assert!(detail.starts_with("2026-10-14: activity score 660"), "{review:?}");
    // Days in buckets 100-124 (20), 125-149 (20) and 5,050-5,074 (10): median 150, MAD one bucket,
    // limit 150 + 3 × 1.4826 × 25 ≈ 261.
    assert!(detail.ends_with("median 150 (MAD 25, limit 261, 50 days)"), "{review:?}");
    let balance = checked_balance(&engine, shaker).await;
    assert_eq!((balance.balance, balance.held), (0, 360), "the anomalous day itself is held");
}

#[tokio::test]
async fn sqlite_made_up_accounts_cannot_lift_the_tier_limit() {
    made_up_accounts_cannot_lift_the_tier_limit(Arc::new(SqliteStore::in_memory().unwrap())).await;
}

#[tokio::test]
async fn dynamodb_made_up_accounts_cannot_lift_the_tier_limit() {
    made_up_accounts_cannot_lift_the_tier_limit(Arc::new(emulator::dynamo_store().await.0)).await;
}

/// The tier's October baseline item, as stored (empty when nothing was counted yet).
async fn october_baseline(store: &dyn ItemStore, tier: &str) -> Item {
    let key = Key::new(format!("TIERSTATS#{tier}"), "2026-10");
    store.get(Table::Points, &key).await.unwrap().unwrap_or_default()
}

fn days_in(baseline: &Item) -> i64 {
    baseline.get("days").and_then(|d| d.as_i64()).unwrap_or(0)
}

async fn reviewed_accounts_and_bulk_history_do_not_move_the_baseline(store: Arc<dyn ItemStore>) {
    // Today is 2026-10-28 in New York: the 27th is yesterday, the 26th and before are the past.
    let clock = Arc::new(ManualClock::new("2026-10-28T16:00:00Z".parse().unwrap()));
    let engine = PointsEngine::new(Arc::clone(&store), clock, RateTable::default());
    let tier = format!("T{}", uuid::Uuid::new_v4().simple());
    let honest = user_in_tier(store.as_ref(), &tier).await;
    engine.ingest(honest, None, &[walk_on("w", day(28), 6_000)]).await.unwrap();
    let before = october_baseline(store.as_ref(), &tier).await;
    assert_eq!(days_in(&before), 1);

    // An account under review (a device first seen on another account, named twice).
    let (owner, suspect) = (user_in_tier(store.as_ref(), &tier).await, user_in_tier(store.as_ref(), &tier).await);
    let device = format!("phone-{}", uuid::Uuid::new_v4().simple());
    for account in [owner, suspect, suspect] {
        engine.antigaming().record_device(account, &device).await.unwrap();
    }
    let bookings =
        engine.ingest(suspect, None, &[walk_on("w", day(28), 30_000), walk_on("y", day(27), 9_000)]).await.unwrap();
    assert!(bookings.iter().all(|(_, b)| matches!(b, Booking::Booked { held: true, .. })), "{bookings:?}");
    assert_eq!(bookings.len(), 2);
    assert_eq!(
        october_baseline(store.as_ref(), &tier).await,
        before,
        "days booked under review do not move the baseline"
    );

    // Twenty days of history in one upload: every day is booked, two enter the baseline.
    let archivist = user_in_tier(store.as_ref(), &tier).await;
    let history: Vec<Activity> = (6..=25).map(|d| walk_on(&format!("h{d}"), day(d), 7_000)).collect();
    let bookings = engine.ingest(archivist, None, &history).await.unwrap();
    assert_eq!(bookings.len(), 20, "every past day is booked");
    let after = october_baseline(store.as_ref(), &tier).await;
    assert_eq!(days_in(&after), 3, "at most two past days per upload: {after:?}");
    // Re-sending the same history moves nothing; yesterday and today are not limited.
    engine.ingest(archivist, None, &history).await.unwrap();
    assert_eq!(october_baseline(store.as_ref(), &tier).await, after);
    engine.ingest(archivist, None, &[walk_on("y", day(27), 7_000), walk_on("t", day(28), 7_000)]).await.unwrap();
    assert_eq!(days_in(&october_baseline(store.as_ref(), &tier).await), 5);
    checked_balance(&engine, suspect).await;
    checked_balance(&engine, archivist).await;
}

#[tokio::test]
async fn sqlite_reviewed_accounts_and_bulk_history_do_not_move_the_baseline() {
    reviewed_accounts_and_bulk_history_do_not_move_the_baseline(Arc::new(SqliteStore::in_memory().unwrap())).await;
}

#[tokio::test]
async fn dynamodb_reviewed_accounts_and_bulk_history_do_not_move_the_baseline() {
    reviewed_accounts_and_bulk_history_do_not_move_the_baseline(Arc::new(emulator::dynamo_store().await.0)).await;
}

/// One device upload with one new 30-minute walk, a few hours ago: the walks of one account's
/// batches (`x-1`, `x-2`, …) never overlap, so each books points of its own.
async fn upload(engine: &PointsEngine, user: UserId, device: &str, batch_id: &str) -> IngestReceipt {
    let n: i64 = batch_id.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let start = Utc::now() - Duration::hours(3) - Duration::minutes(40 * n);
    let record = IngestRecord {
        id: format!("r-{batch_id}"),
        kind: "walk".into(),
        start,
        end: start + Duration::minutes(30),
        steps: 1_000,
        light_minutes: 0,
        moderate_minutes: 30,
        vigorous_minutes: 0,
        workout: false,
    };
    let batch = IngestBatch {
        batch_id: batch_id.into(),
        source: "healthkit".into(),
        device_id: device.into(),
        records: vec![record],
    };
    engine.ingest_batch(user, &batch, None).await.unwrap()
}

async fn a_stranger_naming_a_device_cannot_hold_its_owner(store: Arc<dyn ItemStore>) {
    let engine = engine(store);
    let (owner, stranger) = (UserId::generate(), UserId::generate());
    let device = format!("pixel-{}", uuid::Uuid::new_v4().simple());
    for batch in ["a-1", "a-2", "a-3"] {
        upload(&engine, owner, &device, batch).await;
    }
    assert!(open_reviews_of(&engine, owner).await.is_empty(), "one account per device is no finding");

    // One upload naming someone else's device proves nothing: nobody is flagged.
    let receipt = upload(&engine, stranger, &device, "b-1").await;
    assert!(receipt.points_booked > 0 && receipt.points_held == 0, "{receipt:?}");
    assert!(open_reviews_of(&engine, owner).await.is_empty());
    assert!(open_reviews_of(&engine, stranger).await.is_empty());

    // The second one flags the later account only, and its upload is already held.
    let receipt = upload(&engine, stranger, &device, "b-2").await;
    assert!(receipt.points_booked == 0 && receipt.points_held > 0, "{receipt:?}");
    let reviews = open_reviews_of(&engine, stranger).await;
    assert_eq!(reviews.len(), 1);
    assert_eq!((reviews[0].reason.as_str(), reviews[0].related_users.as_slice()), ("shared_device", &[owner][..]));
    assert!(open_reviews_of(&engine, owner).await.is_empty(), "the first account is never held for it");
    let receipt = upload(&engine, owner, &device, "a-4").await;
    assert!(receipt.points_booked > 0 && receipt.points_held == 0, "{receipt:?}");

    // Further uploads of either account open nothing more.
    upload(&engine, stranger, &device, "b-3").await;
    upload(&engine, owner, &device, "a-5").await;
    assert_eq!(open_reviews_of(&engine, stranger).await, reviews);
    assert!(open_reviews_of(&engine, owner).await.is_empty());
    let owner_balance = checked_balance(&engine, owner).await;
    assert_eq!((owner_balance.held, owner_balance.holds), (0, 0), "{owner_balance:?}");
    let stranger_balance = checked_balance(&engine, stranger).await;
    assert!(stranger_balance.held > 0 && stranger_balance.holds == 1, "{stranger_balance:?}");
}

#[tokio::test]
async fn sqlite_a_stranger_naming_a_device_cannot_hold_its_owner() {
    a_stranger_naming_a_device_cannot_hold_its_owner(Arc::new(SqliteStore::in_memory().unwrap())).await;
}

#[tokio::test]
async fn dynamodb_a_stranger_naming_a_device_cannot_hold_its_owner() {
    a_stranger_naming_a_device_cannot_hold_its_owner(Arc::new(emulator::dynamo_store().await.0)).await;
}
