//! Model-based tests of the leaderboards: random ledgers (earnings, corrections, held awards and
//! their release, spending, tier changes) delivered as point events in any order, with repeats
//! and in random batches, must give exactly the boards a plain sort of the ledger gives: every
//! row, rank, tie-break and neighbour. On the embedded store and on DynamoDB.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::json;

use fittrack_domain::UserId;
use fittrack_domain::leaderboard::{BoardDay, Period, percentile};
use fittrack_domain::points::{EntryKind, competition_day};
use fittrack_leaderboards::{BoardId, LeaderboardService, LeaderboardWorker};
use fittrack_local::SqliteStore;
use fittrack_platform::batch::MessageHandler;
use fittrack_platform::clock::ManualClock;
use fittrack_platform::messages::{BoardUpdate, PointEvent};
use fittrack_platform::ports::{ItemStore, Table};
use fittrack_tests::emulator;

const TIER_A: &str = "F-30-39-INT";
const TIER_B: &str = "F-40-49-INT";

/// Wednesday 2026-11-25, 15:00 in New York. Open boards: the daily boards of the 24th (in its
/// grace) and 25th, the week of the 23rd, November, all-time. The week of the 16th is final.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 20, 0, 0).unwrap()
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

/// One generated ledger entry of one user.
#[derive(Debug, Clone)]
enum Step {
    /// Points booked on a day (negative: a correction).
    Earn {
        day: u32,
        points: i64,
        at: u8,
    },
    /// An award while under review: no board sees it until released.
    Held {
        day: u32,
        points: i64,
        at: u8,
    },
    /// The review cleared: every held day reaches the boards.
    Release {
        at: u8,
    },
    /// The review confirmed gaming: held points never count.
    Forfeit {
        at: u8,
    },
    Spend {
        at: u8,
    },
}

fn step() -> impl Strategy<Value = Step> {
    // Few values on purpose: ties in points and in instants are the interesting cases.
    let points = prop_oneof![Just(10i64), Just(20), Just(30), Just(-10)];
    prop_oneof![
        5 => (20u32..26, points.clone(), 0u8..4).prop_map(|(day, points, at)| Step::Earn { day, points, at }),
        1 => (20u32..26, points, 0u8..4).prop_map(|(day, points, at)| Step::Held { day, points, at }),
        1 => (0u8..4).prop_map(|at| Step::Release { at }),
        1 => (0u8..4).prop_map(|at| Step::Forfeit { at }),
        1 => (0u8..4).prop_map(|at| Step::Spend { at }),
    ]
}

#[derive(Debug, Clone)]
struct Person {
    steps: Vec<Step>,
    /// Moved from tier A to tier B at the end of this day (none: always in tier A).
    moved_on: Option<u32>,
    public: bool,
}

fn person() -> impl Strategy<Value = Person> {
    (prop::collection::vec(step(), 0..10), prop::option::of(21u32..25), any::<bool>())
        .prop_map(|(steps, moved_on, public)| Person { steps, moved_on, public })
}

/// The ledger's events for one person, as the points ledger would publish them.
fn events(user: UserId, person: &Person) -> Vec<PointEvent> {
    let base = now().timestamp() - 3600;
    let mut held: BTreeMap<u32, i64> = BTreeMap::new();
    let mut events = Vec::new();
    for (i, step) in person.steps.iter().enumerate() {
        let seq = i as u64 + 1;
        let (kind, at, board_days) = match step {
            Step::Earn { day: d, points, at } => {
                (EntryKind::Earn, *at, vec![BoardDay { day: day(*d), points: *points }])
            }
            Step::Held { day: d, points, at } => {
                *held.entry(*d).or_default() += points;
                (EntryKind::Earn, *at, Vec::new())
            }
            Step::Release { at } => {
                let days = held.iter().filter(|(_, p)| **p != 0).map(|(d, p)| BoardDay { day: day(*d), points: *p });
                let days = days.collect();
                held.clear();
                (EntryKind::Release, *at, days)
            }
            Step::Forfeit { at } => {
                let days = held.iter().filter(|(_, p)| **p < 0).map(|(d, p)| BoardDay { day: day(*d), points: *p });
                let days = days.collect();
                held.clear();
                (EntryKind::Forfeit, *at, days)
            }
            Step::Spend { at } => (EntryKind::Spend, *at, Vec::new()),
        };
        events.push(PointEvent {
            event_id: format!("{user}:{seq}"),
            user_id: user,
            seq,
            kind,
            amount: 0,
            held_amount: 0,
            balance_after: 0,
            cause: "test".into(),
            // Instants ten minutes apart at most: people reach the same score at the same second.
            created_at: base + i64::from(at) * 600,
            board_days,
        });
    }
    events
}

