//! The points ledger: every change of a balance is a ledger entry with `balance_after`, written
//! in the same transaction as the balance, so `balance == sum(ledger)` always holds.
//!
//! Entries are numbered per user (`seq`); the balance item carries the last number, and each
//! write is conditioned on it (optimistic concurrency), which orders concurrent writers and makes
//! `balance_after` exact. A day's award is booked as the difference between the day's points now
//! and what was booked for it before, conditioned on that booked value: re-syncing the same data
//! books nothing, late data books only the difference, and a retried or concurrent booking can
//! never count twice. Each entry also writes an outbox event in the same transaction, so the
//! event exists exactly when the entry does (a relay publishes it to the leaderboard queue).
//!
//! A day's points depend on its records and on whether the days before it were active (streaks),
//! so a booking computed from a read that a concurrent writer has since outdated must not land.
//! The balance item carries the user's activity revision (`activity_rev`): every write of
//! records bumps it, every day booking bumps it and is conditioned on the revision its
//! computation started from. A booking computed from stale records fails and is recomputed.

pub mod antigaming;
mod attrs;
mod engine;
pub mod ingest;
pub mod keys;
pub mod outbox;

pub use engine::{EngineError, ListedActivity, PeriodSummary, PointsEngine};
pub use fittrack_domain::points::EntryKind;
pub use fittrack_platform::messages::PointEvent;
pub use ingest::{IngestBatch, IngestError, IngestReceipt};
pub use outbox::{OutboxRelay, RelayError};

use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use fittrack_domain::leaderboard::BoardDay;
use fittrack_domain::{DayPoints, UserId};

use fittrack_platform::clock::Clock;
use fittrack_platform::ports::{
    Condition, Cursor, ItemStore, Query, StoreError, Table, Update, WriteOp, from_item, to_item,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub seq: u64,
    pub kind: EntryKind,
    /// Change of the spendable balance.
    pub amount: i64,
    pub balance_after: i64,
    /// Change of the held balance (awards of an account under review).
    #[serde(default)]
    pub held_amount: i64,
    #[serde(default)]
    pub held_after: i64,
    /// What caused it, e.g. `day:2026-11-21`.
    pub cause: String,
    pub created_at: i64,
    /// What the entry adds to the leaderboards, by competition day: an award that is not held
    /// counts on its day; a release counts on the days the held points were earned; spending,
    /// held awards and forfeited points count nowhere.
    #[serde(default)]
    pub board_days: Vec<BoardDay>,
    /// An admin's debit that was clamped so the balance stays at zero or above: the amount asked
    /// for (`amount` is what was taken).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<i64>,
}

impl LedgerEntry {
    /// What the entry adds to the leaderboards. Entries written before the boards existed carry
    /// none; for an award or correction that was not held, it follows from the cause (`day:<date>`).
    pub fn counted_days(&self) -> Vec<BoardDay> {
        if !self.board_days.is_empty() {
            return self.board_days.clone();
        }
        let day = self.cause.strip_prefix("day:").and_then(|d| d.parse().ok());
        match (self.kind, day) {
            (EntryKind::Earn | EntryKind::Correction, Some(day)) if self.held_amount == 0 && self.amount != 0 => {
                vec![BoardDay { day, points: self.amount }]
            }
            _ => Vec::new(),
        }
    }
}

/// Every field defaults: opening a review can create the balance item before any entry exists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Balance {
    /// Spendable points.
    pub balance: i64,
    /// Points earned while the account is under review, paid out or forfeited when it is resolved.
    pub held: i64,
    pub lifetime_earned: i64,
    /// Number of the last ledger entry.
    pub seq: u64,
    /// Open reviews of the account; while there are any, awards are held.
    pub holds: u32,
    /// Bumped by every write of activity records and every day booking: the version of
    /// everything a day's points are computed from.
    pub activity_rev: u64,
    /// The rest of the item: the held points per day (`held_day#<date>`) among them.
    #[serde(flatten)]
    other: BTreeMap<String, serde_json::Value>,
}

