//! Drawings under races and against a model, on both stores, through the service the API and the
//! scheduler run:
//! - 200 people buying while the drawing closes: every debited point has its tickets in the
//!   snapshot and every ticket in the snapshot its debit (`reconcile`), and each person's balance
//!   and tickets are what their successful purchases give by hand;
//! - a cancel (twice at once) racing purchases: every purchase refunded exactly once;
//! - overlapping scheduler runs close and draw once;
//! - random purchases, retries and free entries over several days against a plain model.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Duration;
use futures_util::future::join_all;
use proptest::prelude::*;

use fittrack_domain::UserId;
use fittrack_domain::drawing::DrawingStatus;
use fittrack_drawings::{DrawingError, DrawingId};
use fittrack_local::SqliteStore;
use fittrack_platform::ports::ItemStore;
use fittrack_points::{EntryKind, PointsLedger};
use fittrack_tests::drawings_fixture::{Fixture, admin};

async fn store(dynamo: bool) -> Arc<dyn ItemStore> {
    if dynamo {
        Arc::new(fittrack_tests::emulator::dynamo_store().await.0)
    } else {
        Arc::new(SqliteStore::in_memory().unwrap())
    }
}

/// Tickets of each person in the snapshot, read back from the published file and `my-tickets`.
async fn snapshot_tickets(fixture: &Fixture, drawing: &DrawingId, people: &[UserId]) -> HashMap<UserId, u64> {
    let file = fixture.service.snapshot_file(drawing).await.unwrap();
    let snapshot = fittrack_domain::draw_protocol::Snapshot::parse(&file).unwrap();
    let mut found = HashMap::new();
    for user in people {
        let mine = fixture.service.my_tickets(*user, drawing).await.unwrap();
        if let (Some(entrant), Some(range)) = (mine.entrant_id, mine.ticket_range) {
            let listed = snapshot.ranges().iter().find(|r| r.entrant.to_string() == entrant).expect("listed");
            assert_eq!((listed.first, listed.count), (range.first, range.count));
            found.insert(*user, range.count);
        }
    }
    assert_eq!(found.values().sum::<u64>(), snapshot.total());
    found
}