/// The plain computation: per board, per person, the sum of the points of the days inside the
/// period, the latest instant any of them changed, the days with points; sorted by the rules.
fn reference(people: &[(UserId, Person)]) -> BTreeMap<BoardId, Vec<(UserId, i64, i64, u32)>> {
    let now = now();
    /// Per person: points, the latest instant they changed, the points of each day.
    type Tally = (i64, i64, BTreeMap<NaiveDate, i64>);
    let mut boards: BTreeMap<BoardId, BTreeMap<UserId, Tally>> = BTreeMap::new();
    for (user, person) in people {
        for event in events(*user, person) {
            for board_day in &event.board_days {
                let moved = person.moved_on.is_some_and(|m| board_day.day > day(m));
                let tier = if moved { TIER_B } else { TIER_A };
                for period in Period::ALL {
                    let start = period.start_of(board_day.day);
                    if period.final_at(start).is_some_and(|at| at <= now) {
                        continue;
                    }
                    let board = BoardId { tier: tier.into(), period, start };
                    let entry = boards.entry(board).or_default().entry(*user).or_default();
                    entry.0 += board_day.points;
                    if board_day.points != 0 {
                        entry.1 = entry.1.max(event.created_at);
                    }
                    *entry.2.entry(board_day.day).or_default() += board_day.points;
                }
            }
        }
    }
    boards
        .into_iter()
        .map(|(board, people)| {
            let mut rows: Vec<(UserId, i64, i64, u32)> = people
                .into_iter()
                .map(|(user, (points, at, days))| (user, points, at, days.values().filter(|p| **p > 0).count() as u32))
                .filter(|(_, points, _, days)| *points != 0 || *days > 0)
                .collect();
            rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)).then(b.3.cmp(&a.3)).then(a.0.cmp(&b.0)));
            (board, rows)
        })
        .filter(|(_, rows)| !rows.is_empty())
        .collect()
}

async fn add_account(store: &dyn ItemStore, user: UserId, person: &Person) {
    let mut item = json!({
        "pk": format!("USER#{user}"), "sk": "ACCOUNT", "display_name": format!("P{}", &user.simple()[24..]),
        "profile": {"public_profile": person.public}, "tier_code": TIER_A,
    });
    if let Some(moved) = person.moved_on {
        item["tier_code"] = TIER_B.into();
        item["previous_tier_code"] = TIER_A.into();
        item["tier_changed_on"] = day(moved).to_string().into();
    }
    store.put(Table::Users, item.as_object().cloned().unwrap(), None).await.unwrap();
}

