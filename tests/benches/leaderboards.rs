//! Leaderboards at a million people: `cargo bench -p fittrack-tests --bench leaderboards`
//! (part of `make bench`). `FITTRACK_BENCH_BOARD_SIZE` changes the size (default 1,000,000).
//!
//! On the embedded store (a SQLite file), through the same code the worker and the API run:
//! 1. builds a tier's all-time board of N people through the count index's `apply`, a tenth of
//!    them on one score (the daily cap) at different instants, the rest spread out;
//! 2. sends 500 people's point events through the worker (stage, then drain), so they join the
//!    board with state a `me` can read: write units per event (DynamoDB's sizing rules, metered)
//!    and events per second;
//! 3. reads, metered as strongly consistent DynamoDB reads: `me` (rank, neighbours, size), the
//!    rank alone, the top 100, the ten rows around someone; for people in the tie and outside;
//! 4. simulates 300 point events a second for one tier, batches of 100 drained as the Lambda
//!    does, and reports the most writes any one item took in a simulated second;
//! 5. times `me` and the top 100 with criterion.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use criterion::{Criterion, criterion_group};

use fittrack_domain::UserId;
use fittrack_domain::leaderboard::{BoardDay, Period, Standing};
use fittrack_domain::points::{EntryKind, competition_day};
use fittrack_leaderboards::index::{BoardIndex, Move, Row};
use fittrack_leaderboards::{BoardId, LeaderboardService, LeaderboardWorker};
use fittrack_local::SqliteStore;
use fittrack_platform::batch::MessageHandler;
use fittrack_platform::clock::SystemClock;
use fittrack_platform::messages::{BoardUpdate, PointEvent};
use fittrack_platform::ports::{ItemStore, Table};
use fittrack_tests::write_units::WriteUnitMeter;

const TIER: &str = "F-30-39-INT";

struct Setup {
    _dir: tempfile::TempDir,
    meter: Arc<WriteUnitMeter>,
    board: BoardId,
    /// People who joined through the worker: in the tie, and elsewhere.
    tied: Vec<UserId>,
    spread: Vec<UserId>,
}

/// A pseudo-random number from a counter (no dependency for the benchmark's data).
fn mix(i: u64) -> u64 {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 29)
}

async fn account(store: &dyn ItemStore, user: UserId) {
    let item = serde_json::json!({"pk": format!("USER#{user}"), "sk": "ACCOUNT", "display_name": "Alexandra Montgomery-Li",
        "profile": {"public_profile": true}, "tier_code": TIER});
    store.put(Table::Users, item.as_object().cloned().unwrap(), None).await.unwrap();
}

fn event(user: UserId, seq: u64, points: i64) -> BoardUpdate {
    let now = Utc::now();
    BoardUpdate::Point(PointEvent {
        event_id: format!("{user}:{seq}"),
        user_id: user,
        seq,
        kind: EntryKind::Earn,
        amount: points,
        held_amount: 0,
        balance_after: points,
        cause: "bench".into(),
        created_at: now.timestamp(),
        board_days: vec![BoardDay { day: competition_day(now), points }],
    })
}