async fn buyers_racing_the_close(dynamo: bool, people: usize) {
    let fixture = Arc::new(Fixture::new(store(dynamo).await));
    let drawing = fixture.open_drawing(10, 100, 2).await;
    let mut users = Vec::new();
    for _ in 0..people {
        users.push(fixture.person(100).await);
    }
    // Everyone buys 1 to 4 tickets, twice; the drawing's entries close while they do, once a
    // third of the purchases have landed.
    let landed_so_far = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let purchases = users.iter().enumerate().flat_map(|(n, user)| {
        let (fixture, drawing, landed_so_far) = (Arc::clone(&fixture), drawing.clone(), Arc::clone(&landed_so_far));
        (0..2).map(move |round| {
            let (fixture, drawing, user) = (Arc::clone(&fixture), drawing.clone(), *user);
            let landed_so_far = Arc::clone(&landed_so_far);
            let quantity = 1 + ((n + round) % 4) as u64;
            tokio::spawn(async move {
                let key = format!("k{round}");
                let result = fixture.service.buy(user, &drawing, quantity, Some(&key)).await;
                if result.is_ok() {
                    landed_so_far.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                (user, quantity, result)
            })
        })
    });
    let purchases: Vec<_> = purchases.collect();
    let started = std::time::Instant::now();
    while landed_so_far.load(std::sync::atomic::Ordering::SeqCst) < people * 2 / 3
        && started.elapsed() < std::time::Duration::from_secs(60)
    {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    fixture.clock.advance(Duration::minutes(56));
    let (closers, answers) =
        tokio::join!(join_all([fixture.service.run_due(), fixture.service.run_due()]), join_all(purchases));
    for closer in closers {
        closer.unwrap();
    }
    let mut bought: HashMap<UserId, u64> = HashMap::new();
    let (mut landed, mut refused) = (0, 0);
    for answer in answers {
        let (user, quantity, result) = answer.unwrap();
        match result {
            Ok(receipt) => {
                assert_eq!(receipt.quantity, quantity);
                *bought.entry(user).or_default() += quantity;
                landed += 1;
            }
            Err(DrawingError::Closed) => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    fixture.service.run_due().await.unwrap();
    assert_eq!(fixture.service.drawing(&drawing).await.unwrap().status, DrawingStatus::Closed);
    assert!(landed > 0, "some purchases land before the close");
    eprintln!("{landed} purchases landed, {refused} were refused as closed");
    let in_snapshot = snapshot_tickets(&fixture, &drawing, &users).await;
    for user in &users {
        let tickets = bought.get(user).copied().unwrap_or(0);
        assert_eq!(in_snapshot.get(user).copied().unwrap_or(0), tickets, "tickets of {user}");
        assert_eq!(fixture.balance(*user).await, 100 - 10 * i64::try_from(tickets).unwrap(), "balance of {user}");
    }
    let report = fixture.service.reconcile(&drawing).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.points_debited, 10 * bought.values().sum::<u64>());
}

#[tokio::test]
async fn two_hundred_buyers_racing_the_close_embedded() {
    buyers_racing_the_close(false, 200).await;
}

#[tokio::test]
async fn buyers_racing_the_close_dynamodb() {
    buyers_racing_the_close(true, 60).await;
}

async fn a_cancel_racing_purchases_refunds_each_once(dynamo: bool) {
    let fixture = Arc::new(Fixture::new(store(dynamo).await));
    let drawing = fixture.open_drawing(10, 100, 1).await;
    let mut users = Vec::new();
    for _ in 0..30 {
        users.push(fixture.person(100).await);
    }
    let purchases: Vec<_> = users
        .iter()
        .flat_map(|user| {
            (0..3).map(|n| {
                let (fixture, drawing, user) = (Arc::clone(&fixture), drawing.clone(), *user);
                tokio::spawn(async move { fixture.service.buy(user, &drawing, 2, Some(&format!("c{n}"))).await })
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(if dynamo { 200 } else { 10 })).await;
    let (first_admin, second_admin) = (admin(), admin());
    let (cancels, answers) = tokio::join!(
        join_all([fixture.service.cancel(&first_admin, &drawing), fixture.service.cancel(&second_admin, &drawing)]),
        join_all(purchases)
    );
    for cancel in cancels {
        assert_eq!(cancel.unwrap().status, DrawingStatus::Cancelled);
    }
    let landed = answers.into_iter().filter(|a| a.as_ref().unwrap().is_ok()).count();
    // A retried cancel changes nothing more.
    fixture.service.cancel(&admin(), &drawing).await.unwrap();
    let ledger = PointsLedger::new(Arc::clone(&fixture.store), fixture.clock.clone());
    let mut refunds = 0;
    for user in &users {
        assert_eq!(fixture.balance(*user).await, 100, "every point back to {user}");
        let (entries, _) = ledger.entries(*user, 100, None).await.unwrap();
        let spends = entries.iter().filter(|e| e.kind == EntryKind::Spend).count();
        let refunded = entries.iter().filter(|e| e.kind == EntryKind::Refund).count();
        assert_eq!(spends, refunded, "one refund per purchase of {user}");
        refunds += refunded;
    }
    assert_eq!(refunds, landed);
    let report = fixture.service.reconcile(&drawing).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.points_refunded, report.points_debited);
    assert!(fixture.service.drawing(&drawing).await.unwrap().refunds_done);
}

#[tokio::test]
async fn a_cancel_racing_purchases_refunds_each_once_embedded() {
    a_cancel_racing_purchases_refunds_each_once(false).await;
}

#[tokio::test]
async fn a_cancel_racing_purchases_refunds_each_once_dynamodb() {
    a_cancel_racing_purchases_refunds_each_once(true).await;
}

/// Three scheduler runs at once at each step: one close, one draw, one set of results.
#[tokio::test]
async fn overlapping_scheduler_runs_close_and_draw_once() {
    let fixture = Fixture::new(store(false).await);
    let drawing = fixture.open_drawing(10, 100, 3).await;
    for n in 0..5 {
        let user = fixture.person(100).await;
        fixture.service.buy(user, &drawing, 1 + n, Some("k")).await.unwrap();
    }
    fixture.clock.advance(Duration::minutes(56));
    let closes = join_all([fixture.service.run_due(), fixture.service.run_due(), fixture.service.run_due()]).await;
    assert_eq!(closes.iter().map(|r| r.as_ref().unwrap().closed).sum::<usize>(), 1);
    let closed = fixture.service.drawing(&drawing).await.unwrap();
    fixture.clock.advance(Duration::minutes(5));
    // Past the drawing time the randomness may be public: it is drawn, never called off.
    assert!(matches!(fixture.service.cancel(&admin(), &drawing).await, Err(DrawingError::InvalidTransition { .. })));
    let draws = join_all([fixture.service.run_due(), fixture.service.run_due(), fixture.service.run_due()]).await;
    assert_eq!(draws.iter().map(|r| r.as_ref().unwrap().drawn).sum::<usize>(), 1);
    let done = fixture.service.drawing(&drawing).await.unwrap();
    assert_eq!(done.status, DrawingStatus::Completed);
    assert_eq!(done.snapshot, closed.snapshot, "the snapshot published at close is the one drawn from");
    let results = fixture.service.results(&drawing).await.unwrap();
    assert_eq!((results.winners.len(), results.alternates.len()), (3, 2));
    // Nothing is left due, and a later run changes nothing.
    let again = fixture.service.run_due().await.unwrap();
    assert_eq!(again.steps(), 0);
    assert_eq!(fixture.service.results(&drawing).await.unwrap(), results);
}

/// One operation of the model test.
#[derive(Debug, Clone)]
enum Op {
    Buy { person: usize, quantity: u64, key: u8 },
    Free { person: usize },
    NextDay,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..3, 1u64..6, 0u8..4).prop_map(|(person, quantity, key)| Op::Buy { person, quantity, key }),
        2 => (0usize..3).prop_map(|person| Op::Free { person }),
        1 => Just(Op::NextDay),
    ]
}

/// What the rules say an entry does: 10 points a ticket, at most 12 tickets each, 2 per free
/// entry once a day, a key answers the same forever.
#[derive(Default)]
struct Model {
    balance: [i64; 3],
    tickets: [u64; 3],
    keys: HashMap<(usize, u8), u64>,
    free_taken: [bool; 3],
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Granted(u64),
    Insufficient,
    Limit,
    FreeUsed,
    KeyReused,
}

impl Model {
    fn buy(&mut self, person: usize, quantity: u64, key: u8) -> Outcome {
        if let Some(first) = self.keys.get(&(person, key)) {
            return if *first == quantity { Outcome::Granted(quantity) } else { Outcome::KeyReused };
        }
        if self.tickets[person] + quantity > 12 {
            return Outcome::Limit;
        }
        let cost = 10 * i64::try_from(quantity).unwrap();
        if self.balance[person] < cost {
            return Outcome::Insufficient;
        }
        self.balance[person] -= cost;
        self.tickets[person] += quantity;
        self.keys.insert((person, key), quantity);
        Outcome::Granted(quantity)
    }

    fn free(&mut self, person: usize) -> Outcome {
        if self.free_taken[person] {
            return Outcome::FreeUsed;
        }
        if self.tickets[person] + 2 > 12 {
            return Outcome::Limit;
        }
        self.free_taken[person] = true;
        self.tickets[person] += 2;
        Outcome::Granted(2)
    }
}

fn outcome(result: Result<fittrack_drawings::views::EntryReceipt, DrawingError>) -> Outcome {
    match result {
        Ok(receipt) => Outcome::Granted(receipt.quantity),
        Err(DrawingError::InsufficientPoints) => Outcome::Insufficient,
        Err(DrawingError::TicketLimitReached { .. }) => Outcome::Limit,
        Err(DrawingError::FreeEntryUsedToday) => Outcome::FreeUsed,
        Err(DrawingError::IdempotencyKeyReused) => Outcome::KeyReused,
        Err(other) => panic!("unexpected {other:?}"),
    }
}

async fn against_the_model(ops: Vec<Op>, dynamo: bool) {
    let fixture = Fixture::new(store(dynamo).await);
    // Drawn 40 days out: every NextDay stays inside the entry period.
    let drawing = fixture.open_drawing_for(10, 12, 2, Duration::days(40)).await;
    let people = [fixture.person(60).await, fixture.person(100).await, fixture.person(0).await];
    let mut model = Model { balance: [60, 100, 0], ..Model::default() };
    for op in ops {
        let (expected, actual) = match op {
            Op::Buy { person, quantity, key } => (
                model.buy(person, quantity, key),
                outcome(fixture.service.buy(people[person], &drawing, quantity, Some(&format!("key{key}"))).await),
            ),
            Op::Free { person } => {
                (model.free(person), outcome(fixture.service.free_entry(people[person], &drawing).await))
            }
            Op::NextDay => {
                fixture.clock.advance(Duration::days(1));
                model.free_taken = [false; 3];
                continue;
            }
        };
        assert_eq!(actual, expected, "{op:?}");
    }
    for (n, user) in people.iter().enumerate() {
        assert_eq!(fixture.balance(*user).await, model.balance[n], "balance of person {n}");
        assert_eq!(fixture.service.my_tickets(*user, &drawing).await.unwrap().tickets, model.tickets[n]);
    }
    let report = fixture.service.reconcile(&drawing).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.tickets, model.tickets.iter().sum::<u64>());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn entries_follow_the_model(ops in prop::collection::vec(op(), 1..30)) {
        tokio::runtime::Runtime::new().unwrap().block_on(against_the_model(ops, false));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3, ..ProptestConfig::default() })]
    #[test]
    fn entries_follow_the_model_on_dynamodb(ops in prop::collection::vec(op(), 1..20)) {
        tokio::runtime::Runtime::new().unwrap().block_on(against_the_model(ops, true));
    }
}

