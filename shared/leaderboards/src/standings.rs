//! Turning point events into standings: each person's competition days and boards, exactly once
//! per event, and the row moves that follow.
//!
//! Two items per person carry what the boards need:
//! - a **day item** per competition day (`U#<user>`, `D#<date>`): the day's board points, the tier
//!   the day counts in (fixed when the day is first seen, so later tier changes cannot move it)
//!   and the sequence numbers of the ledger entries already counted, which is what makes a
//!   repeated or reordered event count once;
//! - a **state item** (`U#<user>`, `STATE`): the person's standing on every board still open, and
//!   for each the keys of rows that may still need deleting.
//!
//! Both are written in one transaction, so an event is either counted in full or not at all.
//! Rows and counts follow; if the writer dies before, replaying the event finds it counted and
//! re-asserts the rows from the state item (deleting the listed stale keys, putting the current
//! row), which the index repairs like any other move.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};

use fittrack_domain::UserId;
use fittrack_domain::leaderboard::{BoardDay, Period, Standing};
use fittrack_platform::ports::{Condition, ItemStore, StoreError, Table, WriteOp, from_item, to_item};
use fittrack_users::UserDirectory;

use crate::index::{BoardIndex, Move, Row};
use crate::keys::{BoardId, archive_key, day_key, state_key};

/// Days a person's state transaction covers at most (DynamoDB takes 100 items in one): a round
/// that changes more of one person's days commits them in several steps, each whole.
const DAYS_PER_COMMIT: usize = 90;

const MAX_ATTEMPTS: usize = 8;
/// People applied at once in a round.
const PARALLEL_PEOPLE: usize = 16;

/// What one ledger entry adds to the boards of one tier; with no days, a rename of the person's
/// rows on the tier's boards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution {
    pub user: UserId,
    pub seq: u64,
    pub created_at: i64,
    pub days: Vec<BoardDay>,
}

/// A person's standing on one board, as the state item keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    p: i64,
    t: i64,
    d: u32,
    /// Row keys that may still exist besides the current one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    s: Vec<String>,
}

impl Entry {
    fn on_board(&self) -> bool {
        self.p != 0 || self.d > 0
    }

    fn standing(&self, user: UserId) -> Standing {
        Standing { user, points: self.p, reached_at: self.t, active_days: self.d }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct UserState {
    #[serde(default)]
    boards: BTreeMap<String, Entry>,
    #[serde(default)]
    v: u64,
}

/// Kept for good: it is what drops a repeat of any entry, however late, and a release of points
/// held for a long-past day must find whether the day was already active.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct DayRecord {
    total: i64,
    tier: String,
    #[serde(default)]
    seqs: Vec<u64>,
    #[serde(default)]
    v: u64,
}

/// The standing of a user on each board, read from the state item.
///
/// # Errors
/// The store's failures.
pub(crate) async fn standings_of(
    store: &dyn ItemStore,
    user: UserId,
) -> Result<BTreeMap<BoardId, Standing>, StoreError> {
    let state = read_state(store, user).await?.map(|(s, _)| s).unwrap_or_default();
    Ok(standings(user, &state.boards))
}

/// Where `user` stood on a final `board`: from the state item if no write has moved it to the
/// archive yet, else from the archive (one more read, for past periods only).
pub(crate) async fn final_standing(
    store: &dyn ItemStore,
    user: UserId,
    board: &BoardId,
) -> Result<Option<Standing>, StoreError> {
    if let Some(standing) = standings_of(store, user).await?.remove(board) {
        return Ok(Some(standing));
    }
    let archive: UserState =
        store.get(Table::Leaderboards, &archive_key(user)).await?.map(from_item).transpose()?.unwrap_or_default();
    Ok(standings(user, &archive.boards).remove(board))
}

fn standings(user: UserId, boards: &BTreeMap<String, Entry>) -> BTreeMap<BoardId, Standing> {
    boards
        .iter()
        .filter(|(_, e)| e.on_board())
        .filter_map(|(code, e)| Some((BoardId::parse(code)?, e.standing(user))))
        .collect()
}

async fn read_state(store: &dyn ItemStore, user: UserId) -> Result<Option<(UserState, bool)>, StoreError> {
    Ok(store.get(Table::Leaderboards, &state_key(user)).await?.map(from_item).transpose()?.map(|s| (s, true)))
}

/// Whether a board still takes points at `now`.
pub fn is_open(board: &BoardId, now: DateTime<Utc>) -> bool {
    board.period.final_at(board.start).is_none_or(|at| now < at)
}

/// Applies contributions to the boards of one tier. One writer per tier at a time.
#[derive(Clone)]
pub struct Standings {
    store: Arc<dyn ItemStore>,
    users: UserDirectory,
    index: BoardIndex,
}

/// What a round did not apply here.
#[derive(Debug, Default)]
pub struct Unapplied {
    /// Contributions whose day counts in another tier.
    pub elsewhere: Vec<(String, Contribution)>,
    /// Contributions of people whose items do not read (or cannot be written as they are): set
    /// aside, so they cannot stop the tier's other people from being counted.
    pub dead: Vec<Contribution>,
}

impl Standings {
    pub fn new(store: Arc<dyn ItemStore>) -> Self {
        Self { users: UserDirectory::new(Arc::clone(&store)), index: BoardIndex::new(Arc::clone(&store)), store }
    }