/// Delivers every event (plus `repeats`) in `order`, in batches of `batch`, then checks each
/// board against the reference through the service a client reads.
async fn run(
    store: Arc<dyn ItemStore>,
    people: Vec<(UserId, Person)>,
    order: Vec<usize>,
    repeats: Vec<usize>,
    batch: usize,
) {
    let clock = Arc::new(ManualClock::new(now()));
    let worker = Arc::new(LeaderboardWorker::new(Arc::clone(&store), clock.clone()));
    for (user, person) in &people {
        add_account(store.as_ref(), *user, person).await;
    }
    let all: Vec<PointEvent> = people.iter().flat_map(|(u, p)| events(*u, p)).collect();
    for event in &all {
        fittrack_tests::record_ledger_entry(store.as_ref(), event).await;
    }
    let mut deliveries: Vec<PointEvent> = Vec::new();
    if !all.is_empty() {
        let mut indices: Vec<usize> = (0..all.len()).collect();
        for (i, swap) in order.iter().enumerate() {
            let j = swap % all.len();
            let i = i % all.len();
            indices.swap(i, j);
        }
        deliveries.extend(indices.iter().map(|i| all[*i].clone()));
        deliveries.extend(repeats.iter().map(|r| all[r % all.len()].clone()));
    }
    for chunk in deliveries.chunks(batch.max(1)) {
        for event in chunk {
            worker.handle(BoardUpdate::Point(event.clone())).await.unwrap();
        }
        worker.after_batch().await;
    }
    worker.sweep().await.unwrap();

    let expected = reference(&people);
    let service = LeaderboardService::new(Arc::clone(&store), clock.clone(), pseudonym_keys());
    let viewer = people.first().map(|(u, _)| *u).unwrap_or_else(UserId::generate);
    let mut boards: BTreeSet<BoardId> = expected.keys().cloned().collect();
    for tier in [TIER_A, TIER_B] {
        for period in Period::ALL {
            boards.insert(BoardId::of_day(tier, period, competition_day(now())));
        }
    }
    for board in &boards {
        let want = expected.get(board).cloned().unwrap_or_default();
        // The whole board, page by page, as a client walks it.
        let mut rows = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = service.page(viewer, board, Some(3), cursor.as_deref()).await.unwrap();
            assert_eq!(page.board.size, want.len() as u64, "{board}: size");
            rows.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let got: Vec<(u64, i64, u32)> = rows.iter().map(|r| (r.rank, r.points, r.active_days)).collect();
        let model: Vec<(u64, i64, u32)> =
            want.iter().enumerate().map(|(i, (_, p, _, d))| (i as u64 + 1, *p, *d)).collect();
        assert_eq!(got, model, "{board}: rows");
        for (row, (user, ..)) in rows.iter().zip(&want) {
            let public = people.iter().find(|(u, _)| u == user).unwrap().1.public;
            assert_eq!(row.user_id, public.then_some(*user), "{board}: a private profile shows no id");
        }
        // Every person's own place, percentile and neighbours.
        for (i, (user, points, _, days)) in want.iter().enumerate() {
            let mine = service.me(*user, board).await.unwrap();
            let rank = i as u64 + 1;
            assert!(mine.on_board);
            assert_eq!((mine.rank, mine.points, mine.active_days), (Some(rank), *points, *days), "{board}: {user}");
            assert_eq!(mine.percentile, Some(percentile(rank, want.len() as u64)));
            let above: Vec<u64> = mine.above.iter().map(|r| r.rank).collect();
            let below: Vec<u64> = mine.below.iter().map(|r| r.rank).collect();
            assert_eq!(above, (rank.saturating_sub(10).max(1)..rank).collect::<Vec<_>>(), "{board}: above");
            assert_eq!(below, (rank + 1..=(rank + 10).min(want.len() as u64)).collect::<Vec<_>>(), "{board}: below");
            assert!(mine.above.iter().chain(&mine.below).all(|r| !r.is_you));
        }
        for (user, _) in &people {
            if !want.iter().any(|(u, ..)| u == user) {
                let mine = service.me(*user, board).await.unwrap();
                assert!(!mine.on_board && mine.rank.is_none(), "{board}: {user} is not on it");
            }
        }
    }
}

fn cases(people: usize) -> impl Strategy<Value = (Vec<Person>, Vec<usize>, Vec<usize>, usize)> {
    (
        prop::collection::vec(person(), 1..people),
        prop::collection::vec(any::<usize>(), 0..60),
        prop::collection::vec(any::<usize>(), 0..8),
        1usize..7,
    )
}

fn people(persons: Vec<Person>) -> Vec<(UserId, Person)> {
    persons.into_iter().map(|p| (UserId::generate(), p)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn boards_match_a_plain_sort_of_the_ledger((persons, order, repeats, batch) in cases(9)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(run(Arc::new(SqliteStore::in_memory().unwrap()), people(persons), order, repeats, batch));
    }
}

// Each DynamoDB case costs seconds on the emulator: fewer and smaller than on the embedded store.
proptest! {
    #![proptest_config(ProptestConfig::with_cases(3))]

    #[test]
    fn boards_match_a_plain_sort_of_the_ledger_on_dynamodb((persons, order, repeats, batch) in cases(6)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let store: Arc<dyn ItemStore> = Arc::new(emulator::dynamo_store().await.0);
            run(store, people(persons), order, repeats, batch).await;
        });
    }
}

