//! Every port's contract against every adapter: local ones in process, AWS ones on the emulator.

use std::sync::Arc;
use std::time::Duration;

use fittrack_local::{InProcessQueue, OutboxMailer, SqliteQueue, SqliteStore};
use fittrack_platform::ports::{ItemStore, Queue};
use fittrack_tests::contract::{mailer, queue, store};
use fittrack_tests::emulator;

macro_rules! store_contract {
    ($module:ident, $make:expr, parallel: $parallel:expr) => {
        mod $module {
            use super::*;

            async fn make() -> Arc<dyn ItemStore> {
                $make
            }

            #[tokio::test]
            async fn round_trips_items() {
                store::round_trips_items(make().await.as_ref()).await;
            }
            #[tokio::test]
            async fn conditional_put_fails_without_writing() {
                store::conditional_put_fails_without_writing(make().await.as_ref()).await;
            }
            #[tokio::test]
            async fn conditional_update_semantics() {
                store::conditional_update_semantics(make().await.as_ref()).await;
            }
            #[tokio::test]
            async fn conditional_delete() {
                store::conditional_delete(make().await.as_ref()).await;
            }
            #[tokio::test]
            async fn transactions_are_all_or_nothing() {
                store::transactions_are_all_or_nothing(make().await.as_ref()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn guarded_debits_never_overspend() {
                store::guarded_debits_never_overspend(make().await, $parallel).await;
            }
            #[tokio::test]
            async fn queries_are_ordered_and_paginated() {
                store::queries_are_ordered_and_paginated(make().await.as_ref()).await;
            }
            #[tokio::test]
            async fn index_queries_are_ordered_and_paginated() {
                store::index_queries_are_ordered_and_paginated(make().await.as_ref()).await;
            }
            #[tokio::test]
            async fn queries_bounded_above() {
                store::queries_bounded_above(make().await.as_ref()).await;
            }
            #[tokio::test]
            async fn rejects_forged_cursors() {
                store::rejects_forged_cursors(make().await.as_ref()).await;
            }
        }
    };
}

store_contract!(sqlite_store, Arc::new(SqliteStore::in_memory().unwrap()), parallel: true);
// moto applies conditional writes and transactions without locking (it even restores whole-table
// snapshots when a transaction fails), so races are only meaningful on SQLite or real DynamoDB.
store_contract!(dynamo_store, Arc::new(emulator::dynamo_store().await.0), parallel: false);

macro_rules! queue_contract {
    ($module:ident, $make:expr) => {
        mod $module {
            use super::*;

            async fn make() -> Arc<dyn Queue> {
                $make
            }

            #[tokio::test]
            async fn acknowledged_messages_are_gone() {
                queue::acknowledged_messages_are_gone(make().await.as_ref()).await;
            }
            #[tokio::test]
            async fn unacknowledged_messages_are_redelivered() {
                queue::unacknowledged_messages_are_redelivered(make().await.as_ref()).await;
            }
            #[tokio::test]
            async fn released_messages_come_back_at_once() {
                queue::released_messages_come_back_at_once(make().await.as_ref()).await;
            }
            #[tokio::test]
            async fn oversized_messages_are_refused() {
                queue::oversized_messages_are_refused(make().await.as_ref()).await;
            }
        }
    };
}

queue_contract!(in_process_queue, Arc::new(InProcessQueue::new(Duration::from_secs(1), 5)));
queue_contract!(sqlite_queue, Arc::new(SqliteQueue::in_memory(Duration::from_secs(1), 5).unwrap()));
queue_contract!(sqs_queue, Arc::new(emulator::sqs_queue(1).await));

#[tokio::test]
async fn outbox_mailer_contract() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = OutboxMailer::new(dir.path(), "FitTrack <no-reply@fittrack.test>").unwrap();
    mailer::delivers_both_alternatives(&outbox, || async {
        std::fs::read_dir(dir.path()).unwrap().map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect()
    })
    .await;
}

#[tokio::test]
async fn ses_mailer_contract() {
    let (ses, _) = emulator::ses_mailer().await;
    mailer::delivers_both_alternatives(&ses, || async {
        emulator::ses_sent_messages().await.iter().map(|m| m.to_string().replace("\\n", "\n")).collect()
    })
    .await;
}

#[tokio::test]
async fn in_process_queue_dead_letters_after_max_receives() {
    use fittrack_platform::ports::QueueId;
    let q = InProcessQueue::new(Duration::from_millis(50), 2);
    q.send(QueueId::Email, "poison").await.unwrap();
    for _ in 0..2 {
        assert_eq!(q.receive(QueueId::Email, 1, Duration::from_secs(1)).await.unwrap().len(), 1);
    }
    assert!(q.receive(QueueId::Email, 1, Duration::from_millis(300)).await.unwrap().is_empty());
    assert_eq!(q.dead_letters(QueueId::Email), ["poison"]);
    assert_eq!(q.depth(QueueId::Email), 0);
}

#[tokio::test]
async fn sqlite_queue_dead_letters_after_max_receives() {
    use fittrack_platform::ports::QueueId;
    let q = SqliteQueue::in_memory(Duration::from_millis(50), 2).unwrap();
    q.send(QueueId::Email, "poison").await.unwrap();
    for _ in 0..2 {
        assert_eq!(q.receive(QueueId::Email, 1, Duration::from_secs(1)).await.unwrap().len(), 1);
    }
    assert!(q.receive(QueueId::Email, 1, Duration::from_millis(300)).await.unwrap().is_empty());
    assert_eq!(q.dead_letters(QueueId::Email), ["poison"]);
    assert_eq!(q.depth(QueueId::Email), 0);
}

/// What a crash leaves behind: a queue reopened from its file still holds every message that was
/// sent and not acknowledged, in flight ones included (they come back after their timeout).
#[tokio::test]
async fn sqlite_queue_keeps_its_messages_across_a_restart() {
    use fittrack_platform::ports::QueueId;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.db");
    {
        let q = SqliteQueue::open(&path, Duration::from_millis(300), 5).unwrap();
        for n in 0..3 {
            q.send(QueueId::PointEvents, &format!("event-{n}")).await.unwrap();
        }
        let in_flight = q.receive(QueueId::PointEvents, 1, Duration::from_secs(1)).await.unwrap();
        assert_eq!(in_flight[0].body, "event-0");
        // Dropped without acknowledging: the process is gone.
    }
    let q = SqliteQueue::open(&path, Duration::from_millis(300), 5).unwrap();
    let mut bodies = Vec::new();
    for _ in 0..20 {
        for message in q.receive(QueueId::PointEvents, 10, Duration::from_millis(200)).await.unwrap() {
            bodies.push(message.body);
            q.ack(QueueId::PointEvents, &message.receipt).await.unwrap();
        }
        if bodies.len() == 3 {
            break;
        }
    }
    bodies.sort();
    assert_eq!(bodies, ["event-0", "event-1", "event-2"]);
    assert_eq!(q.depth(QueueId::PointEvents), 0);
}

mod ledger_properties {
    use std::collections::HashSet;

    use proptest::prelude::*;
    use serde_json::json;

    use fittrack_local::SqliteStore;
    use fittrack_platform::ports::{Condition, ItemStore, Key, Query, StoreError, Table, Update, WriteOp};

    /// One attempted balance change: credit or debit, amount, and an idempotency key (repeats
    /// model retries of the same cause).
    fn change() -> impl Strategy<Value = (bool, i64, u8)> {
        (any::<bool>(), 1i64..60, 0u8..25)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever the sequence of credits, debits and retries, the balance equals the sum of the
        /// ledger, never goes negative, and each cause is booked at most once.
        #[test]
        fn balance_and_ledger_stay_in_step(changes in prop::collection::vec(change(), 1..40)) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let store = SqliteStore::in_memory().unwrap();
                let balance_key = Key::new("USER#p", "BALANCE");
                store.put(Table::Points, json!({"pk": "USER#p", "sk": "BALANCE", "balance": 0}).as_object().cloned().unwrap(), None).await.unwrap();
                let (mut model, mut booked) = (0i64, HashSet::new());
                for (credit, amount, cause) in changes {
                    let delta = if credit { amount } else { -amount };
                    let guard = if credit { Condition::Exists } else { Condition::at_least("balance", amount) };
                    let entry = json!({"pk": "USER#p", "sk": format!("LEDGER#{cause:03}"), "amount": delta});
                    let ops = vec![
                        WriteOp::Update { table: Table::Points, key: balance_key.clone(), update: Update::new().add("balance", delta), condition: Some(guard) },
                        WriteOp::Put { table: Table::Points, item: entry.as_object().cloned().unwrap(), condition: Some(Condition::NotExists) },
                    ];
                    let expected_ok = !booked.contains(&cause) && (credit || model >= amount);
                    match store.transact(ops).await {
                        Ok(()) => {
                            assert!(expected_ok, "booked a change the rules forbid");
                            model += delta;
                            booked.insert(cause);
                        }
                        Err(StoreError::TransactionCancelled { .. }) => assert!(!expected_ok, "refused an allowed change"),
                        Err(other) => panic!("{other:?}"),
                    }
                }
                let balance = store.get(Table::Points, &balance_key).await.unwrap().unwrap()["balance"].as_i64().unwrap();
                let ledger = store.query(Query::partition(Table::Points, "USER#p").sort_prefix("LEDGER#").limit(1000)).await.unwrap();
                let sum: i64 = ledger.items.iter().map(|i| i["amount"].as_i64().unwrap()).sum();
                assert_eq!(balance, model);
                assert_eq!(balance, sum);
                assert!(balance >= 0);
                assert_eq!(ledger.items.len(), booked.len());
            });
        }
    }
}

