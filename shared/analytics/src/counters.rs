//! The writes that keep the counters, for each capability to add to its own transactions.
//!
//! Keys: `STATS#<metric>#<shard>` / `<period>` (users, points and tickets tables, beside the
//! events they count). A period is a competition day (`2026-11-24`) or month (`2026-11`). The
//! shard is in the partition key, so one period's writes spread over [`SHARDS`] partitions
//! (DynamoDB's throughput limits are per partition, not per item).

use chrono::{DateTime, NaiveDate, Utc};

use fittrack_domain::drawing::{DrawingStatus, DrawingType};
use fittrack_domain::points::EntryKind;
use fittrack_domain::{DayPoints, UserId, competition_day};
use fittrack_platform::ports::{Key, Table, Update, WriteOp};

/// Partitions per period of a sharded counter.
pub const SHARDS: u8 = 32;

/// The counter shard of `user`'s events (users, registrations, active users: outside the
/// transactions that move money, so one user's events may share a shard).
pub fn shard_of(user: UserId) -> u8 {
    let bytes = user.to_string().into_bytes();
    bytes.iter().fold(0u8, |acc, b| acc.wrapping_mul(31).wrapping_add(*b)) % SHARDS
}

/// A shard drawn at random, for the counters written inside ledger and booking transactions: two
/// transactions that update one item at once cancel each other (DynamoDB does not queue them),
/// so concurrent ones, even one person's, should rarely meet on a shard; a retry draws again.
pub fn random_shard() -> u8 {
    uuid::Uuid::new_v4().as_bytes()[0] % SHARDS
}

pub(crate) fn partition(metric: &str) -> String {
    format!("STATS#{metric}")
}

pub(crate) fn shard_partition(metric: &str, shard: u8) -> String {
    format!("STATS#{metric}#{shard}")
}

pub(crate) fn sharded(metric: &str, period: &str, shard: u8) -> Key {
    Key::new(shard_partition(metric, shard), period)
}

pub(crate) const USERS: &str = "USERS";
pub(crate) const REGISTRATIONS: &str = "REG";
pub(crate) const POINTS: &str = "POINTS";
pub(crate) const ACTIVITY: &str = "ACTIVITY";
pub(crate) const DRAWINGS: &str = "DRAWINGS";
pub(crate) const DAU: &str = "DAU";
pub(crate) const MAU: &str = "MAU";

fn add(table: Table, key: Key, update: Update) -> WriteOp {
    WriteOp::Update { table, key, update, condition: None }
}

/// A new account (users table): the total and the day's registrations.
pub fn registration_ops(user: UserId, at: DateTime<Utc>) -> Vec<WriteOp> {
    let shard = shard_of(user);
    let day = competition_day(at).to_string();
    vec![
        add(Table::Users, sharded(USERS, "ALL", shard), Update::new().add("count", 1)),
        add(Table::Users, sharded(REGISTRATIONS, &day, shard), Update::new().add("count", 1)),
    ]
}

/// A ledger entry written at `at` (points table): points earned (awards, releases, corrections),
/// spent (purchases, less refunds) and adjusted by admins on that competition day.
pub fn ledger_op(at: DateTime<Utc>, kind: EntryKind, amount: i64) -> Option<WriteOp> {
    let (field, value) = match kind {
        EntryKind::Earn | EntryKind::Correction | EntryKind::Release => ("earned", amount),
        EntryKind::Spend | EntryKind::Refund => ("spent", -amount),
        EntryKind::Adjustment => ("adjusted", amount),
        EntryKind::Forfeit => return None,
    };
    if value == 0 {
        return None;
    }
    let day = competition_day(at).to_string();
    Some(add(Table::Points, sharded(POINTS, &day, random_shard()), Update::new().add(field, value)))
}

