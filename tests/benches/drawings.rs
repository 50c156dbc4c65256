//! Drawings at scale: `cargo bench -p fittrack-tests --bench drawings` (part of `make bench`).
//!
//! 1. The draw itself, from a snapshot of 10,000,000 tickets in 1,000,000 ranges (sizes from
//!    `FITTRACK_BENCH_TICKETS` and `FITTRACK_BENCH_RANGES`): reading the file, hashing it, and
//!    running the `fittrack-draw-v1` stream for 40 places and 40 alternates; time with criterion,
//!    memory as the file's and the parsed ranges' bytes and the process's peak resident set.
//! 2. Write units per purchase, metered by DynamoDB's sizing rules on the embedded store, for a
//!    purchase of 1 and of 500 tickets, and for a free entry; and the most writes any one item
//!    takes while 1,000 people buy one after another (the hot-spot check).

use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, criterion_group};

use fittrack_domain::draw_protocol::{EntrantId, Snapshot, draw, seed, sha256};
use fittrack_local::SqliteStore;
use fittrack_platform::ports::ItemStore;
use fittrack_tests::drawings_fixture::Fixture;
use fittrack_tests::write_units::WriteUnitMeter;

fn snapshot_of(tickets: u64, ranges: u64) -> Snapshot {
    let per = tickets / ranges;
    Snapshot::assign((0..ranges).map(|i| {
        let digest = sha256(&i.to_be_bytes());
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        // Spread the counts around the mean so ranges differ; the total stays `tickets`.
        let count =
            if i % 2 == 0 { per + per / 2 } else { per - per / 2 } + u64::from(i == ranges - 1) * (tickets % ranges);
        (EntrantId(id), count.max(1))
    }))
}

fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

async fn report_write_units(people: usize) {
    let dir = tempfile::tempdir().unwrap();
    let sqlite: Arc<dyn ItemStore> = Arc::new(SqliteStore::open(&dir.path().join("bench.db")).unwrap());
    let meter = Arc::new(WriteUnitMeter::new(sqlite));
    let fixture = Fixture::new(Arc::clone(&meter) as Arc<dyn ItemStore>);
    let drawing = fixture.open_drawing(10, 10_000, 3).await;
    let mut users = Vec::with_capacity(people);
    for _ in 0..people {
        users.push(fixture.person(10_000).await);
    }
    meter.take_item_writes();
    let sample = users.len().min(50);
    for (quantity, label) in [(1u64, "1 ticket"), (500, "500 tickets")] {
        let before = meter.units();
        for (n, user) in users.iter().take(sample).enumerate() {
            fixture
                .service
                .buy(*user, &drawing, quantity, Some(&format!("{label}-{n}").replace(' ', "-")))
                .await
                .unwrap();
        }
        println!("write units per purchase of {label}: {:.1} WU", (meter.units() - before) as f64 / sample as f64);
    }
    let before = meter.units();
    for user in users.iter().take(sample) {
        fixture.service.free_entry(*user, &drawing).await.unwrap();
    }
    println!("write units per free entry: {:.1} WU", (meter.units() - before) as f64 / sample as f64);
    meter.take_item_writes();
    let started = Instant::now();
    for (n, user) in users.iter().enumerate() {
        fixture.service.buy(*user, &drawing, 1, Some(&format!("rush-{n}"))).await.unwrap();
    }
    let elapsed = started.elapsed();
    if let Some((item, writes)) = meter.take_item_writes() {
        println!(
            "hot spot: {people} purchases ({:.0}/s on one SQLite connection): the busiest item took {writes} writes \
             ({item:?}), so at 1,000 purchases a second it takes {:.0} writes a second",
            people as f64 / elapsed.as_secs_f64(),
            writes as f64 * 1_000.0 / people as f64
        );
    }
}

fn benches(c: &mut Criterion) {
    // `cargo test --all-targets` runs this without `--bench`: small sizes, as a smoke test.
    let benching = std::env::args().any(|arg| arg == "--bench");
    let size = |name: &str, full: u64, smoke: u64| {
        std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(if benching { full } else { smoke })
    };
    let (tickets, ranges) =
        (size("FITTRACK_BENCH_TICKETS", 10_000_000, 20_000), size("FITTRACK_BENCH_RANGES", 1_000_000, 2_000));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(report_write_units(if benching { 1_000 } else { 40 }));

    let snapshot = snapshot_of(tickets, ranges);
    let file = snapshot.to_bytes();
    let started = Instant::now();
    let parsed = Snapshot::parse(&file).unwrap();
    let hash = sha256(&file);
    println!(
        "snapshot of {} tickets in {} ranges: file {:.1} MB, parsed and hashed in {:.2?}; ranges in memory {:.1} MB; peak RSS {} MB",
        parsed.total(),
        parsed.ranges().len(),
        file.len() as f64 / 1e6,
        started.elapsed(),
        std::mem::size_of_val(parsed.ranges()) as f64 / 1e6,
        peak_rss_kb().map_or(0, |kb| kb / 1024)
    );
    let seed = seed(&hash, &[7; 32]);
    let outcome = draw(&parsed, &seed, 40);
    assert_eq!(outcome.winners.len() + outcome.alternates.len(), 80.min(parsed.ranges().len()));
    let mut group = c.benchmark_group("drawings");
    group.sample_size(10);
    group.bench_function("draw_40_places_and_alternates", |b| b.iter(|| draw(&parsed, &seed, 40)));
    group
        .bench_function("parse_and_hash_the_snapshot", |b| b.iter(|| (Snapshot::parse(&file).unwrap(), sha256(&file))));
    group.finish();
}

criterion_group!(drawing_benches, benches);

fn main() {
    drawing_benches();
    Criterion::default().configure_from_args().final_summary();
}
