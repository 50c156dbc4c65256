//! The boards recomputed from the ledger: to check that the incremental boards are right, and
//! to recover them if they are not (`fittrack leaderboards rebuild [--period …] [--check]`).
//!
//! The caller reads each person's ledger (this crate does not depend on the points crate) and
//! hands it over as [`LedgerOfUser`]s; [`crate::standings::tally`] turns them into the standings a
//! plain computation gives. A check compares every open board row by row and rank by rank. A
//! rebuild takes every tier's lease (so no worker writes meanwhile), wipes the open boards of the
//! chosen periods, writes their rows and counts afresh, and rewrites each person's day items and
//! board entries, so later events keep counting from the rebuilt state.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Days, NaiveDate, Utc};

use fittrack_domain::leaderboard::{BoardDay, Period, Standing};
use fittrack_domain::points::competition_day;
use fittrack_domain::{Tier, UserId};
use fittrack_platform::ports::store::key_of;
use fittrack_platform::ports::{ItemStore, Query, StoreError, Table};
use fittrack_users::records::TierPlacement;

use crate::index::{BoardIndex, Move, Row};
use crate::keys::{BoardId, counts_partition, rows_partition};
use crate::standings::{Contribution, is_open, tally};
use crate::worker::LeaderboardWorker;

/// One person's ledger, as the boards see it.
#[derive(Debug, Clone)]
pub struct LedgerOfUser {
    pub user: UserId,
    pub placement: TierPlacement,
    /// The display name of a public profile.
    pub name: Option<String>,
    pub entries: Vec<Contribution>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub boards: usize,
    pub rows: usize,
    /// What differs, one line each (empty: the boards are right).
    pub mismatches: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("the writer of tier {0} is busy; try again in a minute")]
    Busy(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The tier each of a person's days was first counted in (the day items), which a later tier
/// change does not move.
pub type PinnedTiers = BTreeMap<UserId, BTreeMap<NaiveDate, String>>;

/// The standings of every open board of `periods`, from the ledgers: each day in the tier it was
/// first counted in, else the tier the person had that day.
pub fn expected(
    ledgers: &[LedgerOfUser],
    pinned: &PinnedTiers,
    periods: &BTreeSet<Period>,
    now: DateTime<Utc>,
) -> BTreeMap<BoardId, Vec<Row>> {
    let mut boards: BTreeMap<BoardId, Vec<Row>> = BTreeMap::new();
    let none = BTreeMap::new();
    for ledger in ledgers {
        let placement = &ledger.placement;
        let days = pinned.get(&ledger.user).unwrap_or(&none);
        let tier_of = |day| days.get(&day).cloned().or_else(|| placement.tier_on(day).map(str::to_owned));
        let standings = tally(ledger.user, &ledger.entries, tier_of, now);
        for (board, standing) in standings.into_iter().filter(|(b, _)| periods.contains(&b.period)) {
            boards.entry(board).or_default().push(Row { standing, name: ledger.name.clone() });
        }
    }
    for rows in boards.values_mut() {
        rows.sort_by(|a, b| a.standing.rank_order(&b.standing));
    }
    boards
}

/// Every board of `periods` that is still open at `now`, in every tier.
fn open_boards(periods: &BTreeSet<Period>, now: DateTime<Utc>) -> Vec<BoardId> {
    let today = competition_day(now);
    let mut boards = BTreeSet::new();
    for tier in Tier::all() {
        for period in periods {
            // The current period and, within its grace, the one before.
            for day in [Some(today), today.checked_sub_days(Days::new(1)), period.start_of(today).pred_opt()] {
                let Some(day) = day else { continue };
                let board = BoardId::of_day(&tier.code(), *period, day);
                if is_open(&board, now) {
                    boards.insert(board);
                }
            }
        }
    }
    boards.into_iter().collect()
}

pub struct Rebuilder {
    store: Arc<dyn ItemStore>,
    index: BoardIndex,
    worker: LeaderboardWorker,
}

impl Rebuilder {
    pub fn new(store: Arc<dyn ItemStore>, worker: LeaderboardWorker) -> Self {
        Self { index: BoardIndex::new(Arc::clone(&store)), store, worker }
    }

    /// Compares the open boards of `periods` with what the ledgers give: every row in order,
    /// the size, and the rank the index computes for every row.
    ///
    /// # Errors
    /// The store's failures.
    pub async fn check(&self, ledgers: &[LedgerOfUser], periods: &BTreeSet<Period>) -> Result<Report, StoreError> {
        let now = self.worker.now();
        let pinned = self.pinned(ledgers).await?;
        let expected = expected(ledgers, &pinned, periods, now);
        let mut report = Report::default();
        for board in open_boards(periods, now) {
            let want = expected.get(&board).cloned().unwrap_or_default();
            let have = self.all_rows(&board).await?;
            report.boards += 1;
            report.rows += have.len();
            let standings = |rows: &[Row]| rows.iter().map(|r| r.standing).collect::<Vec<Standing>>();
            if standings(&have) != standings(&want) {
                report.mismatches.push(format!(
                    "{board}: {} rows stored, {} expected, or in another order",
                    have.len(),
                    want.len()
                ));
                continue;
            }
            let size = self.index.size(&board).await?;
            if size != want.len() as u64 {
                report.mismatches.push(format!("{board}: size {size}, expected {}", want.len()));
            }
            for (i, row) in want.iter().enumerate() {
                let rank = self.index.rows_before(&board, &row.key()).await? + 1;
                if rank != i as u64 + 1 {
                    report.mismatches.push(format!("{board}: {} ranked {rank}, expected {}", row.standing.user, i + 1));
                }
            }
        }
        Ok(report)
    }

    /// Rewrites the open boards of `periods` from the ledgers `load` reads, which it reads only
    /// once every tier's writer is held off (their leases are taken, and renewed while the
    /// rebuild runs), so no event lands between the read and the rewrite.
    ///
    /// # Errors
    /// [`RebuildError::Busy`] when a tier's writer holds its lease; the store's failures.
    pub async fn rebuild<F>(&self, load: F, periods: &BTreeSet<Period>) -> Result<Report, RebuildError>
    where
        F: std::future::Future<Output = Result<Vec<LedgerOfUser>, StoreError>>,
    {
        let tiers: Vec<String> = Tier::all().iter().map(Tier::code).collect();
        let mut held = Vec::new();
        let outcome = async {
            for tier in &tiers {
                if !self.worker.acquire(tier).await? {
                    return Err(RebuildError::Busy(tier.clone()));
                }
                held.push(tier.clone());
            }
            let ledgers = load.await?;
            self.rewrite(&ledgers, periods, &held).await.map_err(RebuildError::from)
        }
        .await;
        for tier in &held {
            self.worker.release(tier).await?;
        }
        outcome
    }

    async fn rewrite(
        &self,
        ledgers: &[LedgerOfUser],
        periods: &BTreeSet<Period>,
        held: &[String],
    ) -> Result<Report, StoreError> {
        let now = self.worker.now();
        let pinned = self.pinned(ledgers).await?;
        let expected = expected(ledgers, &pinned, periods, now);
        let mut leases = Leases { worker: &self.worker, tiers: held, renewed: Instant::now() };
        let mut report = Report::default();
        for board in open_boards(periods, now) {
            for partition in std::iter::once(rows_partition(&board))
                .chain((1..=crate::index::LEVELS).map(|l| counts_partition(&board, l)))
            {
                self.wipe(&partition).await?;
            }
            leases.renew().await?;
        }
        for ledger in ledgers {
            crate::standings::reset_user(self.store.as_ref(), ledger, periods, now).await?;
            leases.renew().await?;
        }
        for (board, rows) in &expected {
            let moves: Vec<Move> = rows.iter().map(|row| Move { from: None, to: Some(row.clone()) }).collect();
            self.index.apply(board, &moves).await?;
            report.boards += 1;
            report.rows += rows.len();
            leases.renew().await?;
        }
        Ok(report)
    }

    /// The tiers the people's days were first counted in, from their day items (one query each).
    async fn pinned(&self, ledgers: &[LedgerOfUser]) -> Result<PinnedTiers, StoreError> {
        let mut pinned = PinnedTiers::new();
        for ledger in ledgers {
            let query =
                Query::partition(Table::Leaderboards, crate::keys::user_partition(ledger.user)).sort_prefix("D#");
            let mut cursor = None;
            loop {
                let page = self.store.query(query.clone().after(cursor.take())).await?;
                for item in &page.items {
                    let day =
                        item.get("sk").and_then(|v| v.as_str()).and_then(|sk| sk.strip_prefix("D#")?.parse().ok());
                    if let (Some(day), Some(tier)) = (day, item.get("tier").and_then(|v| v.as_str())) {
                        pinned.entry(ledger.user).or_default().insert(day, tier.to_owned());
                    }
                }
                match page.next {
                    Some(next) if !page.items.is_empty() => cursor = Some(next),
                    _ => break,
                }
            }
        }
        Ok(pinned)
    }

    async fn wipe(&self, partition: &str) -> Result<(), StoreError> {
        loop {
            let page = self.store.query(Query::partition(Table::Leaderboards, partition).limit(100)).await?;
            if page.items.is_empty() {
                return Ok(());
            }
            for item in &page.items {
                self.store.delete(Table::Leaderboards, &key_of(item)?, None).await?;
            }
        }
    }

    async fn all_rows(&self, board: &BoardId) -> Result<Vec<Row>, StoreError> {
        let mut rows = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.index.rows_after(board, after.as_deref(), 500).await?;
            let Some(last) = page.last() else { return Ok(rows) };
            after = Some(last.key());
            rows.extend(page);
        }
    }
}

/// The tier leases a rebuild holds, renewed well inside their 60 seconds.
struct Leases<'a> {
    worker: &'a LeaderboardWorker,
    tiers: &'a [String],
    renewed: Instant,
}

impl Leases<'_> {
    async fn renew(&mut self) -> Result<(), StoreError> {
        if self.renewed.elapsed() > Duration::from_secs(15) {
            for tier in self.tiers {
                self.worker.acquire(tier).await?;
            }
            self.renewed = Instant::now();
        }
        Ok(())
    }
}

/// The days of a ledger with their totals and the entries counted on each.
pub(crate) fn ledger_days(entries: &[Contribution]) -> BTreeMap<NaiveDate, (i64, Vec<u64>)> {
    let mut days: BTreeMap<NaiveDate, (i64, Vec<u64>)> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for entry in entries.iter().filter(|e| seen.insert(e.seq)) {
        for BoardDay { day, points } in &entry.days {
            let (total, seqs) = days.entry(*day).or_default();
            *total += points;
            seqs.push(entry.seq);
        }
    }
    days
}
