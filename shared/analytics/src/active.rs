//! Daily and monthly active users, counted exactly: the first event of a user's day writes a
//! marker (`ACTIVE#<day>` / `USER#<id>`) and adds one to the day's counter in one transaction
//! conditioned on the marker being new; the month has its own marker and counter. A later event
//! that day finds the marker (one read) and writes nothing.
//!
//! "Active" is: signed in or refreshed a session, had a day of activity booked, or entered a
//! drawing. Markers expire after the period is over (TTL), the counters stay.

use chrono::{DateTime, Datelike, Utc};

use fittrack_domain::{UserId, competition_day};
use fittrack_platform::keys::user_partition;
use fittrack_platform::ports::{Condition, Item, ItemStore, Key, StoreError, Table, Update, WriteOp};

use crate::counters::{DAU, MAU, shard_of, sharded};

/// Keeps a day's markers this long after the day (the TTL removes them later still).
const DAY_MARKER_DAYS: i64 = 3;
const MONTH_MARKER_DAYS: i64 = 35;

/// Counts `user` as active at `now` in the day's and the month's figures, once each.
///
/// # Errors
/// The store's failures (callers log them: a missed marker undercounts one user's day, it never
/// counts anyone twice).
pub async fn record_active(store: &dyn ItemStore, user: UserId, now: DateTime<Utc>) -> Result<(), StoreError> {
    let day = competition_day(now);
    let month = format!("{:04}-{:02}", day.year(), day.month());
    let expires = now.timestamp();
    mark(store, user, &format!("ACTIVE#{day}"), DAU, &day.to_string(), expires + DAY_MARKER_DAYS * 86_400 + 86_400)
        .await?;
    mark(store, user, &format!("ACTIVEM#{month}"), MAU, &month, expires + MONTH_MARKER_DAYS * 86_400).await
}

async fn mark(
    store: &dyn ItemStore,
    user: UserId,
    partition: &str,
    metric: &str,
    period: &str,
    expires_at: i64,
) -> Result<(), StoreError> {
    let marker = Key::new(partition, user_partition(user));
    if store.get(Table::Users, &marker).await?.is_some() {
        return Ok(());
    }
    let mut item = Item::new();
    item.insert("pk".into(), marker.pk.into());
    item.insert("sk".into(), marker.sk.into());
    item.insert("expires_at".into(), expires_at.into());
    let ops = vec![
        WriteOp::Put { table: Table::Users, item, condition: Some(Condition::NotExists) },
        WriteOp::Update {
            table: Table::Users,
            key: sharded(metric, period, shard_of(user)),
            update: Update::new().add("count", 1),
            condition: None,
        },
    ];
    match store.transact(ops).await {
        // Another request of the same user counted them first.
        Ok(()) | Err(StoreError::TransactionCancelled { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