/// The points ledger on both stores: idempotent day bookings, exact corrections, and
/// `balance == sum(ledger)` with one outbox event per entry under concurrent retries.
mod ledger {
    use std::sync::Arc;

    use chrono::NaiveDate;

    use fittrack_domain::{DayPoints, UserId};
    use fittrack_local::SqliteStore;
    use fittrack_platform::clock::SystemClock;
    use fittrack_platform::ports::{ItemStore, Query, Table};
    use fittrack_points::{Booking, EntryKind, PointsLedger};
    use fittrack_tests::emulator;

    fn points(total: u32) -> DayPoints {
        DayPoints { steps: total, total, ..DayPoints::default() }
    }

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, n).unwrap()
    }

    async fn outbox_events(store: &dyn ItemStore, user: UserId) -> usize {
        let mut count = 0;
        for shard in 0..16 {
            let page =
                store.query(Query::partition(Table::Points, format!("OUTBOX#{shard}")).limit(1000)).await.unwrap();
            count += page.items.iter().filter(|i| i["user_id"] == user.to_string()).count();
        }
        count
    }

    async fn books_only_differences(store: Arc<dyn ItemStore>) {
        let ledger = PointsLedger::new(store.clone(), Arc::new(SystemClock));
        let user = UserId::generate();
        assert_eq!(
            ledger.book_day(user, day(1), &points(100)).await.unwrap(),
            Booking::Booked { amount: 100, balance_after: 100, held: false }
        );
        assert_eq!(
            ledger.book_day(user, day(1), &points(100)).await.unwrap(),
            Booking::Unchanged,
            "a re-sync books nothing"
        );
        assert_eq!(
            ledger.book_day(user, day(1), &points(150)).await.unwrap(),
            Booking::Booked { amount: 50, balance_after: 150, held: false }
        );
        assert_eq!(
            ledger.book_day(user, day(1), &points(120)).await.unwrap(),
            Booking::Booked { amount: -30, balance_after: 120, held: false }
        );
        let balance = ledger.balance(user).await.unwrap();
        assert_eq!((balance.balance, balance.lifetime_earned, balance.seq), (120, 150, 3));
        let (entries, _) = ledger.entries(user, 10, None).await.unwrap();
        assert_eq!(
            entries.iter().map(|e| (e.seq, e.amount, e.balance_after)).collect::<Vec<_>>(),
            [(3, -30, 120), (2, 50, 150), (1, 100, 100)]
        );
        assert_eq!(entries[0].kind, EntryKind::Correction);
        assert_eq!(outbox_events(store.as_ref(), user).await, 3);
    }

    /// Every worker books every day: the same sync delivered many times, in different orders,
    /// racing when `parallel` (see `store_contract!` for why the emulator runs them in turn).
    async fn retries_never_double_count(store: Arc<dyn ItemStore>, workers: usize, parallel: bool) {
        let ledger = PointsLedger::new(store.clone(), Arc::new(SystemClock));
        let user = UserId::generate();
        let work = |ledger: PointsLedger, worker: u32| async move {
            for n in 0..6u32 {
                let d = (n + worker) % 6 + 1;
                ledger.book_day(user, day(d), &points(d * 10)).await.unwrap();
            }
        };
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..workers as u32 {
            if parallel {
                tasks.spawn(work(ledger.clone(), worker));
            } else {
                work(ledger.clone(), worker).await;
            }
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        let balance = ledger.balance(user).await.unwrap();
        assert_eq!(balance.balance, (1..=6).map(|d| d * 10).sum::<u32>() as i64);
        let (entries, _) = ledger.entries(user, 100, None).await.unwrap();
        assert_eq!(entries.len(), 6, "one entry per day, whatever the retries");
        assert_eq!(entries.iter().map(|e| e.amount).sum::<i64>(), balance.balance);
        let mut seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
        seqs.sort();
        assert_eq!(seqs, (1..=6).collect::<Vec<_>>());
        assert_eq!(outbox_events(store.as_ref(), user).await, 6);
    }

    /// A re-sync of an unchanged day reads, and writes nothing at all (the stored breakdown
    /// compares equal after the store's round trip).
    async fn resyncs_write_nothing(store: Arc<dyn ItemStore>) {
        let meter = Arc::new(fittrack_tests::write_units::WriteUnitMeter::new(store));
        let ledger = PointsLedger::new(meter.clone(), Arc::new(SystemClock));
        let user = UserId::generate();
        let points =
            DayPoints { steps: 90, active_minutes: 40, activity_score: 130, total: 130, ..DayPoints::default() };
        ledger.book_day(user, day(2), &points).await.unwrap();
        let written = meter.units();
        assert!(written > 0);
        assert_eq!(ledger.book_day(user, day(2), &points).await.unwrap(), Booking::Unchanged);
        assert_eq!(meter.units(), written, "the re-sync wrote");
    }

    #[tokio::test]
    async fn sqlite_resyncs_write_nothing() {
        resyncs_write_nothing(Arc::new(SqliteStore::in_memory().unwrap())).await;
    }

    #[tokio::test]
    async fn dynamodb_resyncs_write_nothing() {
        resyncs_write_nothing(Arc::new(emulator::dynamo_store().await.0)).await;
    }

    #[tokio::test]
    async fn sqlite_books_only_differences() {
        books_only_differences(Arc::new(SqliteStore::in_memory().unwrap())).await;
    }

    #[tokio::test]
    async fn dynamodb_books_only_differences() {
        books_only_differences(Arc::new(emulator::dynamo_store().await.0)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_concurrent_retries_never_double_count() {
        retries_never_double_count(Arc::new(SqliteStore::in_memory().unwrap()), 8, true).await;
    }

    #[tokio::test]
    async fn dynamodb_retries_never_double_count() {
        retries_never_double_count(Arc::new(emulator::dynamo_store().await.0), 4, false).await;
    }
}

/// The points engine on both stores: activity records in, days recomputed, differences booked.
mod engine {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Arc;

    use chrono::{DateTime, Duration, NaiveDate, Utc};
    use proptest::prelude::*;

    use fittrack_domain::activity::{Activity, ActivityKind, IntensityMinutes, day_totals, deduplicate};
    use fittrack_domain::{RateTable, UserId, competition_day};
    use fittrack_local::SqliteStore;
    use fittrack_platform::clock::SystemClock;
    use fittrack_platform::ports::ItemStore;
    use fittrack_points::PointsEngine;
    use fittrack_tests::emulator;

    /// Noon in New York on the `n`th day of June 2026.
    fn noon(n: u32) -> DateTime<Utc> {
        format!("2026-06-{n:02}T16:00:00Z").parse().unwrap()
    }

    fn walk(source: &str, id: &str, day: u32, minute: i64, steps: u32) -> Activity {
        Activity {
            source: source.into(),
            source_id: id.into(),
            kind: ActivityKind::Walk,
            start: noon(day) + Duration::minutes(minute),
            end: noon(day) + Duration::minutes(minute + 30),
            steps,
            minutes: IntensityMinutes { moderate: 30, ..Default::default() },
            workout: true,
            received_at: noon(day),
        }
    }

    fn engine(store: Arc<dyn ItemStore>) -> PointsEngine {
        PointsEngine::new(store, Arc::new(SystemClock), RateTable::default())
    }

    async fn resyncs_book_nothing_and_late_data_books_the_difference(store: Arc<dyn ItemStore>) {
        let engine = engine(store);
        let user = UserId::generate();
        let first = [walk("strava", "a", 1, 0, 4_000)];
        let booked = engine.ingest(user, None, &first).await.unwrap();
        // 40 for steps, 60 for 30 moderate minutes, 50 for the workout.
        assert_eq!(engine.ledger().balance(user).await.unwrap().balance, 150);
        assert_eq!(booked.len(), 1);
        assert!(engine.ingest(user, None, &first).await.unwrap().is_empty(), "a re-sync books nothing");
        // The watch saw the same walk: it overlaps, so it counts once, and the richer record (it
        // also has light minutes) replaces the other: 50 + 60 + 10 + 50.
        let mut watch = walk("google_health", "w", 1, 5, 5_200);
        watch.minutes.light = 10;
        engine.ingest(user, None, &[watch]).await.unwrap();
        assert_eq!(engine.ledger().balance(user).await.unwrap().balance, 170);
        // A late, separate walk that day books only its own points: 11,200 steps (110 + goal 100),
        // 60 moderate and 10 light minutes (130), two workouts (100).
        engine.ingest(user, None, &[walk("strava", "b", 1, 120, 6_000)]).await.unwrap();
        let balance = engine.ledger().balance(user).await.unwrap();
        assert_eq!(balance.balance, 110 + 100 + 130 + 100);
        let (entries, _) = engine.ledger().entries(user, 50, None).await.unwrap();
        assert_eq!(entries.iter().map(|e| e.amount).sum::<i64>(), balance.balance);
    }

    #[tokio::test]
    async fn sqlite_resyncs_book_nothing_and_late_data_books_the_difference() {
        resyncs_book_nothing_and_late_data_books_the_difference(Arc::new(SqliteStore::in_memory().unwrap())).await;
    }

    #[tokio::test]
    async fn dynamodb_resyncs_book_nothing_and_late_data_books_the_difference() {
        resyncs_book_nothing_and_late_data_books_the_difference(Arc::new(emulator::dynamo_store().await.0)).await;
    }

    #[tokio::test]
    async fn a_week_of_activity_pays_one_streak_bonus_whatever_the_order() {
        let engine = engine(Arc::new(SqliteStore::in_memory().unwrap()));
        let user = UserId::generate();
        for day in [3u32, 1, 7, 5, 2, 8, 6, 4] {
            engine.ingest(user, None, &[walk("device", &format!("d{day}"), day, 0, 10_000)]).await.unwrap();
        }
        // Each day: 100 steps + 100 goal + 60 minutes + 50 workout = 310; plus one 250 streak bonus.
        assert_eq!(engine.ledger().balance(user).await.unwrap().balance, 8 * 310 + 250);
        let before = engine.ledger().balance(user).await.unwrap();
        for day in 1..=8u32 {
            engine.ingest(user, None, &[walk("device", &format!("d{day}"), day, 0, 10_000)]).await.unwrap();
        }
        assert_eq!(engine.ledger().balance(user).await.unwrap(), before, "re-syncing a week changes nothing");
    }

    /// What the whole history is worth, computed directly from the domain rules.
    fn oracle(records: &[Activity]) -> i64 {
        let rates = RateTable::default();
        let counted = deduplicate(records, None);
        let days: BTreeSet<NaiveDate> = counted.iter().map(|a| competition_day(a.start)).collect();
        let totals: BTreeMap<NaiveDate, _> = days.iter().map(|d| (*d, day_totals(&counted, *d))).collect();
        let active: BTreeSet<NaiveDate> = totals.iter().filter(|(_, t)| rates.is_active(t)).map(|(d, _)| *d).collect();
        totals.iter().map(|(d, t)| i64::from(rates.day_points(t, rates.completes_streak(&active, *d)).total)).sum()
    }

    fn record() -> impl Strategy<Value = Activity> {
        (0usize..2, 0u8..8, 1u32..12, 0i64..600, 0u32..9_000, any::<bool>()).prop_map(
            |(source, id, day, minute, steps, workout)| {
                let mut a = walk(["strava", "device"][source], &format!("r{id}-{day}"), day, minute - 300, steps);
                a.workout = workout;
                a
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// However records are split into syncs and ordered, the balance ends where the rules say.
        #[test]
        fn the_balance_does_not_depend_on_how_records_arrive(
            records in prop::collection::vec(record(), 1..25),
            split in 1usize..6,
            reverse in any::<bool>(),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let expected = oracle(&records);
            let balance = runtime.block_on(async {
                let engine = engine(Arc::new(SqliteStore::in_memory().unwrap()));
                let user = UserId::generate();
                let mut ordered = records.clone();
                if reverse {
                    ordered.reverse();
                }
                for batch in ordered.chunks(split) {
                    engine.ingest(user, None, batch).await.unwrap();
                }
                let balance = engine.ledger().balance(user).await.unwrap();
                let (entries, _) = engine.ledger().entries(user, 1000, None).await.unwrap();
                assert_eq!(entries.iter().map(|e| e.amount).sum::<i64>(), balance.balance);
                balance.balance
            });
            prop_assert_eq!(balance, expected);
        }
    }
}