impl Balance {
    /// The held points of each competition day (see [`attrs::balance::HELD_DAY_PREFIX`]).
    pub fn held_days(&self) -> Vec<BoardDay> {
        self.other
            .iter()
            .filter_map(|(name, value)| {
                let day = name.strip_prefix(attrs::balance::HELD_DAY_PREFIX)?.parse().ok()?;
                Some(BoardDay { day, points: value.as_i64()? })
            })
            .filter(|held| held.points != 0)
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Booking {
    /// Nothing to book: the day was already booked at this total.
    Unchanged,
    Booked {
        amount: i64,
        balance_after: i64,
        /// The amount went to the held balance: the account is under review.
        held: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("too much contention on this balance; try again")]
    Busy,
    #[error("not enough spendable points")]
    Insufficient,
    /// The balance (its entries, reviews or activity revision) changed since it was read.
    #[error("the balance changed since it was read")]
    Stale,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct PointsLedger {
    store: Arc<dyn ItemStore>,
    clock: Arc<dyn Clock>,
}

const MAX_ATTEMPTS: u64 = 10;

impl PointsLedger {
    pub fn new(store: Arc<dyn ItemStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The user's balance; all zeros before their first entry or review.
    ///
    /// # Errors
    /// [`LedgerError::Store`] when the store fails or the balance item does not read (`StoreError::Corrupt`).
    pub async fn balance(&self, user: UserId) -> Result<Balance, LedgerError> {
        match self.store.get(Table::Points, &keys::balance_key(user)).await? {
            Some(item) => Ok(from_item(item)?),
            None => Ok(Balance::default()),
        }
    }

    /// Newest first, a page at a time.
    ///
    /// # Errors
    /// [`LedgerError::Store`] when the store fails, the cursor is invalid (`StoreError::InvalidCursor`) or
    /// an entry does not read (`StoreError::Corrupt`).
    pub async fn entries(
        &self,
        user: UserId,
        limit: u32,
        cursor: Option<Cursor>,
    ) -> Result<(Vec<LedgerEntry>, Option<Cursor>), LedgerError> {
        let query = Query::partition(Table::Points, keys::user_partition(user))
            .sort_prefix(keys::LEDGER)
            .descending()
            .limit(limit)
            .after(cursor);
        let page = self.store.query(query).await?;
        let entries = page.items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok((entries, page.next))
    }

    /// One entry, by its number, if it exists.
    ///
    /// # Errors
    /// [`LedgerError::Store`] when the store fails or the entry does not read (`StoreError::Corrupt`).
    pub async fn entry(&self, user: UserId, seq: u64) -> Result<Option<LedgerEntry>, LedgerError> {
        Ok(self.store.get(Table::Points, &keys::entry_key(user, seq)).await?.map(from_item).transpose()?)
    }

    /// What a day was booked at, if it was.
    ///
    /// # Errors
    /// [`LedgerError::Store`] when the store fails or the day item does not read (`StoreError::Corrupt`).
    pub async fn booked_day(&self, user: UserId, day: NaiveDate) -> Result<Option<BookedDay>, LedgerError> {
        let booked = self.store.get(Table::Points, &keys::day_key(user, day)).await?;
        // Only a booking writes the day, always with its total; a day item without one (which the
        // emulator can leave behind from a cancelled transaction) is not booked, and the booking
        // condition (`total` missing) agrees.
        Ok(booked.filter(|item| item.contains_key(attrs::day::TOTAL)).map(from_item).transpose()?)
    }

    /// Marks that the user's activity records changed: bookings computed from an earlier read
    /// will fail and be recomputed. Called after the records are stored.
    ///
    /// # Errors
    /// [`LedgerError::Store`] when the store fails.
    /// Returns the revision after the bump.
    pub async fn touch_activity(&self, user: UserId) -> Result<u64, LedgerError> {
        let item = self
            .store
            .update(Table::Points, &keys::balance_key(user), Update::new().add(attrs::balance::ACTIVITY_REV, 1), None)
            .await?;
        Ok(item.get(attrs::balance::ACTIVITY_REV).and_then(serde_json::Value::as_u64).unwrap_or(0))
    }

    /// Books a day's points: the difference between `points.total` and what the day already had,
    /// retrying while other bookings of the user contend. While the account is under review the
    /// difference goes to the held balance. Not tied to an activity revision: the engine books
    /// through `PointsLedger::book_day_at`.
    ///
    /// # Errors
    /// [`LedgerError::Busy`] after too many lost races; [`LedgerError::Store`].
    pub async fn book_day(&self, user: UserId, day: NaiveDate, points: &DayPoints) -> Result<Booking, LedgerError> {
        for attempt in 1..=MAX_ATTEMPTS {
            let read = self.balance(user).await?;
            let booked = self.booked_day(user, day).await?;
            // The day's place in its tier's anomaly baseline is the engine's to move; it stays.
            let baseline_score = booked.as_ref().and_then(|b| b.baseline_score);
            match self.book_day_at(user, day, points, &read, booked.as_ref(), false, baseline_score).await {
                Err(LedgerError::Stale) => backoff(attempt).await,
                other => return other,
            }
        }
        Err(LedgerError::Busy)
    }

    /// One attempt at booking a day against the balance and booked day read before `points` was
    /// computed. With `same_activity`, the booking also requires that no records were written and
    /// no other day was booked since `read` (the activity revision is unchanged). The day item
    /// records `baseline_score`, the score the day contributes to its tier's anomaly baseline
    /// (none: nothing), in the same write, so the baseline can later move it exactly.
    ///
    /// # Errors
    /// [`LedgerError::Stale`] when the balance, the day or (with `same_activity`) the activity
    /// changed since they were read: recompute and try again. [`LedgerError::Store`].
    // Each input is read or computed by the caller in one pass; a struct would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn book_day_at(
        &self,
        user: UserId,
        day: NaiveDate,
        points: &DayPoints,
        read: &Balance,
        booked: Option<&BookedDay>,
        same_activity: bool,
        baseline_score: Option<u32>,
    ) -> Result<Booking, LedgerError> {
        let target = i64::from(points.total);
        let amount = target - booked.map_or(0, |b| b.total);
        if booked.is_some_and(|b| {
            b.total == target && b.points.as_ref() == Some(points) && b.baseline_score == baseline_score
        }) {
            return Ok(Booking::Unchanged);
        }
        let day_condition = match booked {
            // The baseline moves the day from what it read: that must still be what the day holds.
            Some(b) => Condition::And(vec![
                Condition::equals(attrs::day::TOTAL, b.total),
                match b.baseline_score {
                    Some(score) => Condition::equals(attrs::day::BASELINE_SCORE, score),
                    None => Condition::missing(attrs::day::BASELINE_SCORE),
                },
            ]),
            None => Condition::missing(attrs::day::TOTAL),
        };
        let mut day_fields = Update::new()
            .set(attrs::day::TOTAL, target)
            .set(attrs::day::POINTS, serde_json::to_value(points).unwrap_or_default())
            .set(attrs::day::COMPUTED_REV, read.activity_rev);
        if let Some(score) = baseline_score {
            day_fields = day_fields.set(attrs::day::BASELINE_SCORE, score);
        } else if booked.is_some_and(|b| b.baseline_score.is_some()) {
            day_fields = day_fields.remove(attrs::day::BASELINE_SCORE);
        }
        let day_update = WriteOp::Update {
            table: Table::Points,
            key: keys::day_key(user, day),
            update: day_fields,
            condition: Some(day_condition),
        };
        // Every booking moves the revision: a later day's streak may depend on this one.
        let revision_update = Update::new().add(attrs::balance::ACTIVITY_REV, 1);
        let guard =
            if same_activity { Condition::And(vec![unchanged(read), same_revision(read)]) } else { unchanged(read) };
        let held = read.holds > 0;
        let mut ops = if amount == 0 {
            // Same total, new breakdown (e.g. more steps past the cap): no entry, only the day
            // and the revision change.
            vec![WriteOp::Update {
                table: Table::Points,
                key: keys::balance_key(user),
                update: revision_update,
                condition: Some(guard),
            }]
        } else {
            let kind = if amount >= 0 { EntryKind::Earn } else { EntryKind::Correction };
            let (spendable, held_amount) = if held { (0, amount) } else { (amount, 0) };
            let (board_days, revision_update) = if held {
                (Vec::new(), revision_update.add(&attrs::balance::held_day(day), amount))
            } else {
                (vec![BoardDay { day, points: amount }], revision_update)
            };
            let change = Change {
                kind,
                amount: spendable,
                held_amount,
                cause: format!("day:{day}"),
                board_days,
                requested: None,
            };
            self.entry_ops(user, read, change, revision_update, guard)?
        };
        ops.push(day_update);
        ops.extend(fittrack_analytics::counters::activity_op(day, booked.and_then(|b| b.points.as_ref()), points));
        match self.store.transact(ops).await {
            Ok(()) if amount == 0 => Ok(Booking::Unchanged),
            Ok(()) => {
                if let Err(error) =
                    fittrack_analytics::active::record_active(self.store.as_ref(), user, self.clock.now()).await
                {
                    tracing::warn!(%error, "active user not counted");
                }
                let balance_after = if held { read.balance } else { read.balance + amount };
                Ok(Booking::Booked { amount, balance_after, held })
            }
            Err(StoreError::TransactionCancelled { .. } | StoreError::Contention) => Err(LedgerError::Stale),
            Err(other) => Err(other.into()),
        }
    }

    /// Puts the account under review: its awards are held from now on. Part of the transaction
    /// that opens the review, so a review and its hold exist together.
    pub(crate) fn hold_op(user: UserId) -> WriteOp {
        WriteOp::Update {
            table: Table::Points,
            key: keys::balance_key(user),
            update: Update::new().add(attrs::balance::HOLDS, 1),
            condition: None,
        }
    }

    /// The balance writes that close one review, read against `read`: a cleared review pays the
    /// held points out once no other review is open; a confirmed one forfeits them (a negative
    /// held balance, from corrections, is still owed and comes off the spendable balance).
    ///
    /// # Errors
    /// [`LedgerError::Store`] if the ledger entry or its outbox event does not serialise (not expected).
    pub(crate) fn settle_ops(
        &self,
        user: UserId,
        read: &Balance,
        outcome: HoldOutcome,
        cause: String,
    ) -> Result<Vec<WriteOp>, LedgerError> {
        let still_held = read.holds > 1;
        let held_days = read.held_days();
        let change = match outcome {
            _ if read.held == 0 && held_days.is_empty() => None,
            HoldOutcome::Release if still_held => None,
            HoldOutcome::Release => Some(Change {
                kind: EntryKind::Release,
                amount: read.held,
                held_amount: -read.held,
                cause,
                board_days: held_days.clone(),
                requested: None,
            }),
            // Forfeited points never reach a board; a correction that was held still lowers
            // its day, as it lowers the balance.
            HoldOutcome::Forfeit => Some(Change {
                kind: EntryKind::Forfeit,
                amount: read.held.min(0),
                held_amount: -read.held,
                cause,
                board_days: held_days.iter().copied().filter(|d| d.points < 0).collect(),
                requested: None,
            }),
        };
        // One review fewer, whether or not points move.
        let mut closed = Update::new().add(attrs::balance::HOLDS, -1);
        if change.is_some() {
            for held in &held_days {
                closed = closed.remove(&attrs::balance::held_day(held.day));
            }
        }
        let ops = match change {
            Some(change) => self.entry_ops(user, read, change, closed, unchanged(read))?,
            None => vec![WriteOp::Update {
                table: Table::Points,
                key: keys::balance_key(user),
                update: closed,
                condition: Some(unchanged(read)),
            }],
        };
        Ok(ops)
    }

    /// The writes that spend `amount` points of the balance read as `read` (a `Spend` entry with
    /// `cause`), for the caller to put in its own transaction beside what the points buy. The
    /// balance update comes first and is conditioned on the balance being as read: when it
    /// fails (operation 0 of the cancelled transaction), read again and retry. Never touches
    /// held points.
    ///
    /// # Errors
    /// [`LedgerError::Insufficient`] when `read` has fewer than `amount` spendable points;
    /// [`LedgerError::Store`] if the entry does not serialise (not expected).
    pub fn spend_ops(
        &self,
        user: UserId,
        read: &Balance,
        amount: i64,
        cause: String,
    ) -> Result<Vec<WriteOp>, LedgerError> {
        if amount <= 0 || read.balance < amount {
            return Err(LedgerError::Insufficient);
        }
        let change = Change {
            kind: EntryKind::Spend,
            amount: -amount,
            held_amount: 0,
            cause,
            board_days: Vec::new(),
            requested: None,
        };
        self.entry_ops(user, read, change, Update::new(), unchanged(read))
    }

    /// The writes that give back `amount` spent points (a `Refund` entry with `cause`), under the
    /// same rule as [`Self::spend_ops`]: operation 0 fails when the balance changed since `read`.
    ///
    /// # Errors
    /// [`LedgerError::Store`] if the entry does not serialise (not expected).
    pub fn refund_ops(
        &self,
        user: UserId,
        read: &Balance,
        amount: i64,
        cause: String,
    ) -> Result<Vec<WriteOp>, LedgerError> {
        let change =
            Change { kind: EntryKind::Refund, amount, held_amount: 0, cause, board_days: Vec::new(), requested: None };
        self.entry_ops(user, read, change, Update::new(), unchanged(read))
    }

    /// The writes of an admin's adjustment (an `adjustment` entry of `adjustment.applied` points,
    /// recording what was asked for when a debit was clamped), conditioned on the balance as
    /// read. Adjustments change the balance only: they earn nothing lifetime and count on no board.
    ///
    /// # Errors
    /// [`LedgerError::Store`] if the entry does not serialise (not expected).
    pub fn adjust_ops(
        &self,
        user: UserId,
        read: &Balance,
        adjustment: fittrack_domain::Adjustment,
        cause: String,
    ) -> Result<Vec<WriteOp>, LedgerError> {
        let change = Change {
            kind: EntryKind::Adjustment,
            amount: adjustment.applied,
            held_amount: 0,
            cause,
            board_days: Vec::new(),
            requested: (adjustment.clamped_by != 0).then_some(adjustment.requested),
        };
        self.entry_ops(user, read, change, Update::new(), unchanged(read))
    }

    /// The balance update (`balance_update` plus the entry's effect) under `guard` (at least:
    /// the balance is as read), the entry and its outbox event.
    fn entry_ops(
        &self,
        user: UserId,
        read: &Balance,
        change: Change,
        balance_update: Update,
        guard: Condition,
    ) -> Result<Vec<WriteOp>, LedgerError> {
        let now = self.clock.now().timestamp();
        let seq = read.seq + 1;
        let balance_after = read.balance + change.amount;
        let held_after = read.held + change.held_amount;
        let entry = LedgerEntry {
            seq,
            kind: change.kind,
            amount: change.amount,
            balance_after,
            held_amount: change.held_amount,
            held_after,
            cause: change.cause,
            created_at: now,
            board_days: change.board_days,
            requested: change.requested,
        };
        let mut entry_item = to_item(&entry)?;
        let key = keys::entry_key(user, seq);
        entry_item.insert("pk".into(), key.pk.into());
        entry_item.insert("sk".into(), key.sk.into());
        let earned = match change.kind {
            EntryKind::Earn | EntryKind::Release => change.amount.max(0),
            _ => 0,
        };
        let event = outbox::point_event(user, &entry);
        let mut outbox = to_item(&event)?;
        let key = keys::outbox_key(&event);
        outbox.insert("pk".into(), key.pk.into());
        outbox.insert("sk".into(), key.sk.into());
        let stats = fittrack_analytics::counters::ledger_op(self.clock.now(), change.kind, change.amount);
        let mut ops = vec![
            WriteOp::Update {
                table: Table::Points,
                key: keys::balance_key(user),
                update: balance_update
                    .set(attrs::balance::BALANCE, balance_after)
                    .set(attrs::balance::HELD, held_after)
                    .set(attrs::balance::SEQ, seq)
                    .add(attrs::balance::LIFETIME_EARNED, earned),
                condition: Some(guard),
            },
            WriteOp::Put { table: Table::Points, item: entry_item, condition: Some(Condition::NotExists) },
            WriteOp::Put { table: Table::Points, item: outbox, condition: Some(Condition::NotExists) },
        ];
        ops.extend(stats);
        Ok(ops)
    }
}

/// What closing a review does with the held points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HoldOutcome {
    Release,
    Forfeit,
}

/// One ledger entry to be: what changes on which side of the balance, and why.
struct Change {
    kind: EntryKind,
    amount: i64,
    held_amount: i64,
    cause: String,
    board_days: Vec<BoardDay>,
    /// What an admin asked for, when a debit was clamped (`LedgerEntry::requested`).
    requested: Option<i64>,
}

/// What a day was last booked at.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BookedDay {
    pub total: i64,
    #[serde(default)]
    pub points: Option<DayPoints>,
    /// The activity score the day contributes to its tier's anomaly baseline; none when it
    /// contributes nothing (booked while the account was under review, or a past day beyond an
    /// ingest's allowance).
    #[serde(default)]
    pub baseline_score: Option<u32>,
    /// The activity revision the booking was computed from: a writer whose records and bookings
    /// all came before it has nothing left to do for the day.
    #[serde(default)]
    pub computed_rev: u64,
}

impl BookedDay {
    /// Whether the day earned activity points of its own (what makes it count for a streak).
    pub fn was_active(&self) -> bool {
        self.points.as_ref().is_some_and(|p| p.steps > 0 || p.active_minutes > 0 || p.workouts > 0)
    }
}

/// A short, growing pause before retrying a lost race.
pub(crate) async fn backoff(attempt: u64) {
    tokio::time::sleep(std::time::Duration::from_millis(2 * attempt.min(25))).await;
}

/// No records were written and no day was booked since the balance was read.
fn same_revision(read: &Balance) -> Condition {
    if read.activity_rev == 0 {
        Condition::Or(vec![
            Condition::missing(attrs::balance::ACTIVITY_REV),
            Condition::equals(attrs::balance::ACTIVITY_REV, 0),
        ])
    } else {
        Condition::equals(attrs::balance::ACTIVITY_REV, read.activity_rev)
    }
}

/// The balance is still as read: no entry written since, no review opened or closed since.
fn unchanged(read: &Balance) -> Condition {
    let seq = if read.seq == 0 {
        Condition::missing(attrs::balance::SEQ)
    } else {
        Condition::equals(attrs::balance::SEQ, read.seq)
    };
    let holds = if read.holds == 0 {
        Condition::Or(vec![Condition::missing(attrs::balance::HOLDS), Condition::equals(attrs::balance::HOLDS, 0)])
    } else {
        Condition::equals(attrs::balance::HOLDS, read.holds)
    };
    Condition::And(vec![seq, holds])
}

/// The points engine on `store` with FitTrack's rate table: what every function that books or
/// reads points builds.
pub fn engine(store: Arc<dyn ItemStore>, clock: Arc<dyn Clock>) -> PointsEngine {
    PointsEngine::new(store, clock, fittrack_domain::RateTable::default())
}