async fn build(size: u64, people: usize) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let raw: Arc<dyn ItemStore> = Arc::new(SqliteStore::open(&dir.path().join("boards.db")).unwrap());
    let board = BoardId::of_day(TIER, Period::AllTime, competition_day(Utc::now()));
    let index = BoardIndex::new(Arc::clone(&raw));
    let started = Instant::now();
    let chunk = 20_000u64;
    for start in (0..size).step_by(chunk as usize) {
        let moves: Vec<Move> = (start..(start + chunk).min(size))
            .map(|i| {
                let r = mix(i);
                // A tenth at the daily cap's 1,000 points, reached at different instants.
                let points = if i % 10 == 0 { 1_000 } else { i64::try_from(r % 50_000).unwrap() };
                let standing = Standing {
                    user: UserId::from_uuid(uuid::Uuid::from_u64_pair(r, i)),
                    points,
                    reached_at: 1_790_000_000 + i64::try_from(mix(r) % 2_000_000).unwrap(),
                    active_days: u32::try_from(r % 60).unwrap(),
                };
                Move { from: None, to: Some(Row { standing, name: Some("Alexandra Montgomery-Li".into()) }) }
            })
            .collect();
        index.apply(&board, &moves).await.unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "built a board of {size} people in {:.0} s ({:.0} rows/s through the index)",
        elapsed.as_secs_f64(),
        size as f64 / elapsed.as_secs_f64()
    );

    // People who join through the worker, so `me` finds their standing.
    let meter = Arc::new(WriteUnitMeter::new(Arc::clone(&raw)));
    let worker = LeaderboardWorker::new(Arc::clone(&meter) as Arc<dyn ItemStore>, Arc::new(SystemClock));
    let tied: Vec<UserId> = (0..people).map(|_| UserId::generate()).collect();
    let spread: Vec<UserId> = (0..people).map(|_| UserId::generate()).collect();
    for user in tied.iter().chain(&spread) {
        account(raw.as_ref(), *user).await;
    }
    let events: Vec<BoardUpdate> = tied
        .iter()
        .map(|u| event(*u, 1, 1_000))
        .chain(
            spread.iter().enumerate().map(|(i, u)| event(*u, 1, 100 + i64::try_from(mix(i as u64) % 40_000).unwrap())),
        )
        .collect();
    for update in &events {
        if let BoardUpdate::Point(event) = update {
            fittrack_tests::record_ledger_entry(raw.as_ref(), event).await;
        }
    }
    let (units, started) = (meter.units(), Instant::now());
    for batch in events.chunks(100) {
        for update in batch {
            worker.handle(update.clone()).await.unwrap();
        }
        worker.after_batch().await;
    }
    let elapsed = started.elapsed();
    let per_event = (meter.units() - units) as f64 / events.len() as f64;
    println!(
        "worker: {} events (each on 4 boards, one of them {size} people) in {:.2} s = {:.0} events/s; {per_event:.1} write units per event",
        events.len(),
        elapsed.as_secs_f64(),
        events.len() as f64 / elapsed.as_secs_f64(),
    );
    println!("  write units by kind of item: {:?}", meter.units_by_kind());

    // The same people earn again: now every event moves a row on each board (delete + put).
    let again: Vec<BoardUpdate> = tied
        .iter()
        .chain(&spread)
        .enumerate()
        .map(|(i, u)| event(*u, 2, 10 + i64::try_from(mix(i as u64 + 7) % 90).unwrap()))
        .collect();
    for update in &again {
        if let BoardUpdate::Point(event) = update {
            fittrack_tests::record_ledger_entry(raw.as_ref(), event).await;
        }
    }
    let (units, started) = (meter.units(), Instant::now());
    for batch in again.chunks(100) {
        for update in batch {
            worker.handle(update.clone()).await.unwrap();
        }
        worker.after_batch().await;
    }
    let elapsed = started.elapsed();
    println!(
        "worker, people already on the boards: {} events in {:.2} s = {:.0} events/s; {:.1} write units per event",
        again.len(),
        elapsed.as_secs_f64(),
        again.len() as f64 / elapsed.as_secs_f64(),
        (meter.units() - units) as f64 / again.len() as f64,
    );
    // One event at a time (a batch of one): nothing to share.
    let (units, lone) = (meter.units(), tied.iter().take(20).map(|u| event(*u, 3, 5)).collect::<Vec<_>>());
    for update in &lone {
        if let BoardUpdate::Point(event) = update {
            fittrack_tests::record_ledger_entry(raw.as_ref(), event).await;
        }
        worker.handle(update.clone()).await.unwrap();
        worker.after_batch().await;
    }
    println!(
        "worker, one event per batch: {:.1} write units per event",
        (meter.units() - units) as f64 / lone.len() as f64
    );
    Setup { _dir: dir, meter, board, tied, spread }
}