/// A booking of `day` for one user (points table): what it adds to the day's activity points by
/// kind, and the user among the day's active users the first time the day is booked.
pub fn activity_op(day: NaiveDate, before: Option<&DayPoints>, after: &DayPoints) -> Option<WriteOp> {
    let was = |f: fn(&DayPoints) -> u32| i64::from(before.map_or(0, f));
    let now = |f: fn(&DayPoints) -> u32| i64::from(f(after));
    let mut update = Update::new();
    let mut changed = false;
    if before.is_none() {
        update = update.add("users", 1);
        changed = true;
    }
    for (field, of) in [
        ("steps", (|p: &DayPoints| p.steps) as fn(&DayPoints) -> u32),
        ("active_minutes", |p: &DayPoints| p.active_minutes),
        ("workouts", |p: &DayPoints| p.workouts),
        ("total", |p: &DayPoints| p.total),
    ] {
        let delta = now(of) - was(of);
        if delta != 0 {
            update = update.add(field, delta);
            changed = true;
        }
    }
    changed.then(|| add(Table::Points, sharded(ACTIVITY, &day.to_string(), random_shard()), update))
}

/// A drawing's place in the groups (tickets table): its type and status, entrants and tickets
/// (both known from the snapshot at close; zero before).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrawingFigures {
    pub kind: DrawingType,
    pub status: DrawingStatus,
    pub entrants: u64,
    pub tickets: u64,
}

/// A drawing created (`before` none) or moved from `before` to `after`: out of one group, into
/// the other. Not sharded: drawings change a few times a day.
pub fn drawing_ops(before: Option<DrawingFigures>, after: DrawingFigures) -> Vec<WriteOp> {
    let key = |f: DrawingFigures| Key::new(partition(DRAWINGS), format!("{}#{}", f.kind.as_str(), f.status.as_str()));
    let signed = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let mut ops = Vec::new();
    if let Some(old) = before {
        if old == after {
            return ops;
        }
        let update = Update::new()
            .add("drawings", -1)
            .add("entrants", -signed(old.entrants))
            .add("tickets", -signed(old.tickets));
        ops.push(add(Table::Tickets, key(old), update));
    }
    let update =
        Update::new().add("drawings", 1).add("entrants", signed(after.entrants)).add("tickets", signed(after.tickets));
    ops.push(add(Table::Tickets, key(after), update));
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_spread_users() {
        let mut seen = [0u32; SHARDS as usize];
        for _ in 0..3_200 {
            seen[usize::from(shard_of(UserId::generate()))] += 1;
            seen[usize::from(random_shard())] += 1;
        }
        // 200 expected in each; a shard under half of that is a skewed hash.
        assert!(seen.iter().all(|n| *n > 100), "{seen:?}");
    }

    #[test]
    fn a_rebooked_day_adds_only_what_changed_and_counts_its_user_once() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let first = DayPoints { steps: 100, total: 100, ..DayPoints::default() };
        let WriteOp::Update { update, .. } = activity_op(day, None, &first).unwrap() else { panic!() };
        assert!(update.add.contains(&("users".into(), 1)) && update.add.contains(&("steps".into(), 100)));
        let more = DayPoints { steps: 150, workouts: 50, total: 200, ..DayPoints::default() };
        let WriteOp::Update { update, .. } = activity_op(day, Some(&first), &more).unwrap() else { panic!() };
        assert!(!update.add.iter().any(|(f, _)| f == "users"));
        assert!(update.add.contains(&("steps".into(), 50)) && update.add.contains(&("workouts".into(), 50)));
        assert!(activity_op(day, Some(&more), &more).is_none());
    }

    #[test]
    fn a_transition_moves_a_drawing_between_groups() {
        let open = DrawingFigures { kind: DrawingType::Daily, status: DrawingStatus::Open, entrants: 0, tickets: 0 };
        let closed = DrawingFigures { status: DrawingStatus::Closed, entrants: 3, tickets: 14, ..open };
        assert_eq!(drawing_ops(Some(open), closed).len(), 2);
        assert_eq!(drawing_ops(None, open).len(), 1);
        assert!(drawing_ops(Some(closed), closed).is_empty());
        assert_eq!(ledger_op(Utc::now(), EntryKind::Forfeit, -5), None);
    }
}
