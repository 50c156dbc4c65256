//! The admin action log.
//!
//! Every admin action (users, reviews, drawings, sponsors, fulfilments, adjustments, roles)
//! appends one [`ActionEntry`], in the same transaction as the change it records: the change and
//! its entry land together or not at all, and a retried or raced action that changes nothing
//! appends nothing.
//!
//! The log is its own table (`Table::Audit`). Entries are only ever put, each under a fresh
//! time-ordered id and conditioned on the key being new; no code path updates or deletes one, and
//! the template grants the functions `PutItem` on the table and nothing that changes an item
//! (docs/decisions.md, "Admin action log").
//!
//! An entry is written as up to three items, so each listing is one query of one partition:
//! - `LOG` / `<id>`: every entry, newest first; its index key `ADMIN#<admin>` lists one admin's;
//! - `ACTION#<action>` / `<id>`: one kind of action;
//! - `USER#<user>` / `<id>`: the actions about one user (their account, points, reviews, prizes).

mod log;
mod records;

pub use log::{ActionFilter, ActionPage, AuditLog};
pub use records::{ActionEntry, ActionKind, Actor, Change, TargetKind};

use fittrack_platform::ports::{ItemStore, StoreError, WriteOp};

/// Writes `change` (its own writes, conditions included) and the entry recording it, in one
/// transaction.
///
/// # Errors
/// [`StoreError::ConditionFailed`] when a condition of `change` did not hold (nothing written);
/// the store's other failures.
pub async fn write_with_entry(
    store: &dyn ItemStore,
    change: Vec<WriteOp>,
    entry: &ActionEntry,
) -> Result<(), StoreError> {
    let own = change.len();
    let mut ops = change;
    ops.extend(entry.ops()?);
    match store.transact(ops).await {
        Err(StoreError::TransactionCancelled { failed }) if failed.iter().any(|&i| i < own) => {
            Err(StoreError::ConditionFailed)
        }
        other => other,
    }
}