    /// Counts `contributions` on `tier`'s boards, each once, and moves the rows.
    ///
    /// # Errors
    /// The store's failures; repeating the round after one is safe.
    pub async fn apply(
        &self,
        tier: &str,
        contributions: Vec<Contribution>,
        now: DateTime<Utc>,
    ) -> Result<Unapplied, StoreError> {
        let mut by_user: BTreeMap<UserId, Vec<Contribution>> = BTreeMap::new();
        for contribution in contributions {
            by_user.entry(contribution.user).or_default().push(contribution);
        }
        // People are independent (each has their own items): many at once. Then the boards, each
        // in its own partitions.
        let mut people = Vec::new();
        for (user, mut parts) in by_user {
            parts.sort_by_key(|p| p.seq);
            people.push(Box::pin(async move {
                let outcome = self.apply_user(tier, user, &parts, now).await;
                (parts, outcome)
            }));
        }
        let outcomes: Vec<(Vec<Contribution>, Result<UserOutcome, StoreError>)> =
            stream::iter(people).buffer_unordered(PARALLEL_PEOPLE).collect().await;
        let mut moves: BTreeMap<BoardId, Vec<Move>> = BTreeMap::new();
        let mut unapplied = Unapplied::default();
        for (parts, outcome) in outcomes {
            let outcome = match outcome {
                Ok(outcome) => outcome,
                Err(error @ (StoreError::Corrupt(_) | StoreError::Invalid(_))) => {
                    tracing::error!(%error, tier, user_id = %parts[0].user, "leaderboard events set aside");
                    unapplied.dead.extend(parts);
                    continue;
                }
                Err(other) => return Err(other),
            };
            unapplied.elsewhere.extend(outcome.elsewhere);
            for (board, mut board_moves) in outcome.moves {
                moves.entry(board).or_default().append(&mut board_moves);
            }
        }
        let boards: Vec<_> =
            moves.iter().map(|(board, board_moves)| Box::pin(self.index.apply(board, board_moves))).collect();
        stream::iter(boards).buffer_unordered(4).try_collect::<Vec<()>>().await?;
        Ok(unapplied)
    }