async fn report_reads(setup: &Setup) {
    let store = Arc::clone(&setup.meter) as Arc<dyn ItemStore>;
    let service = LeaderboardService::new(Arc::clone(&store), Arc::new(SystemClock), pseudonym_keys());
    let index = BoardIndex::new(store);
    let meter = &setup.meter;
    for (group, users) in
        [("in the tenth that shares one score", &setup.tied), ("elsewhere on the board", &setup.spread)]
    {
        let (mut me_max, mut me_sum, mut rank_max, mut around_max) = (0, 0, 0, 0);
        for user in users {
            let before = meter.read_units();
            let mine = service.me(*user, &setup.board).await.unwrap();
            let me = meter.read_units() - before;
            assert!(mine.on_board);
            (me_max, me_sum) = (me_max.max(me), me_sum + me);

            let key = service.standing(*user, &setup.board).await.unwrap().unwrap().sort_key();
            let before = meter.read_units();
            let rank = index.rows_before(&setup.board, &key).await.unwrap() + 1;
            rank_max = rank_max.max(meter.read_units() - before);
            assert_eq!(Some(rank), mine.rank);

            let before = meter.read_units();
            let above = index.rows_before_key(&setup.board, &key, 10).await.unwrap();
            let below = index.rows_after(&setup.board, Some(&key), 10).await.unwrap();
            around_max = around_max.max(meter.read_units() - before);
            assert_eq!((above.len(), below.len()), (mine.above.len(), mine.below.len()));
        }
        println!(
            "reads, {group}: rank alone max {rank_max} RU; ten rows above and ten below max {around_max} RU; \
             the whole `me` (state item, rank, neighbours, board size) max {me_max} / mean {:.1} RU",
            me_sum as f64 / users.len() as f64
        );
    }
    let before = meter.read_units();
    index.rows_after(&setup.board, None, 100).await.unwrap();
    println!("reads: the top 100 rows: {} RU", meter.read_units() - before);
    let before = meter.read_units();
    let page = service.page(setup.tied[0], &setup.board, Some(100), None).await.unwrap();
    assert_eq!(page.items.len(), 100);
    println!("reads: the top 100 as the API answers it (with the board's size): {} RU", meter.read_units() - before);
}

async fn report_hot_items(setup: &Setup, seconds: u64) {
    let store = Arc::clone(&setup.meter) as Arc<dyn ItemStore>;
    let worker = LeaderboardWorker::new(Arc::clone(&store), Arc::new(SystemClock));
    let people: Vec<UserId> = (0..3_000).map(|_| UserId::generate()).collect();
    for user in &people {
        account(store.as_ref(), *user).await;
    }
    setup.meter.take_item_writes();
    let (mut worst, mut worst_item) = (0, None);
    let mut seq = std::collections::HashMap::new();
    for second in 0..seconds {
        // 300 events this second, from people who earn again and again, in three SQS batches.
        for batch in 0..3u64 {
            for i in 0..100u64 {
                let user = people[usize::try_from(mix(second * 1_000 + batch * 100 + i) % 3_000).unwrap()];
                let n = seq.entry(user).or_insert(0u64);
                *n += 1;
                let update = event(user, *n, 10 + i64::try_from(i % 7).unwrap() * 10);
                if let BoardUpdate::Point(event) = &update {
                    fittrack_tests::record_ledger_entry(store.as_ref(), event).await;
                }
                worker.handle(update).await.unwrap();
            }
            worker.after_batch().await;
        }
        if let Some((item, writes)) = setup.meter.take_item_writes()
            && writes > worst
        {
            (worst, worst_item) = (writes, Some(item));
        }
    }
    println!("hot items at 300 events/s for one tier: at most {worst} writes to one item in a second ({worst_item:?})");
}

fn timings(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // `cargo test --all-targets` runs this without `--bench`: a small board, as a smoke test.
    let benching = std::env::args().any(|arg| arg == "--bench");
    let size = match std::env::var("FITTRACK_BENCH_BOARD_SIZE").ok().and_then(|s| s.parse().ok()) {
        Some(size) => size,
        None if benching => 1_000_000,
        None => 2_000,
    };
    let setup = runtime.block_on(async {
        let setup = build(size, if benching { 250 } else { 20 }).await;
        report_reads(&setup).await;
        report_hot_items(&setup, if benching { 10 } else { 1 }).await;
        setup
    });
    let store = Arc::clone(&setup.meter) as Arc<dyn ItemStore>;
    let service = LeaderboardService::new(store, Arc::new(SystemClock), pseudonym_keys());
    let mut group = c.benchmark_group("leaderboards");
    group.sample_size(30);
    group.bench_function("me_on_a_board_of_1M", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            let user = setup.tied[i % setup.tied.len()];
            runtime.block_on(service.me(user, &setup.board)).unwrap()
        });
    });
    group.bench_function("top_100_of_1M", |b| {
        b.iter(|| runtime.block_on(service.page(setup.tied[0], &setup.board, Some(100), None)).unwrap());
    });
    group.finish();
}

criterion_group!(benches, timings);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}

/// A key for the pseudonyms of private profiles.
fn pseudonym_keys() -> Arc<fittrack_platform::crypto::PiiCipher> {
    let key = fittrack_platform::crypto::generate_pii_key();
    Arc::new(fittrack_platform::crypto::PiiCipher::from_master_key(&key).unwrap())
}
