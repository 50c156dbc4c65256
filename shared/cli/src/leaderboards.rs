//! `fittrack leaderboards rebuild [--period …] [--check]`: the boards recomputed from the points
//! ledger, to prove the incremental boards right or to recover them.

use std::collections::BTreeSet;
use std::sync::Arc;

use fittrack_domain::UserId;
use fittrack_domain::leaderboard::Period;
use fittrack_leaderboards::rebuild::{LedgerOfUser, RebuildError, Rebuilder, Report};
use fittrack_leaderboards::{Contribution, LeaderboardWorker};
use fittrack_platform::clock::Clock;
use fittrack_platform::ports::{Index, ItemStore, Query, StoreError, Table};
use fittrack_points::PointsLedger;
use fittrack_users::records::ACCOUNTS_INDEX_PARTITION;
use fittrack_users::{Competitor, UserDirectory};

/// Every account's ledger as the boards see it: one index query per page of accounts (never a
/// scan), then each ledger page by page.
///
/// # Errors
/// The store's failures.
pub async fn ledgers(store: &Arc<dyn ItemStore>, clock: Arc<dyn Clock>) -> Result<Vec<LedgerOfUser>, StoreError> {
    let ledger = PointsLedger::new(Arc::clone(store), clock);
    let users = UserDirectory::new(Arc::clone(store));
    let mut ledgers = Vec::new();
    let mut cursor = None;
    loop {
        let query = Query::partition(Table::Users, ACCOUNTS_INDEX_PARTITION).on_index(Index::Gsi1).limit(100);
        let page = store.query(query.after(cursor.take())).await?;
        for item in &page.items {
            let Some(user) = item.get("user_id").cloned().and_then(|v| serde_json::from_value::<UserId>(v).ok()) else {
                continue;
            };
            let Some(competitor) = users.competitor(user).await? else { continue };
            ledgers.push(ledger_of(&ledger, user, competitor).await?);
        }
        match page.next {
            Some(next) if !page.items.is_empty() => cursor = Some(next),
            _ => return Ok(ledgers),
        }
    }
}

async fn ledger_of(ledger: &PointsLedger, user: UserId, competitor: Competitor) -> Result<LedgerOfUser, StoreError> {
    let mut entries = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = ledger.entries(user, 500, cursor.take()).await.map_err(|e| match e {
            fittrack_points::LedgerError::Store(e) => e,
            other => StoreError::Unavailable(other.to_string()),
        })?;
        let empty = page.is_empty();
        entries.extend(
            page.into_iter()
                .map(|e| (e.counted_days(), e))
                .filter(|(days, _)| !days.is_empty())
                .map(|(days, e)| Contribution { user, seq: e.seq, created_at: e.created_at, days }),
        );
        match next {
            Some(next) if !empty => cursor = Some(next),
            _ => break,
        }
    }
    Ok(LedgerOfUser {
        user,
        name: competitor.public_name().map(str::to_owned),
        placement: competitor.placement,
        entries,
    })
}

/// Checks (`check`) or rewrites the open boards of `periods` (all four when empty) from the ledger.
///
/// # Errors
/// A busy writer (rebuild only) or the store's failures, as text for the command line.
pub async fn rebuild(
    store: Arc<dyn ItemStore>,
    clock: Arc<dyn Clock>,
    periods: &[Period],
    check: bool,
) -> Result<Report, String> {
    let periods: BTreeSet<Period> =
        if periods.is_empty() { Period::ALL.into_iter().collect() } else { periods.iter().copied().collect() };
    let worker = LeaderboardWorker::new(Arc::clone(&store), Arc::clone(&clock));
    let rebuilder = Rebuilder::new(Arc::clone(&store), worker);
    if check {
        let ledgers = ledgers(&store, clock).await.map_err(|e| e.to_string())?;
        rebuilder.check(&ledgers, &periods).await.map_err(|e| e.to_string())
    } else {
        // The ledgers are read inside the rebuild, once the workers are held off.
        rebuilder.rebuild(ledgers(&store, clock), &periods).await.map_err(|e: RebuildError| e.to_string())
    }
}
