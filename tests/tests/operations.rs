//! Admin operations at the service level, where races can be run many times: status decisions
//! racing each other keep one legal chain, each step logged once; adjustments against a plain
//! model of the balance and the idempotency keys; an admin's draw logged in its own transaction.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Duration;
use proptest::prelude::*;

use fittrack_admin::{AdminError, AdminService};
use fittrack_audit::{ActionFilter, ActionKind, AuditLog};
use fittrack_domain::drawing::DrawingStatus;
use fittrack_domain::{AccountStatus, UserId};
use fittrack_local::SqliteStore;
use fittrack_platform::ports::ItemStore;
use fittrack_tests::drawings_fixture::{Fixture, admin};

fn admin_service(fixture: &Fixture) -> AdminService {
    AdminService::new(
        Arc::clone(&fixture.store),
        Arc::clone(&fixture.pii),
        fixture.clock.clone(),
        fixture.service.notifications().clone(),
    )
}

async fn embedded() -> Fixture {
    Fixture::new(Arc::new(SqliteStore::in_memory().unwrap()) as Arc<dyn ItemStore>)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_decisions_racing_keep_one_legal_chain_each_logged_once() {
    let fixture = embedded().await;
    let admins = admin_service(&fixture);
    let log = AuditLog::new(Arc::clone(&fixture.store));
    let targets = [AccountStatus::Suspended, AccountStatus::Banned, AccountStatus::Active];
    let mut conflicts = 0;
    for round in 0..30 {
        let person = fixture.person(0).await;
        let (first, second) = (admin(), admin());
        let (a, b) = (targets[round % 3], targets[(round / 3 + 1) % 3]);
        let (one, two) =
            tokio::join!(admins.set_status(&first, person, a, "round"), admins.set_status(&second, person, b, "round"));
        for outcome in [&one, &two] {
            match outcome {
                Ok(_) | Err(AdminError::InvalidTransition { .. }) => {}
                Err(AdminError::Conflict) => conflicts += 1,
                Err(other) => panic!("round {round}: {other:?}"),
            }
        }
        // The log, oldest first, is a chain of legal steps from active to where the account is.
        let mut entries = log.about_user(person, 10, None).await.unwrap().entries;
        entries.reverse();
        let mut status = AccountStatus::Active;
        for entry in &entries {
            assert_eq!(entry.before["status"], status.as_str(), "round {round}: {entries:?}");
            let next: AccountStatus = entry.after["status"].as_str().unwrap().parse().unwrap();
            assert!(status.can_become(next));
            status = next;
        }
        let summary = admins.detail(person).await.unwrap();
        assert_eq!(summary.account.status, status, "round {round}");
        let landed = [&one, &two].iter().filter(|o| o.is_ok()).count();
        assert!(entries.len() <= landed, "round {round}: nothing is logged twice");
    }
    assert!(conflicts > 0, "thirty rounds of decisions at once should meet at least once");
}

#[derive(Debug, Clone)]
struct Adjust {
    key: usize,
    amount: i64,
}

fn adjustments() -> impl Strategy<Value = Vec<Adjust>> {
    proptest::collection::vec((0usize..6, -400i64..400).prop_map(|(key, amount)| Adjust { key, amount }), 1..25)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Random adjustments, keys reused on purpose, against a plain model: a balance that never
    /// goes below zero and a map of keys to what they first asked.
    #[test]
    fn adjustments_follow_a_plain_model(ops in adjustments()) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let fixture = embedded().await;
            let admins = admin_service(&fixture);
            let actor = admin();
            let person = fixture.person(100).await;
            let mut balance: i64 = 100;
            let mut keys: HashMap<usize, (i64, i64)> = HashMap::new();
            for op in ops {
                let key = format!("key-{}", op.key);
                let result = admins.adjust_points(&actor, person, Some(&key), op.amount, "model").await;
                match (keys.get(&op.key), op.amount) {
                    (_, 0) => prop_assert!(matches!(result, Err(AdminError::Invalid(_)))),
                    (Some((asked, applied)), amount) if *asked == amount => {
                        let receipt = result.unwrap();
                        prop_assert_eq!(receipt.applied, *applied, "a retry answers the first receipt");
                    }
                    (Some(_), _) => prop_assert!(matches!(result, Err(AdminError::IdempotencyKeyReused))),
                    (None, amount) => {
                        let applied = if amount < 0 { amount.max(-balance) } else { amount };
                        balance += applied;
                        let receipt = result.unwrap();
                        prop_assert_eq!((receipt.applied, receipt.clamped_by, receipt.balance_after), (applied, amount - applied, balance));
                        keys.insert(op.key, (amount, applied));
                    }
                }
            }
            let ledger = fittrack_points::PointsLedger::new(Arc::clone(&fixture.store), fixture.clock.clone());
            prop_assert_eq!(ledger.balance(person).await.unwrap().balance, balance);
            let (entries, _) = ledger.entries(person, 100, None).await.unwrap();
            let adjusted = entries.iter().filter(|e| e.kind == fittrack_points::EntryKind::Adjustment).count();
            prop_assert_eq!(adjusted, keys.len(), "one ledger entry per key");
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn an_admins_draw_is_logged_with_it_once() {
    let fixture = embedded().await;
    let drawing = fixture.open_drawing(10, 5, 1).await;
    for points in [50, 50] {
        let person: UserId = fixture.person(points).await;
        fixture.service.buy(person, &drawing, 2, Some(&format!("k-{person}"))).await.unwrap();
    }
    fixture.clock.advance(Duration::minutes(56));
    fixture.service.run_due().await.unwrap();
    assert_eq!(fixture.service.drawing(&drawing).await.unwrap().status, DrawingStatus::Closed);
    // Past the drawing time and the round, before the scheduler's next run: an admin draws.
    fixture.clock.advance(Duration::minutes(5));
    let by = admin();
    let drawn = fixture.service.execute(&by, &drawing).await.unwrap();
    assert_eq!(drawn.status, DrawingStatus::Completed);
    assert!(fixture.service.execute(&by, &drawing).await.is_err(), "drawn once");
    let log = AuditLog::new(Arc::clone(&fixture.store));
    let filter = ActionFilter { admin: Some(by.admin_id), action: Some(ActionKind::DrawingExecuted) };
    let entries = log.list(filter, 10, None).await.unwrap().entries;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].before["status"].as_str(), entries[0].after["status"].as_str()),
        (Some("closed"), Some("completed"))
    );
}