    async fn apply_user(
        &self,
        tier: &str,
        user: UserId,
        parts: &[Contribution],
        now: DateTime<Utc>,
    ) -> Result<UserOutcome, StoreError> {
        let name = self.users.competitor(user).await?.and_then(|c| c.public_name().map(str::to_owned));
        let mut outcome = UserOutcome::default();
        for parts in commits(parts) {
            let mut done = None;
            for _ in 0..MAX_ATTEMPTS {
                match self.try_apply_user(tier, user, &parts, now, name.as_deref()).await {
                    Err(StoreError::TransactionCancelled { .. } | StoreError::Contention) => continue,
                    other => {
                        done = Some(other?);
                        break;
                    }
                }
            }
            let step = done.ok_or(StoreError::Contention)?;
            outcome.elsewhere.extend(step.elsewhere);
            for (board, mut moves) in step.moves {
                outcome.moves.entry(board).or_default().append(&mut moves);
            }
        }
        Ok(outcome)
    }

    async fn try_apply_user(
        &self,
        tier: &str,
        user: UserId,
        parts: &[Contribution],
        now: DateTime<Utc>,
        name: Option<&str>,
    ) -> Result<UserOutcome, StoreError> {
        let store = self.store.as_ref();
        let (mut state, state_exists) = read_state(store, user).await?.unwrap_or_default();
        let read_version = state.v;
        let mut days: BTreeMap<NaiveDate, (DayRecord, bool)> = BTreeMap::new();
        for day in parts.iter().flat_map(|p| p.days.iter().map(|d| d.day)).collect::<BTreeSet<_>>() {
            let record = store.get(Table::Leaderboards, &day_key(user, day)).await?.map(from_item).transpose()?;
            let exists = record.is_some();
            days.insert(
                day,
                (record.unwrap_or_else(|| DayRecord { tier: tier.to_owned(), ..DayRecord::default() }), exists),
            );
        }
        let mut outcome = UserOutcome::default();
        // Each board's entry as it was before this round, for the boards the round changes.
        let mut before: BTreeMap<String, Entry> = BTreeMap::new();
        let mut reassert: BTreeSet<String> = BTreeSet::new();
        let mut changed_days = BTreeSet::new();
        for part in parts {
            if part.days.is_empty() {
                // A rename: every board of this tier the person is on gets its row again.
                let mine = state.boards.keys().filter(|code| BoardId::parse(code).is_some_and(|b| b.tier == tier));
                reassert.extend(mine.cloned());
                continue;
            }
            for board_day in &part.days {
                let Some((record, _)) = days.get_mut(&board_day.day) else { continue };
                if record.tier != tier {
                    let moved = Contribution { days: vec![*board_day], ..part.clone() };
                    outcome.elsewhere.push((record.tier.clone(), moved));
                    continue;
                }
                let boards: Vec<BoardId> = Period::ALL
                    .into_iter()
                    .map(|period| BoardId::of_day(tier, period, board_day.day))
                    .filter(|board| is_open(board, now))
                    .collect();
                if record.seqs.contains(&part.seq) {
                    reassert.extend(boards.iter().map(BoardId::code));
                    continue;
                }
                let old_total = record.total;
                record.total += board_day.points;
                record.seqs.push(part.seq);
                changed_days.insert(board_day.day);
                for board in boards {
                    let entry = state.boards.entry(board.code()).or_default();
                    before.entry(board.code()).or_insert_with(|| entry.clone());
                    entry.p += board_day.points;
                    if board_day.points != 0 {
                        entry.t = entry.t.max(part.created_at);
                    }
                    if old_total <= 0 && record.total > 0 {
                        entry.d += 1;
                    } else if old_total > 0 && record.total <= 0 {
                        entry.d = entry.d.saturating_sub(1);
                    }
                }
            }
        }
        // Rows that may still stand where this round moves a person from: what the state listed
        // (if still there) and the place before this round.
        for (code, previous) in &before {
            let Some(board) = BoardId::parse(code) else { continue };
            let mut stale = Vec::new();
            for key in &previous.s {
                if self.index.row(&board, key).await?.is_some() {
                    stale.push(key.clone());
                }
            }
            if previous.on_board() {
                stale.push(previous.standing(user).sort_key());
            }
            if let Some(entry) = state.boards.get_mut(code) {
                let current = entry.on_board().then(|| entry.standing(user).sort_key());
                stale.retain(|k| Some(k) != current.as_ref());
                stale.sort();
                stale.dedup();
                entry.s = stale;
            }
        }
        // Boards that became final leave the state item for the archive (in the same transaction),
        // where `me` of a past period finds them until they expire.
        let finished: BTreeMap<String, Entry> = state
            .boards
            .iter()
            .filter(|(code, entry)| entry.on_board() && BoardId::parse(code).is_some_and(|b| !is_open(&b, now)))
            .map(|(code, entry)| (code.clone(), Entry { s: Vec::new(), ..entry.clone() }))
            .collect();
        state.boards.retain(|code, _| BoardId::parse(code).is_some_and(|b| is_open(&b, now)));
        if !changed_days.is_empty() {
            state.v = read_version + 1;
            let mut ops = vec![WriteOp::Put {
                table: Table::Leaderboards,
                item: state_item(user, &state)?,
                condition: Some(if state_exists { Condition::equals("v", read_version) } else { Condition::NotExists }),
            }];
            if !finished.is_empty() {
                let mut archive: UserState = store
                    .get(Table::Leaderboards, &archive_key(user))
                    .await?
                    .map(from_item)
                    .transpose()?
                    .unwrap_or_default();
                let now_epoch = now.timestamp();
                archive.boards.retain(|code, _| {
                    BoardId::parse(code).and_then(|b| b.expires_at()).is_some_and(|at| at > now_epoch)
                });
                archive.boards.extend(finished);
                let mut item = to_item(&archive)?;
                let key = archive_key(user);
                item.insert("pk".into(), key.pk.into());
                item.insert("sk".into(), key.sk.into());
                ops.push(WriteOp::Put { table: Table::Leaderboards, item, condition: None });
            }
            for day in &changed_days {
                let (record, exists) = &days[day];
                let mut item = to_item(&DayRecord { v: record.v + 1, ..record.clone() })?;
                let key = day_key(user, *day);
                item.insert("pk".into(), key.pk.into());
                item.insert("sk".into(), key.sk.into());
                let condition = if *exists { Condition::equals("v", record.v) } else { Condition::NotExists };
                ops.push(WriteOp::Put { table: Table::Leaderboards, item, condition: Some(condition) });
            }
            store.transact(ops).await?;
        }
        for code in before.keys().chain(reassert.iter()).collect::<BTreeSet<_>>() {
            let (Some(board), Some(entry)) = (BoardId::parse(code), state.boards.get(code)) else { continue };
            let board_moves = outcome.moves.entry(board).or_default();
            board_moves.extend(entry.s.iter().map(|key| Move { from: Some(key.clone()), to: None }));
            if entry.on_board() {
                let row = Row { standing: entry.standing(user), name: name.map(str::to_owned) };
                board_moves.push(Move { from: None, to: Some(row) });
            }
        }
        Ok(outcome)
    }
}

/// A person's contributions in groups touching at most [`DAYS_PER_COMMIT`] days each.
fn commits(parts: &[Contribution]) -> Vec<Vec<Contribution>> {
    let mut groups: Vec<Vec<Contribution>> = Vec::new();
    let mut days = BTreeSet::new();
    for part in parts {
        let new_days = part.days.iter().filter(|d| !days.contains(&d.day)).count();
        if groups.is_empty() || days.len() + new_days > DAYS_PER_COMMIT {
            groups.push(Vec::new());
            days.clear();
        }
        days.extend(part.days.iter().map(|d| d.day));
        if let Some(group) = groups.last_mut() {
            group.push(part.clone());
        }
    }
    groups
}

#[derive(Default)]
struct UserOutcome {
    moves: BTreeMap<BoardId, Vec<Move>>,
    elsewhere: Vec<(String, Contribution)>,
}

fn state_item(user: UserId, state: &UserState) -> Result<fittrack_platform::ports::Item, StoreError> {
    let mut item = to_item(state)?;
    let key = state_key(user);
    item.insert("pk".into(), key.pk.into());
    item.insert("sk".into(), key.sk.into());
    Ok(item)
}

/// The standings a plain computation from the ledger gives: for each board still open at `now`,
/// the points of the days inside it, the latest instant an entry changed them and the days with
/// points. `tier_of_day` says which tier a day counts in. The reference the incremental boards
/// are checked against, and what a rebuild writes.
pub fn tally(
    user: UserId,
    entries: &[Contribution],
    tier_of_day: impl Fn(NaiveDate) -> Option<String>,
    now: DateTime<Utc>,
) -> BTreeMap<BoardId, Standing> {
    let mut day_totals: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    let mut changed_at: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for entry in entries.iter().filter(|e| seen.insert(e.seq)) {
        for day in &entry.days {
            *day_totals.entry(day.day).or_default() += day.points;
            if day.points != 0 {
                let at = changed_at.entry(day.day).or_insert(entry.created_at);
                *at = (*at).max(entry.created_at);
            }
        }
    }
    let mut boards: BTreeMap<BoardId, Standing> = BTreeMap::new();
    for (day, total) in &day_totals {
        let Some(tier) = tier_of_day(*day) else { continue };
        for period in Period::ALL {
            let board = BoardId::of_day(&tier, period, *day);
            if !is_open(&board, now) {
                continue;
            }
            let standing = boards.entry(board).or_insert(Standing { user, points: 0, reached_at: 0, active_days: 0 });
            standing.points += total;
            standing.reached_at = standing.reached_at.max(changed_at.get(day).copied().unwrap_or(0));
            standing.active_days += u32::from(*total > 0);
        }
    }
    boards.retain(|_, s| s.points != 0 || s.active_days > 0);
    boards
}

/// Rewrites a person's day items and their entries on the open boards of `periods` from their
/// ledger (what a rebuild does; the caller holds every tier's lease).
///
/// # Errors
/// The store's failures.
pub(crate) async fn reset_user(
    store: &dyn ItemStore,
    ledger: &crate::rebuild::LedgerOfUser,
    periods: &BTreeSet<Period>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let user = ledger.user;
    for (day, (total, seqs)) in crate::rebuild::ledger_days(&ledger.entries) {
        let existing: Option<DayRecord> =
            store.get(Table::Leaderboards, &day_key(user, day)).await?.map(from_item).transpose()?;
        let Some(tier) = existing.map(|d| d.tier).or_else(|| ledger.placement.tier_on(day).map(str::to_owned)) else {
            continue;
        };
        let record = DayRecord { total, tier, seqs, v: 0 };
        let mut item = to_item(&record)?;
        let key = day_key(user, day);
        item.insert("pk".into(), key.pk.into());
        item.insert("sk".into(), key.sk.into());
        store.put(Table::Leaderboards, item, None).await?;
    }
    let placement = &ledger.placement;
    let truth = tally(user, &ledger.entries, |day| placement.tier_on(day).map(str::to_owned), now);
    let (mut state, _) = read_state(store, user).await?.unwrap_or_default();
    state
        .boards
        .retain(|code, _| BoardId::parse(code).is_some_and(|b| is_open(&b, now) && !periods.contains(&b.period)));
    for (board, standing) in truth.into_iter().filter(|(b, _)| periods.contains(&b.period)) {
        let entry = Entry { p: standing.points, t: standing.reached_at, d: standing.active_days, s: Vec::new() };
        state.boards.insert(board.code(), entry);
    }
    state.v += 1;
    store.put(Table::Leaderboards, state_item(user, &state)?, None).await
}
