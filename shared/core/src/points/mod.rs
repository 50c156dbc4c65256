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

pub use engine::{EngineError, ListedActivity, PeriodSummary, PointsEngine};
pub use ingest::{IngestBatch, IngestError, IngestReceipt};

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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub seq: u64,
    pub kind: EntryKind,
    pub amount: i64,
    pub balance_after: i64,
    /// What caused it, e.g. `day:2026-11-21`.
    pub cause: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub balance: i64,
    pub lifetime_earned: i64,
    /// Number of the last ledger entry.
    pub seq: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Booking {
    /// Nothing to book: the day was already booked at this total.
    Unchanged,
    Booked {
        amount: i64,
        balance_after: i64,
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

/// Outbox partitions are sharded so the relay's partition never runs hot.
const OUTBOX_SHARDS: u64 = 16;

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

    /// Books a day's points: the difference between `points.total` and what the day already had.
    pub async fn book_day(&self, user: UserId, day: NaiveDate, points: &DayPoints) -> Result<Booking, LedgerError> {
        for attempt in 1..=MAX_ATTEMPTS {
            let balance = self.balance(user).await?;
            let booked = self.store.get(Table::Points, &day_key(user, day)).await?;
            let booked_total = booked.as_ref().and_then(|d| d.get("total")).and_then(|v| v.as_i64());
            let target = i64::from(points.total);
            let amount = target - booked_total.unwrap_or(0);
            if amount == 0 && booked_total.is_some() {
                return Ok(Booking::Unchanged);
            }
            let day_condition = match booked_total {
                Some(total) => Condition::equals("total", total),
                None => Condition::NotExists,
            };
            let day_update = WriteOp::Update {
                table: Table::Points,
                key: day_key(user, day),
                update: Update::new()
                    .set("total", target)
                    .set("points", serde_json::to_value(points).unwrap_or_default()),
                condition: Some(day_condition),
            };
            let kind = if amount >= 0 { EntryKind::Earn } else { EntryKind::Correction };
            let mut ops = self.entry_ops(user, &balance, kind, amount, format!("day:{day}"))?;
            ops.push(day_update);
            if amount == 0 {
                // A first booking of a zero day only records the day.
                ops.drain(..ops.len() - 1);
            }
            match self.store.transact(ops).await {
                Ok(()) => return Ok(Booking::Booked { amount, balance_after: balance.balance + amount }),
                Err(StoreError::TransactionCancelled { .. } | StoreError::Contention) => {
                    tokio::time::sleep(std::time::Duration::from_millis(2 * attempt)).await;
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(LedgerError::Busy)
    }

    /// The balance update, the entry and its outbox event, conditioned on the balance read.
    fn entry_ops(
        &self,
        user: UserId,
        read: &Balance,
        kind: EntryKind,
        amount: i64,
        cause: String,
    ) -> Result<Vec<WriteOp>, LedgerError> {
        let now = self.clock.now().timestamp();
        let seq = read.seq + 1;
        let balance_after = read.balance + amount;
        let entry = LedgerEntry { seq, kind, amount, balance_after, cause, created_at: now };
        let mut entry_item = to_item(&entry)?;
        entry_item.insert("pk".into(), user_partition(user).into());
        entry_item.insert("sk".into(), entry_sk(seq).into());
        let unchanged = if read.seq == 0 { Condition::missing("seq") } else { Condition::equals("seq", read.seq) };
        let earned = if amount > 0 && kind == EntryKind::Earn { amount } else { 0 };
        let mut outbox = serde_json::json!({
            "pk": format!("OUTBOX#{}", seq % OUTBOX_SHARDS),
            "sk": format!("{now:012}#{user}#{seq:012}"),
            "user_id": user, "seq": seq, "kind": kind, "amount": amount, "balance_after": balance_after,
            "cause": entry.cause,
        });
        let outbox = to_item(&outbox.take())?;
        Ok(vec![
            WriteOp::Update {
                table: Table::Points,
                key: balance_key(user),
                update: Update::new().set("balance", balance_after).set("seq", seq).add("lifetime_earned", earned),
                condition: Some(unchanged),
            },
            WriteOp::Put { table: Table::Points, item: entry_item, condition: Some(Condition::NotExists) },
            WriteOp::Put { table: Table::Points, item: outbox, condition: Some(Condition::NotExists) },
        ])
    }
}
