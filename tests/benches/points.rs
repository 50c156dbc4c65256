//! Points computation and sync throughput.
//!
//! `cargo bench -p fittrack-tests --bench points`:
//! - `compute/week_of_activity`: the pure domain pipeline for one user-week of simulated tracker
//!   records (de-duplication across two trackers, day totals, rate table with streaks), reported
//!   as activities per second on one core.
//! - `sync/users`: the sync worker's job end to end on the embedded store (read connection, fetch
//!   from the simulated provider, points engine with ledger writes, reschedule), 50 users a batch,
//!   reported as users per second (×60 for users per minute).

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Days, NaiveDate};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

use fittrack_core::Config;
use fittrack_core::app::{BuildOptions, sync_service};
use fittrack_core::ports::{ItemStore, Queue};
use fittrack_core::sync::SyncJob;
use fittrack_domain::RateTable;
use fittrack_domain::UserId;
use fittrack_domain::activity::{Activity, day_totals, deduplicate};
use fittrack_local::{InProcessQueue, SqliteStore};
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
    let config =
        Config::from_lookup(|name| (name == "FITTRACK_PII_KEY").then(fittrack_core::crypto::generate_pii_key)).unwrap();
    let mut group = c.benchmark_group("sync");
    group.sample_size(10);
    group.throughput(Throughput::Elements(USERS as u64));
    group.bench_function("users", |b| {
        b.iter_batched(
            || {
                // Fresh users each batch: every job books a first week, the expensive case.
                let store: Arc<dyn ItemStore> = Arc::new(SqliteStore::in_memory().unwrap());
                let queue: Arc<dyn Queue> = Arc::new(InProcessQueue::default());
                let sync =
                    sync_service(&config, store, queue, vec![Arc::new(SimulatedTracker)], &BuildOptions::default())
                        .unwrap();
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

criterion_group!(benches, compute, sync);
criterion_main!(benches);
