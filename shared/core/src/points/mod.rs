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

mod engine;
pub mod ingest;
pub mod outbox;

pub use engine::{EngineError, ListedActivity, PeriodSummary, PointsEngine};
pub use ingest::{IngestBatch, IngestError, IngestReceipt};
pub use outbox::{OutboxRelay, PointEvent, RelayError};

use outbox::outbox_key;

use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use fittrack_domain::{DayPoints, UserId};

use crate::clock::Clock;
use crate::ports::{Condition, Cursor, ItemStore, Key, Query, StoreError, Table, Update, WriteOp, from_item, to_item};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Earn,
    /// A later recomputation lowered a day's points (e.g. a duplicate found after the fact).
    Correction,
    Spend,
    Adjustment,
    /// A review cleared the account: its held points become spendable.
    Release,
    /// A review confirmed gaming: the held points are gone.
    Forfeit,
}

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
}

/// Every field defaults: opening a review can create the balance item before any entry exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(crate) fn user_partition(user: UserId) -> String {
    format!("USER#{user}")
}
fn balance_key(user: UserId) -> Key {
    Key::new(user_partition(user), "BALANCE")
}
pub(crate) fn day_key(user: UserId, day: NaiveDate) -> Key {
    Key::new(user_partition(user), format!("DAY#{day}"))
}
fn entry_sk(seq: u64) -> String {
    format!("LEDGER#{seq:012}")
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

    pub async fn balance(&self, user: UserId) -> Result<Balance, LedgerError> {
        match self.store.get(Table::Points, &balance_key(user)).await? {
            Some(item) => Ok(from_item(item)?),
            None => Ok(Balance::default()),
        }
    }

    /// Newest first, a page at a time.
    pub async fn entries(
        &self,
        user: UserId,
        limit: u32,
        cursor: Option<Cursor>,
    ) -> Result<(Vec<LedgerEntry>, Option<Cursor>), LedgerError> {
        let query = Query::partition(Table::Points, user_partition(user))
            .sort_prefix("LEDGER#")
            .descending()
            .limit(limit)
            .after(cursor);
        let page = self.store.query(query).await?;
        let entries = page.items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok((entries, page.next))
    }

    /// What a day was booked at, if it was.
    pub async fn booked_day(&self, user: UserId, day: NaiveDate) -> Result<Option<DayPoints>, LedgerError> {
        let booked = self.store.get(Table::Points, &day_key(user, day)).await?;
        Ok(booked.and_then(|d| serde_json::from_value(d.get("points")?.clone()).ok()))
    }

    /// Books a day's points: the difference between `points.total` and what the day already had.
    /// While the account is under review the difference goes to the held balance.
    pub async fn book_day(&self, user: UserId, day: NaiveDate, points: &DayPoints) -> Result<Booking, LedgerError> {
        for attempt in 1..=MAX_ATTEMPTS {
            let balance = self.balance(user).await?;
            let booked = self.store.get(Table::Points, &day_key(user, day)).await?;
            let booked_total = booked.as_ref().and_then(|d| d.get("total")).and_then(|v| v.as_i64());
            let booked_points = booked.as_ref().and_then(|d| d.get("points")).cloned();
            let points_value = serde_json::to_value(points).unwrap_or_default();
            let target = i64::from(points.total);
            let amount = target - booked_total.unwrap_or(0);
            if amount == 0 && booked_points.as_ref() == Some(&points_value) {
                return Ok(Booking::Unchanged);
            }
            let day_condition = match booked_total {
                Some(total) => Condition::equals("total", total),
                None => Condition::NotExists,
            };
            let day_update = WriteOp::Update {
                table: Table::Points,
                key: day_key(user, day),
                update: Update::new().set("total", target).set("points", points_value),
                condition: Some(day_condition),
            };
            let held = balance.holds > 0;
            let mut ops = if amount == 0 {
                // Same total, new breakdown (e.g. more steps past the cap): only the day changes.
                Vec::new()
            } else {
                let kind = if amount >= 0 { EntryKind::Earn } else { EntryKind::Correction };
                let (spendable, held_amount) = if held { (0, amount) } else { (amount, 0) };
                let change = Change { kind, amount: spendable, held_amount, cause: format!("day:{day}") };
                self.entry_ops(user, &balance, change, Update::new())?
            };
            ops.push(day_update);
            match self.store.transact(ops).await {
                Ok(()) if amount == 0 => return Ok(Booking::Unchanged),
                Ok(()) => {
                    let balance_after = if held { balance.balance } else { balance.balance + amount };
                    return Ok(Booking::Booked { amount, balance_after, held });
                }
                Err(StoreError::TransactionCancelled { .. } | StoreError::Contention) => {
                    tokio::time::sleep(std::time::Duration::from_millis(2 * attempt)).await;
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(LedgerError::Busy)
    }

    /// Puts the account under review: its awards are held from now on. Part of the transaction
    /// that opens the review, so a review and its hold exist together.
    pub(crate) fn hold_op(user: UserId) -> WriteOp {
        WriteOp::Update {
            table: Table::Points,
            key: balance_key(user),
            update: Update::new().add("holds", 1),
            condition: None,
        }
    }

    /// The balance writes that close one review, read against `read`: a cleared review pays the
    /// held points out once no other review is open; a confirmed one forfeits them (a negative
    /// held balance, from corrections, is still owed and comes off the spendable balance).
    pub(crate) fn settle_ops(
        &self,
        user: UserId,
        read: &Balance,
        outcome: HoldOutcome,
        cause: String,
    ) -> Result<Vec<WriteOp>, LedgerError> {
        let still_held = read.holds > 1;
        let change = match outcome {
            _ if read.held == 0 => None,
            HoldOutcome::Release if still_held => None,
            HoldOutcome::Release => {
                Some(Change { kind: EntryKind::Release, amount: read.held, held_amount: -read.held, cause })
            }
            HoldOutcome::Forfeit => {
                Some(Change { kind: EntryKind::Forfeit, amount: read.held.min(0), held_amount: -read.held, cause })
            }
        };
        // One review fewer, whether or not points move.
        let closed = Update::new().add("holds", -1);
        let ops = match change {
            Some(change) => self.entry_ops(user, read, change, closed)?,
            None => vec![WriteOp::Update {
                table: Table::Points,
                key: balance_key(user),
                update: closed,
                condition: Some(unchanged(read)),
            }],
        };
        Ok(ops)
    }

    /// The balance update (`balance_update` plus the entry's effect), the entry and its outbox
    /// event, conditioned on the balance read.
    fn entry_ops(
        &self,
        user: UserId,
        read: &Balance,
        change: Change,
        balance_update: Update,
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
        };
        let mut entry_item = to_item(&entry)?;
        entry_item.insert("pk".into(), user_partition(user).into());
        entry_item.insert("sk".into(), entry_sk(seq).into());
        let earned = match change.kind {
            EntryKind::Earn | EntryKind::Release => change.amount.max(0),
            _ => 0,
        };
        let event = PointEvent::of(user, &entry);
        let mut outbox = to_item(&event)?;
        let key = outbox_key(&event);
        outbox.insert("pk".into(), key.pk.into());
        outbox.insert("sk".into(), key.sk.into());
        Ok(vec![
            WriteOp::Update {
                table: Table::Points,
                key: balance_key(user),
                update: balance_update
                    .set("balance", balance_after)
                    .set("held", held_after)
                    .set("seq", seq)
                    .add("lifetime_earned", earned),
                condition: Some(unchanged(read)),
            },
            WriteOp::Put { table: Table::Points, item: entry_item, condition: Some(Condition::NotExists) },
            WriteOp::Put { table: Table::Points, item: outbox, condition: Some(Condition::NotExists) },
        ])
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
}

/// The balance is still as read: no entry written since, no review opened or closed since.
fn unchanged(read: &Balance) -> Condition {
    let seq = if read.seq == 0 { Condition::missing("seq") } else { Condition::equals("seq", read.seq) };
    let holds = if read.holds == 0 {
        Condition::Or(vec![Condition::missing("holds"), Condition::equals("holds", 0)])
    } else {
        Condition::equals("holds", read.holds)
    };
    Condition::And(vec![seq, holds])
}