/// Fulfilment steps raced: two admins shipping one prize at once ship it once; three scheduler
/// runs at the claim deadline forfeit it once and promote exactly one alternate.
#[tokio::test]
async fn fulfilment_changes_raced_happen_once() {
    use fittrack_domain::fulfilment::FulfilmentStatus;
    use fittrack_drawings::fulfilment::{ConfirmAddress, Shipment, ShippingAddress};
    let fixture = Fixture::new(store(false).await);
    let drawing = fixture.open_drawing(10, 100, 2).await;
    let mut people = Vec::new();
    for _ in 0..4 {
        let user = fixture.person(100).await;
        fixture.service.buy(user, &drawing, 1, Some("k")).await.unwrap();
        people.push(user);
    }
    fixture.clock.advance(Duration::minutes(56));
    fixture.service.run_due().await.unwrap();
    fixture.clock.advance(Duration::minutes(5));
    fixture.service.run_due().await.unwrap(); // draw
    fixture.service.run_due().await.unwrap(); // notify
    let mut winners = Vec::new();
    for user in &people {
        for prize in fixture.service.my_fulfilments(*user).await.unwrap() {
            assert_eq!(prize.status, FulfilmentStatus::WinnerNotified);
            winners.push((*user, prize));
        }
    }
    assert_eq!(winners.len(), 2);
    let (first, prize) = &winners[0];
    let address = ShippingAddress {
        name: "Ana".into(),
        line1: "1 Main St".into(),
        line2: None,
        city: "Austin".into(),
        state: fittrack_domain::UsState::parse("TX").unwrap(),
        postal_code: "78701".into(),
    };
    fixture.service.confirm_address(*first, &prize.id, ConfirmAddress { address, tax: None }).await.unwrap();
    let admin = admin();
    let shipment = || Shipment { carrier: "UPS".into(), tracking_number: "1Z".into() };
    let (a, b) = tokio::join!(
        fixture.service.ship(&admin, &prize.id, shipment()),
        fixture.service.ship(&admin, &prize.id, shipment())
    );
    assert_eq!([&a, &b].iter().filter(|r| r.is_ok()).count(), 1, "{a:?} {b:?}");
    assert!(
        [&a, &b].iter().any(|r| matches!(r, Err(DrawingError::FulfilmentTransition { .. }) | Err(DrawingError::Busy)))
    );
    // The other winner lets the deadline pass; three runs at once.
    fixture.clock.advance(Duration::days(15));
    let runs = join_all([
        fixture.service.run_fulfilment_due(),
        fixture.service.run_fulfilment_due(),
        fixture.service.run_fulfilment_due(),
    ])
    .await;
    for run in runs {
        run.unwrap();
    }
    fixture.service.run_fulfilment_due().await.unwrap();
    let (late, _) = &winners[1];
    let theirs = fixture.service.my_fulfilments(*late).await.unwrap();
    assert_eq!(theirs[0].status, FulfilmentStatus::Forfeited);
    let mut promoted = 0;
    for user in people.iter().filter(|u| !winners.iter().any(|(w, _)| w == *u)) {
        for prize in fixture.service.my_fulfilments(*user).await.unwrap() {
            assert_eq!(prize.status, FulfilmentStatus::WinnerNotified);
            assert_eq!(prize.prize_id, winners[1].1.prize_id, "the forfeited prize");
            promoted += 1;
        }
    }
    assert_eq!(promoted, 1, "exactly one alternate takes the prize over");
}
