//! Points computation and sync throughput.
//!
//! `cargo bench -p fittrack-tests --bench points`:
//! - `compute/week_of_activity`: the pure domain pipeline for one user-week of simulated tracker
//!   records (de-duplication across two trackers, day totals, rate table with streaks), reported
//!   as activities per second on one core.
//! - `sync/users`: the sync worker's job end to end on the embedded store (read connection, fetch
//!   from the simulated provider, points engine with ledger writes, reschedule), 50 users a batch,
//!   reported as users per second (×60 for users per minute).
//! - `sync/sqs_batch_of_10_at_100ms_tracker_latency`: one SQS batch of 10 first-week jobs through
//!   the worker's batch handler, against a tracker answering in 100 ms: whether the jobs' waits
//!   overlap (sequential, a batch would take over a second).
//! - `ingest/batch_of_500_at_5ms_store_latency`: one device upload of 500 records over a week
//!   (the largest batch the API takes) through `ingest_batch`, on a store that answers every call
//!   in 5 ms like a DynamoDB round trip: whether it fits a Lambda's 10 s with room to spare.
//! - Before those, a report of DynamoDB write units (metered by DynamoDB's sizing rules, see
//!   `fittrack_tests::write_units`) per synced user-day: for a first sync that books a week, and
//!   for a day of syncs every 15 minutes (fan-out lease and job) as activity trickles in.

use std::collections::BTreeSet;
use std::sync::Arc;

use fittrack_platform::batch::{Delivery, run_batch};

use chrono::{Days, NaiveDate};
use criterion::{BatchSize, Criterion, Throughput, criterion_group};

use fittrack_domain::RateTable;
use fittrack_domain::UserId;
use fittrack_domain::activity::{Activity, day_totals, deduplicate};
use fittrack_local::SqliteStore;
use fittrack_platform::clock::SystemClock;
use fittrack_platform::ports::{ItemStore, StoreError};
use fittrack_points::ingest::IngestRecord;
use fittrack_points::{IngestBatch, PointsEngine};
use fittrack_sync::SyncJob;
use fittrack_tests::store_hooks::{Call, HookedStore, StoreHooks};
use fittrack_tests::sync_fixture::local_sync;
use fittrack_trackers::{SimulatedTracker, simulated_day};

fn week(user: UserId) -> Vec<Activity> {
    let start = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let mut records = Vec::new();
    for d in 0..7 {
        let day = simulated_day(user, start + Days::new(d));
        // The same movement seen by a second tracker: de-duplication has real work to do.
        records.extend(day.iter().map(|a| Activity { source: "strava".into(), ..a.clone() }));
        records.extend(day);
    }
    records
}

fn score(records: &[Activity], rates: &RateTable) -> u32 {
    let counted = deduplicate(records, Some("simulated"));
    let days: BTreeSet<NaiveDate> = counted.iter().map(|a| fittrack_domain::points::competition_day(a.start)).collect();
    let mut active = BTreeSet::new();
    let mut total = 0;
    for day in days {
        let totals = day_totals(&counted, day);
        if rates.is_active(&totals) {
            active.insert(day);
        }
        total += rates.day_points(&totals, rates.completes_streak(&active, day)).total;
    }
    total
}

fn compute(c: &mut Criterion) {
    let records = week(UserId::generate());
    let rates = RateTable::default();
    let mut group = c.benchmark_group("compute");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("week_of_activity", |b| b.iter(|| score(std::hint::black_box(&records), &rates)));
    group.finish();
}

const USERS: usize = 50;

