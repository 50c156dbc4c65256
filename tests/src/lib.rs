//! Test support for the workspace suites: the AWS emulator, unique AWS resources per test,
//! a running `fittrack serve` (with typed helpers per capability), a local OpenID provider for social sign-in, fake tracker APIs, a fake drand chain, and a
//! DynamoDB write-unit meter for benchmarks, and the check of every answer against the API document.

pub mod client;
pub mod conformance;
pub mod contract;
pub mod drawings_fixture;
pub mod emulator;
pub mod fake_drand;
pub mod fake_trackers;
pub mod oidc;
pub mod server;
pub mod store_hooks;
pub mod sync_fixture;
pub mod write_units;

/// Runs an `async fn(Backend)` test on the embedded store and on DynamoDB.
#[macro_export]
macro_rules! both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn embedded() {
                super::$name(fittrack_tests::server::Backend::Embedded).await;
            }
            #[tokio::test]
            async fn dynamodb() {
                super::$name(fittrack_tests::server::Backend::DynamoDb).await;
            }
        }
    };
}

/// Writes the ledger entry a point event stands for, as the points ledger would have: the
/// leaderboards count an event only from its entry.
pub async fn record_ledger_entry(
    store: &dyn fittrack_platform::ports::ItemStore,
    event: &fittrack_platform::messages::PointEvent,
) {
    let entry = fittrack_points::LedgerEntry {
        seq: event.seq,
        kind: event.kind,
        amount: event.amount,
        balance_after: event.balance_after,
        held_amount: event.held_amount,
        held_after: 0,
        cause: event.cause.clone(),
        created_at: event.created_at,
        board_days: event.board_days.clone(),
        requested: None,
    };
    let mut item = fittrack_platform::ports::to_item(&entry).unwrap();
    let key = fittrack_points::keys::entry_key(event.user_id, event.seq);
    item.insert("pk".into(), key.pk.into());
    item.insert("sk".into(), key.sk.into());
    store.put(fittrack_platform::ports::Table::Points, item, None).await.unwrap();
}