/// The count index alone, on boards large enough to split and fold its ranges: after any batch
/// of moves (joins, leaves, many people moving into one range at once), the rank of every row is
/// its position in a plain sorted set.
/// Rounds of moves: who (an index into the people), and where to (points and an instant), or off
/// the board.
type Rounds = Vec<Vec<(u16, Option<(i64, u8)>)>>;

async fn index_model(store: Arc<dyn ItemStore>, rounds: Rounds, small: bool) {
    use fittrack_domain::leaderboard::Standing;
    use fittrack_leaderboards::index::{BoardIndex, Fanout, Move, Row};
    // Small ranges put a few hundred rows under all three levels, with splits and folds at each.
    let index = if small {
        BoardIndex::with_fanout(store, Fanout { max_rows: 6, min_rows: 2, max_children: 4, min_children: 2 })
    } else {
        BoardIndex::new(store)
    };
    let board = BoardId::of_day(TIER_A, Period::AllTime, day(25));
    let users: Vec<UserId> = (0..600).map(|_| UserId::generate()).collect();
    let mut model: BTreeMap<UserId, Standing> = BTreeMap::new();
    for round in rounds {
        let mut moves = Vec::new();
        let mut moved = BTreeSet::new();
        for (who, change) in round {
            let user = users[usize::from(who) % users.len()];
            if !moved.insert(user) {
                continue;
            }
            let from = model.get(&user).map(Standing::sort_key);
            let to = change.map(|(points, at)| Standing {
                user,
                points,
                reached_at: 1_700_000_000 + i64::from(at),
                active_days: 1,
            });
            match to {
                Some(standing) => model.insert(user, standing),
                None => model.remove(&user),
            };
            moves.push(Move { from, to: to.map(|standing| Row { standing, name: None }) });
        }
        index.apply(&board, &moves).await.unwrap();
        let mut sorted: Vec<String> = model.values().map(Standing::sort_key).collect();
        sorted.sort();
        assert_eq!(index.size(&board).await.unwrap(), sorted.len() as u64);
        // Every 7th row and the edges: each query walks the whole path from the top.
        for (rank, key) in sorted.iter().enumerate().filter(|(i, _)| i % 7 == 0 || *i + 1 == sorted.len()) {
            assert_eq!(index.rows_before(&board, key).await.unwrap(), rank as u64, "row {rank} of {}", sorted.len());
        }
    }
}

fn rounds(moves: usize, rounds: usize) -> impl Strategy<Value = Rounds> {
    // Mostly joins and moves, a few leaves; points from a small range so many people share one.
    let change = prop_oneof![8 => (0i64..40, 0u8..6).prop_map(Some), 1 => Just(None)];
    prop::collection::vec(prop::collection::vec((0u16..600, change), 1..moves), 1..rounds)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn the_count_index_ranks_like_a_sorted_set(rounds in rounds(250, 6), small in any::<bool>()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(index_model(Arc::new(SqliteStore::in_memory().unwrap()), rounds, small));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1))]

    #[test]
    fn the_count_index_ranks_like_a_sorted_set_on_dynamodb(rounds in rounds(120, 3)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let store: Arc<dyn ItemStore> = Arc::new(emulator::dynamo_store().await.0);
            index_model(store, rounds, true).await;
        });
    }
}