fn sync(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("sync");
    group.sample_size(10);
    group.throughput(Throughput::Elements(USERS as u64));
    group.bench_function("users", |b| {
        b.iter_batched(
            || {
                // Fresh users each batch: every job books a first week, the expensive case.
                let store: Arc<dyn ItemStore> = Arc::new(SqliteStore::in_memory().unwrap());
                let sync = local_sync(store, vec![Arc::new(SimulatedTracker)], Arc::new(SystemClock));
                let users: Vec<UserId> = (0..USERS).map(|_| UserId::generate()).collect();
                runtime.block_on(async {
                    for user in &users {
                        sync.connect(*user, "simulated").await.unwrap();
                    }
                });
                (sync, users)
            },
            |(sync, users)| {
                runtime.block_on(async {
                    for user in users {
                        sync.run(&SyncJob { user_id: user, provider: "simulated".into() }).await.unwrap();
                    }
                })
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

const METERED_USERS: usize = 5;
const SYNCS_PER_DAY: usize = 96;

/// Prints write units per synced user-day (a count, not a timing: printed once, not sampled).
fn report_write_units() {
    use fittrack_platform::clock::ManualClock;
    use fittrack_platform::ports::{Query, Table};
    use fittrack_tests::write_units::WriteUnitMeter;

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let meter = Arc::new(WriteUnitMeter::new(Arc::new(SqliteStore::in_memory().unwrap())));
    // 06:00 in New York: the first sync books six full days and the start of a seventh and eighth.
    let clock = Arc::new(ManualClock::new("2026-06-10T10:00:00Z".parse().unwrap()));
    let store: Arc<dyn ItemStore> = meter.clone();
    let sync = local_sync(Arc::clone(&store), vec![Arc::new(SimulatedTracker)], clock.clone());
    let users: Vec<UserId> = (0..METERED_USERS).map(|_| UserId::generate()).collect();
    runtime.block_on(async {
        for user in &users {
            sync.connect(*user, "simulated").await.unwrap();
        }
        let run_all = || async {
            for user in &users {
                sync.run(&SyncJob { user_id: *user, provider: "simulated".into() }).await.unwrap();
            }
        };
        let booked_days = || async {
            let mut days = 0;
            for user in &users {
                let query = Query::partition(Table::Points, format!("USER#{user}")).sort_prefix("DAY#").limit(1000);
                days += store.query(query).await.unwrap().items.len();
            }
            days
        };
        let start = meter.units();
        run_all().await;
        let first = meter.units() - start;
        let first_days = booked_days().await;
        let start = meter.units();
        let kinds_before = meter.units_by_kind();
        for _ in 0..SYNCS_PER_DAY {
            // As in production: the fan-out finds the due connections and leases them, then the
            // worker runs each job.
            clock.advance(chrono::Duration::minutes(15) + chrono::Duration::seconds(1));
            assert_eq!(sync.fan_out().await.unwrap(), METERED_USERS, "every connection is due");
            run_all().await;
        }
        let steady = meter.units() - start;
        let users = METERED_USERS as f64;
        eprintln!(
            "write units, first sync: {:.1} per user-day ({} units over {first_days} user-days)",
            first as f64 / first_days as f64,
            first
        );
        eprintln!(
            "write units, a day of 15-minute syncs: {:.0} per user-day ({steady} units, {METERED_USERS} users x {SYNCS_PER_DAY} syncs)",
            steady as f64 / users
        );
        let mut kinds: Vec<(String, u64)> = meter
            .units_by_kind()
            .into_iter()
            .map(|(kind, units)| {
                let spent = units - kinds_before.get(&kind).copied().unwrap_or(0);
                (kind, spent)
            })
            .filter(|(_, units)| *units > 0)
            .collect();
        kinds.sort_by_key(|(_, units)| std::cmp::Reverse(*units));
        let breakdown: Vec<String> =
            kinds.iter().map(|(kind, units)| format!("{kind} {:.0}", *units as f64 / users)).collect();
        eprintln!("  per user-day by item: {}", breakdown.join(", "));
    });
}

/// The simulated tracker behind a network: every fetch waits `LATENCY`, as a call to a tracker's
/// API does, so the worker's batch shows whether it overlaps its jobs' waits.
struct DistantTracker;

const LATENCY: std::time::Duration = std::time::Duration::from_millis(100);
const BATCH: usize = 10;

#[async_trait::async_trait]
impl fittrack_platform::ports::TrackerProvider for DistantTracker {
    fn name(&self) -> &'static str {
        "simulated"
    }
    async fn fetch(
        &self,
        access_token: Option<&str>,
        user: UserId,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Activity>, fittrack_platform::ports::TrackerError> {
        tokio::time::sleep(LATENCY).await;
        SimulatedTracker.fetch(access_token, user, from, to).await
    }
}

fn sync_batch(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("sync");
    group.sample_size(10);
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("sqs_batch_of_10_at_100ms_tracker_latency", |b| {
        b.iter_batched(
            || {
                let store: Arc<dyn ItemStore> = Arc::new(SqliteStore::in_memory().unwrap());
                let sync = local_sync(store, vec![Arc::new(DistantTracker)], Arc::new(SystemClock));
                let bodies: Vec<(String, String)> = runtime.block_on(async {
                    let mut bodies = Vec::new();
                    for n in 0..BATCH {
                        let user = UserId::generate();
                        sync.connect(user, "simulated").await.unwrap();
                        let job = SyncJob { user_id: user, provider: "simulated".into() };
                        bodies.push((format!("m{n}"), serde_json::to_string(&job).unwrap()));
                    }
                    bodies
                });
                (Arc::new(sync.worker().clone()), bodies)
            },
            |(sync, bodies)| {
                let deliveries: Vec<Delivery> = bodies.iter().map(|(id, body)| Delivery { id, body }).collect();
                let failed = runtime.block_on(run_batch(&sync, &deliveries, BATCH));
                assert!(failed.is_empty());
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// A DynamoDB-like round trip, added to every store call.
struct RoundTrip;

const STORE_LATENCY: std::time::Duration = std::time::Duration::from_millis(5);

#[async_trait::async_trait]
impl StoreHooks for RoundTrip {
    async fn before(&self, _call: Call) -> Result<(), StoreError> {
        tokio::time::sleep(STORE_LATENCY).await;
        Ok(())
    }
}

fn big_upload(now: chrono::DateTime<chrono::Utc>) -> IngestBatch {
    let records = (0..500i64)
        .map(|n| {
            // Seven days of walks, 20 minutes apart.
            let start = now - chrono::Duration::days(7) + chrono::Duration::minutes(20 * n);
            IngestRecord {
                id: format!("r{n}"),
                kind: "walk".into(),
                start,
                end: start + chrono::Duration::minutes(10),
                steps: 900,
                light_minutes: 10,
                moderate_minutes: 0,
                vigorous_minutes: 0,
                workout: false,
            }
        })
        .collect();
    IngestBatch { batch_id: "big".into(), source: "healthkit".into(), device_id: "phone".into(), records }
}

fn ingest(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("ingest");
    group.sample_size(10);
    group.throughput(Throughput::Elements(500));
    group.bench_function("batch_of_500_at_5ms_store_latency", |b| {
        b.iter_batched(
            || {
                let store: Arc<dyn ItemStore> =
                    Arc::new(HookedStore::new(Arc::new(SqliteStore::in_memory().unwrap()), RoundTrip));
                let engine = PointsEngine::new(store, Arc::new(SystemClock), RateTable::default());
                (engine, big_upload(chrono::Utc::now()))
            },
            |(engine, batch)| {
                let receipt = runtime.block_on(engine.ingest_batch(UserId::generate(), &batch, None)).unwrap();
                assert_eq!(receipt.records, 500);
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, compute, sync, sync_batch, ingest);

fn main() {
    report_write_units();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
