//! Every key of the points table, and the prefixes they share; see docs/data-model.md.
//!
//! A user's items live in the user's partition (`USER#<id>`, the platform's
//! [`fittrack_platform::keys::user_partition`]); everything else has a partition of its own kind.
//! Stored data is found by these strings: change none of them without migrating what is stored.

use chrono::{Datelike, NaiveDate};

use fittrack_domain::UserId;
use fittrack_domain::activity::Activity;

use fittrack_platform::messages::PointEvent;
use fittrack_platform::ports::Key;

use crate::antigaming::ReviewStatus;
use crate::outbox::OUTBOX_SHARDS;

pub(crate) use fittrack_platform::keys::{USER_PREFIX, user_partition};

/// Sort key of a user's balance.
const BALANCE: &str = "BALANCE";
/// Sort-key prefix of a user's ledger entries: `LEDGER#<seq:012>`.
pub(crate) const LEDGER: &str = "LEDGER#";
/// Sort-key prefix of a user's booked days: `DAY#<yyyy-mm-dd>`.
pub(crate) const DAY: &str = "DAY#";
/// Sort-key prefix of a user's stored records: `ACT#<yyyy-mm-dd>#<source>#<source id>`.
const ACTIVITY: &str = "ACT#";
/// Sort-key prefix of where a record is stored: `ACTREF#<source>#<source id>`.
const ACTIVITY_REF: &str = "ACTREF#";
/// Sort-key prefix of a user's pending days: `PENDING#<yyyy-mm-dd>#<writer>`.
pub(crate) const PENDING: &str = "PENDING#";
/// Sort-key prefix of a user's device batch receipts: `BATCH#<batch id>`.
const BATCH: &str = "BATCH#";
/// Partition prefix of the outbox shards: `OUTBOX#<shard>`.
const OUTBOX: &str = "OUTBOX#";
/// Partition prefix of the outbox items parked as unreadable: `OUTBOXDEAD#<shard>`.
const OUTBOX_DEAD: &str = "OUTBOXDEAD#";
/// Partition of the open reviews.
const OPEN_REVIEWS: &str = "REVIEWS#open";
/// Partition of the resolved reviews.
const RESOLVED_REVIEWS: &str = "REVIEWS#resolved";
/// Partition prefix of a tier's baselines: `TIERSTATS#<tier>`, one item per month.
const TIER_STATS: &str = "TIERSTATS#";
/// Partition prefix of a user's review guards: `REVIEWGUARD#<user>`.
const REVIEW_GUARD: &str = "REVIEWGUARD#";

/// The partition of `user`'s review guards (one per review ever opened).
pub fn review_guard_partition(user: UserId) -> String {
    format!("{REVIEW_GUARD}{user}")
}
/// Review-guard sort-key prefix of an anomalous day: `activity_anomaly#<day>`.
const ANOMALY_GUARD: &str = "activity_anomaly#";
/// Review-guard sort-key prefix of a shared device: `shared_device#<device hash>`.
const SHARED_DEVICE_GUARD: &str = "shared_device#";
/// Review-guard sort-key prefix of a shared tracker account: `shared_tracker_account#<account>`.
const SHARED_TRACKER_ACCOUNT_GUARD: &str = "shared_tracker_account#";
/// Partition prefix of what one device fed: `DEVICE#<sha256(device id)>`, with one `USER#<id>`
/// item per account.
const DEVICE: &str = "DEVICE#";
/// Sort key of a device's account counter.
const DEVICE_ACCOUNTS: &str = "ACCOUNTS";

/// A user's balance.
pub(crate) fn balance_key(user: UserId) -> Key {
    Key::new(user_partition(user), BALANCE)
}

/// A user's ledger entry number `seq`.
pub fn entry_key(user: UserId, seq: u64) -> Key {
    Key::new(user_partition(user), format!("{LEDGER}{seq:012}"))
}

/// What a user's day was last booked at.
pub(crate) fn day_key(user: UserId, day: NaiveDate) -> Key {
    Key::new(user_partition(user), format!("{DAY}{day}"))
}

/// The day a booked day's sort key names.
pub(crate) fn day_of_sort_key(sk: &str) -> Option<NaiveDate> {
    sk.strip_prefix(DAY)?.parse().ok()
}

/// A tracker's record, stored under the competition day it starts on.
pub(crate) fn activity_key(user: UserId, day: NaiveDate, record: &Activity) -> Key {
    Key::new(user_partition(user), format!("{ACTIVITY}{day}#{}#{}", record.source, record.source_id))
}

/// The sort-key prefix of every record stored under `day`.
pub(crate) fn activity_day_prefix(day: NaiveDate) -> String {
    format!("{ACTIVITY}{day}#")
}

/// Where a tracker's record is stored, so a correction that moves it to another day removes the
/// old copy.
pub(crate) fn activity_ref_key(user: UserId, record: &Activity) -> Key {
    Key::new(user_partition(user), format!("{ACTIVITY_REF}{}#{}", record.source, record.source_id))
}

/// A day one writer has records for and has not booked yet (see [`crate::PointsEngine::ingest`]).
pub(crate) fn pending_day_key(user: UserId, day: NaiveDate, writer: &str) -> Key {
    Key::new(user_partition(user), format!("{PENDING}{day}#{writer}"))
}

/// The day a pending-day marker's sort key names.
pub(crate) fn day_of_pending_sort_key(sk: &str) -> Option<NaiveDate> {
    sk.strip_prefix(PENDING)?.split('#').next()?.parse().ok()
}

/// The receipt of a user's device batch.
pub(crate) fn batch_key(user: UserId, batch_id: &str) -> Key {
    Key::new(user_partition(user), format!("{BATCH}{batch_id}"))
}