/// The rebuild from the real points ledger: a check finds the incremental boards right, finds a
/// board that lost a row wrong, and a rebuild puts it right; events after the rebuild still count
/// once.
#[tokio::test]
async fn the_rebuild_checks_and_repairs_boards_from_the_points_ledger() {
    use fittrack_domain::DayPoints;
    use fittrack_leaderboards::index::BoardIndex;
    use fittrack_local::InProcessQueue;
    use fittrack_platform::ports::{Key, Queue, QueueId};
    use fittrack_points::{OutboxRelay, PointsLedger};

    let store: Arc<dyn ItemStore> = Arc::new(SqliteStore::in_memory().unwrap());
    let clock = Arc::new(ManualClock::new(now()));
    let queue: Arc<dyn Queue> = Arc::new(InProcessQueue::default());
    let ledger = PointsLedger::new(Arc::clone(&store), clock.clone());
    let relay = OutboxRelay::new(Arc::clone(&store), Arc::clone(&queue));
    let worker = LeaderboardWorker::new(Arc::clone(&store), clock.clone());
    let users: Vec<UserId> = (0..3).map(|_| UserId::generate()).collect();
    for (i, user) in users.iter().enumerate() {
        let item = json!({"pk": format!("USER#{user}"), "sk": "ACCOUNT", "user_id": user, "display_name": format!("U{i}"),
            "gsi1pk": "ACCOUNTS", "gsi1sk": format!("{i:012}#{user}"), "tier_code": TIER_A});
        store.put(Table::Users, item.as_object().cloned().unwrap(), None).await.unwrap();
    }
    let deliver = || async {
        relay.drain_all().await.unwrap();
        for message in queue.receive(QueueId::PointEvents, 100, std::time::Duration::ZERO).await.unwrap() {
            worker.handle(serde_json::from_str(&message.body).unwrap()).await.unwrap();
            queue.ack(QueueId::PointEvents, &message.receipt).await.unwrap();
        }
        worker.after_batch().await;
    };
    let book = |user: UserId, d: u32, total: u32| {
        let ledger = ledger.clone();
        async move { ledger.book_day(user, day(d), &DayPoints { total, ..DayPoints::default() }).await.unwrap() }
    };
    book(users[0], 24, 300).await;
    book(users[1], 24, 500).await;
    book(users[1], 24, 200).await; // a correction: 500 -> 200
    book(users[2], 25, 250).await;
    deliver().await;

    let check = |check| fittrack_cli::leaderboards::rebuild(Arc::clone(&store), clock.clone(), &[], check);
    let report = check(true).await.unwrap();
    assert!(report.mismatches.is_empty(), "{report:?}");
    assert_eq!(report.rows, 3 + 3 + 3 + 2 + 1, "all-time, November and this week 3 each, the 24th 2, the 25th 1");

    // A row goes missing.
    let board = BoardId::of_day(TIER_A, Period::Daily, day(24));
    let top = BoardIndex::new(Arc::clone(&store)).rows_after(&board, None, 1).await.unwrap();
    store.delete(Table::Leaderboards, &Key::new(format!("R#{}", board.code()), top[0].key()), None).await.unwrap();
    let report = check(true).await.unwrap();
    assert_eq!(report.mismatches.len(), 1, "{report:?}");
    assert!(report.mismatches[0].starts_with(&board.code()));

    let rebuilt = check(false).await.unwrap();
    assert_eq!(rebuilt.rows, 12);
    assert!(check(true).await.unwrap().mismatches.is_empty());

    // After the rebuild, a new entry counts once, and a repeat of an old one not at all.
    book(users[0], 24, 450).await;
    deliver().await;
    let repeat = PointEvent {
        event_id: format!("{}:1", users[0]),
        user_id: users[0],
        seq: 1,
        kind: EntryKind::Earn,
        amount: 300,
        held_amount: 0,
        balance_after: 300,
        cause: "day:2026-11-24".into(),
        created_at: now().timestamp(),
        board_days: vec![BoardDay { day: day(24), points: 300 }],
    };
    worker.handle(BoardUpdate::Point(repeat)).await.unwrap();
    worker.after_batch().await;
    assert!(check(true).await.unwrap().mismatches.is_empty());
    let service = LeaderboardService::new(Arc::clone(&store), clock.clone(), pseudonym_keys());
    assert_eq!(service.me(users[0], &board).await.unwrap().points, 450);
}

/// A key for the pseudonyms of private profiles.
fn pseudonym_keys() -> Arc<fittrack_platform::crypto::PiiCipher> {
    let key = fittrack_platform::crypto::generate_pii_key();
    Arc::new(fittrack_platform::crypto::PiiCipher::from_master_key(&key).unwrap())
}

/// A finished period keeps its final standings: `me` finds a person's place after their standing
/// left the state item for the archive, and a person who went private since is not named there.
#[tokio::test]
async fn final_boards_keep_their_standings_and_follow_privacy() {
    let store: Arc<dyn ItemStore> = Arc::new(SqliteStore::in_memory().unwrap());
    let clock = Arc::new(ManualClock::new(now()));
    let worker = LeaderboardWorker::new(Arc::clone(&store), clock.clone());
    let (ana, bea) = (UserId::generate(), UserId::generate());
    let public = Person { steps: Vec::new(), moved_on: None, public: true };
    add_account(store.as_ref(), ana, &public).await;
    add_account(store.as_ref(), bea, &public).await;
    let earn = |user: UserId, seq: u64, d: u32, points: i64| PointEvent {
        event_id: format!("{user}:{seq}"),
        user_id: user,
        seq,
        kind: EntryKind::Earn,
        amount: points,
        held_amount: 0,
        balance_after: 0,
        cause: format!("day:{}", day(d)),
        created_at: clock.now().timestamp(),
        board_days: vec![BoardDay { day: day(d), points }],
    };
    let deliver = |event: PointEvent| {
        let (store, worker) = (Arc::clone(&store), worker.clone());
        async move {
            fittrack_tests::record_ledger_entry(store.as_ref(), &event).await;
            worker.handle(BoardUpdate::Point(event)).await.unwrap();
            worker.after_batch().await;
        }
    };
    deliver(earn(ana, 1, 25, 300)).await;
    deliver(earn(bea, 1, 25, 200)).await;
    let board = BoardId::of_day(TIER_A, Period::Daily, day(25));

    // Two days on, the 25th is final; Ana earns again, which archives her place on it.
    use fittrack_platform::clock::Clock;
    clock.advance(chrono::Duration::days(2));
    deliver(earn(ana, 2, 27, 50)).await;
    let service = LeaderboardService::new(Arc::clone(&store), clock.clone(), pseudonym_keys());
    let mine = service.me(ana, &board).await.unwrap();
    assert!(mine.board.is_final);
    assert_eq!((mine.rank, mine.points), (Some(1), 300), "from the archive: {mine:?}");
    assert_eq!(service.me(bea, &board).await.unwrap().rank, Some(2), "from the state item");

    // Bea goes private: the final board stops naming her.
    let private = Person { steps: Vec::new(), moved_on: None, public: false };
    add_account(store.as_ref(), bea, &private).await;
    let page = service.page(ana, &board, None, None).await.unwrap();
    assert_eq!(page.items[0].user_id, Some(ana));
    assert_eq!(page.items[1].user_id, None);
    assert!(page.items[1].display_name.starts_with("Athlete "));
}

/// One person whose stored standing does not read cannot stop a tier: their event is set aside
/// (`DEAD#<tier>`) and everyone else's still counts.
#[tokio::test]
async fn an_unreadable_standing_is_set_aside_and_the_tier_goes_on() {
    use fittrack_platform::ports::Query;
    let store: Arc<dyn ItemStore> = Arc::new(SqliteStore::in_memory().unwrap());
    let clock = Arc::new(ManualClock::new(now()));
    let worker = LeaderboardWorker::new(Arc::clone(&store), clock.clone());
    let (ana, bea) = (UserId::generate(), UserId::generate());
    let person = Person { steps: Vec::new(), moved_on: None, public: true };
    add_account(store.as_ref(), ana, &person).await;
    add_account(store.as_ref(), bea, &person).await;
    let broken = json!({"pk": format!("U#{}", bea.simple()), "sk": "STATE", "boards": "not a map"});
    store.put(Table::Leaderboards, broken.as_object().cloned().unwrap(), None).await.unwrap();
    for user in [ana, bea] {
        let event = PointEvent {
            event_id: format!("{user}:1"),
            user_id: user,
            seq: 1,
            kind: EntryKind::Earn,
            amount: 40,
            held_amount: 0,
            balance_after: 40,
            cause: format!("day:{}", day(25)),
            created_at: now().timestamp(),
            board_days: vec![BoardDay { day: day(25), points: 40 }],
        };
        fittrack_tests::record_ledger_entry(store.as_ref(), &event).await;
        worker.handle(BoardUpdate::Point(event)).await.unwrap();
    }
    worker.after_batch().await;

    let service = LeaderboardService::new(Arc::clone(&store), clock.clone(), pseudonym_keys());
    let board = BoardId::of_day(TIER_A, Period::Daily, day(25));
    assert_eq!(service.me(ana, &board).await.unwrap().rank, Some(1));
    let dead = store.query(Query::partition(Table::Leaderboards, format!("DEAD#{TIER_A}"))).await.unwrap();
    assert_eq!(dead.items.len(), 1);
    assert_eq!(dead.items[0]["user"], bea.to_string());
    let staged = store.query(Query::partition(Table::Leaderboards, format!("Q#{TIER_A}"))).await.unwrap();
    assert!(staged.items.is_empty(), "nothing left to block the tier");
}