/// An outbox shard.
pub(crate) fn outbox_partition(shard: u64) -> String {
    format!("{OUTBOX}{shard}")
}

/// Where the unreadable items of an outbox shard are parked.
pub(crate) fn dead_outbox_partition(shard: u64) -> String {
    format!("{OUTBOX_DEAD}{shard}")
}

/// An event in the outbox: time first, so a shard drains oldest first.
pub(crate) fn outbox_key(event: &PointEvent) -> Key {
    Key::new(
        outbox_partition(event.seq % OUTBOX_SHARDS),
        format!("{:012}#{}#{:012}", event.created_at, event.user_id, event.seq),
    )
}

/// The shard an outbox partition key names, for relays triggered by the table's stream.
pub fn shard_of_partition(pk: &str) -> Option<u64> {
    pk.strip_prefix(OUTBOX)?.parse().ok().filter(|s| *s < OUTBOX_SHARDS)
}

/// The partition of the reviews in `status`.
pub(crate) fn review_partition(status: ReviewStatus) -> &'static str {
    match status {
        ReviewStatus::Open => OPEN_REVIEWS,
        ReviewStatus::Resolved => RESOLVED_REVIEWS,
    }
}

/// A review (its id is its sort key).
pub(crate) fn review_key(status: ReviewStatus, id: &str) -> Key {
    Key::new(review_partition(status), id)
}

/// A tier's baseline for a calendar month of competition days (`month`: any day of it).
pub(crate) fn tier_stats_key(tier: &str, month: NaiveDate) -> Key {
    Key::new(format!("{TIER_STATS}{tier}"), format!("{:04}-{:02}", month.year(), month.month()))
}

/// What makes one open review per account and finding (`guard`: one of the guards below).
pub(crate) fn review_guard_key(user: UserId, guard: &str) -> Key {
    Key::new(format!("{REVIEW_GUARD}{user}"), guard)
}

/// The review guard of an anomalous day.
pub(crate) fn anomaly_guard(day: NaiveDate) -> String {
    format!("{ANOMALY_GUARD}{day}")
}

/// The review guard of a device (by its hash) that fed several accounts.
pub(crate) fn shared_device_guard(device: &str) -> String {
    format!("{SHARED_DEVICE_GUARD}{device}")
}

/// The review guard of a tracker account offered to several accounts.
pub(crate) fn shared_tracker_account_guard(tracker_account: &str) -> String {
    format!("{SHARED_TRACKER_ACCOUNT_GUARD}{tracker_account}")
}

/// What a device (by its hash) fed.
pub(crate) fn device_partition(device: &str) -> String {
    format!("{DEVICE}{device}")
}

/// That a device (by its hash) fed `user`'s account; the sort key is the user's partition.
pub(crate) fn device_seen_key(device: &str, user: UserId) -> Key {
    Key::new(device_partition(device), user_partition(user))
}

/// A device's (by its hash) count of accounts.
pub(crate) fn device_accounts_key(device: &str) -> Key {
    Key::new(device_partition(device), DEVICE_ACCOUNTS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserId {
        "0192f0c1-7a2b-7c3d-8e4f-0123456789ab".parse().unwrap()
    }

    fn day() -> NaiveDate {
        "2026-11-21".parse().unwrap()
    }

    fn key(pk: &str, sk: &str) -> Key {
        Key::new(pk, sk)
    }

    /// Stored data is found by these strings: they must never change.
    #[test]
    fn keys_are_as_stored() {
        let pk = "USER#0192f0c1-7a2b-7c3d-8e4f-0123456789ab";
        assert_eq!(balance_key(user()), key(pk, "BALANCE"));
        assert_eq!(entry_key(user(), 42), key(pk, "LEDGER#000000000042"));
        assert_eq!(day_key(user(), day()), key(pk, "DAY#2026-11-21"));
        assert_eq!(pending_day_key(user(), day(), "w1"), key(pk, "PENDING#2026-11-21#w1"));
        assert_eq!(batch_key(user(), "b-1"), key(pk, "BATCH#b-1"));
        assert_eq!(activity_day_prefix(day()), "ACT#2026-11-21#");
        assert_eq!(outbox_partition(3), "OUTBOX#3");
        assert_eq!(dead_outbox_partition(3), "OUTBOXDEAD#3");
        assert_eq!(review_key(ReviewStatus::Open, "r"), key("REVIEWS#open", "r"));
        assert_eq!(review_key(ReviewStatus::Resolved, "r"), key("REVIEWS#resolved", "r"));
        assert_eq!(tier_stats_key("t", day()), key("TIERSTATS#t", "2026-11"));
        assert_eq!(
            review_guard_key(user(), &anomaly_guard(day())),
            key("REVIEWGUARD#0192f0c1-7a2b-7c3d-8e4f-0123456789ab", "activity_anomaly#2026-11-21")
        );
        assert_eq!(shared_device_guard("h"), "shared_device#h");
        assert_eq!(shared_tracker_account_guard("a"), "shared_tracker_account#a");
        assert_eq!(device_seen_key("h", user()), key("DEVICE#h", pk));
        assert_eq!(device_accounts_key("h"), key("DEVICE#h", "ACCOUNTS"));
    }

    #[test]
    fn keys_parse_back() {
        assert_eq!(day_of_sort_key(&day_key(user(), day()).sk), Some(day()));
        assert_eq!(day_of_pending_sort_key(&pending_day_key(user(), day(), "w1").sk), Some(day()));
        assert_eq!(day_of_sort_key("LEDGER#000000000001"), None);
        assert_eq!(shard_of_partition(&outbox_partition(15)), Some(15));
        assert_eq!(shard_of_partition("OUTBOX#16"), None);
        assert_eq!(shard_of_partition("OUTBOXDEAD#1"), None);
    }
}
