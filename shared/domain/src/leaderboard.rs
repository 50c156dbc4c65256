//! Leaderboard rules: the four periods, what a board ranks, the order of a board, and the sort
//! key that stores that order as a string.
//!
//! A board is one tier and one period. It ranks the points earned for the competition days
//! inside its period (the day an activity happened), never the balance. Order: more points
//! first; then whoever reached that score earliest; then more active days in the period; then
//! the lower user id. Ranks are strict: no two people share one.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::UserId;
use crate::points::day_bounds;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Midnight to midnight, New York.
    Daily,
    /// Monday 00:00 to the next Monday, New York.
    Weekly,
    /// The 1st to the 1st, New York.
    Monthly,
    AllTime,
}

/// The day every all-time board "starts": before any FitTrack activity.
pub const ALL_TIME_START: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(day) => day,
    None => panic!("a valid date"),
};

/// How long after its period ends a board still takes late data (a tracker that syncs in the
/// morning); after that it is final and read-only.
pub const GRACE_HOURS: i64 = 24;

impl Period {
    pub const ALL: [Period; 4] = [Period::Daily, Period::Weekly, Period::Monthly, Period::AllTime];

    pub fn name(self) -> &'static str {
        match self {
            Period::Daily => "daily",
            Period::Weekly => "weekly",
            Period::Monthly => "monthly",
            Period::AllTime => "all_time",
        }
    }

    /// One letter for storage keys.
    pub fn code(self) -> char {
        match self {
            Period::Daily => 'D',
            Period::Weekly => 'W',
            Period::Monthly => 'M',
            Period::AllTime => 'A',
        }
    }

    /// The first competition day of the period holding `day`.
    pub fn start_of(self, day: NaiveDate) -> NaiveDate {
        match self {
            Period::Daily => day,
            // The earliest dates have no Monday before them: they start their own week.
            Period::Weekly => {
                day.checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday()))).unwrap_or(day)
            }
            Period::Monthly => day.with_day(1).unwrap_or(day),
            Period::AllTime => ALL_TIME_START,
        }
    }

    pub fn is_start(self, day: NaiveDate) -> bool {
        self.start_of(day) == day
    }

    /// The first day after the period starting on `start`; none for all-time.
    pub fn end_of(self, start: NaiveDate) -> Option<NaiveDate> {
        match self {
            Period::Daily => start.checked_add_days(Days::new(1)),
            Period::Weekly => start.checked_add_days(Days::new(7)),
            Period::Monthly => start.checked_add_months(Months::new(1)),
            Period::AllTime => None,
        }
    }

    /// When the board of the period starting on `start` becomes final: the end of its last
    /// competition day plus the grace; never for all-time.
    pub fn final_at(self, start: NaiveDate) -> Option<DateTime<Utc>> {
        let end = self.end_of(start)?;
        Some(day_bounds(end).0 + chrono::Duration::hours(GRACE_HOURS))
    }

    /// How long a final board is kept before it expires.
    pub fn retention_days(self) -> Option<i64> {
        match self {
            Period::Daily => Some(35),
            Period::Weekly => Some(7 * 27),
            Period::Monthly => Some(800),
            Period::AllTime => None,
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Period {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Period::ALL.into_iter().find(|p| p.name() == s).ok_or(())
    }
}

/// One person's place on one board, with everything the order looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub user: UserId,
    pub points: i64,
    /// When the board's points last changed to what they are (epoch seconds).
    pub reached_at: i64,
    /// Days of the period with points on this board.
    pub active_days: u32,
}

impl Standing {
    /// Better first: this is the board's order.
    pub fn rank_order(&self, other: &Standing) -> Ordering {
        other
            .points
            .cmp(&self.points)
            .then(self.reached_at.cmp(&other.reached_at))
            .then(other.active_days.cmp(&self.active_days))
            .then(self.user.cmp(&other.user))
    }

    /// A fixed-length string whose byte order is [`Standing::rank_order`]: lowercase hex of the
    /// points (offset and inverted), the instant, the inverted active days and the user id.
    pub fn sort_key(&self) -> String {
        let points = u64::try_from(self.points.saturating_add(1 << 40).clamp(0, (1 << 48) - 1)).unwrap_or(0);
        let reached = u64::try_from(self.reached_at.clamp(0, (1 << 40) - 1)).unwrap_or(0);
        let days = u16::try_from(self.active_days.min(u32::from(u16::MAX))).unwrap_or(u16::MAX);
        format!("{:012x}{:010x}{:04x}{}", ((1u64 << 48) - 1) - points, reached, u16::MAX - days, self.user.simple())
    }
}

impl Standing {
    /// Reads a [`Standing::sort_key`] back (points beyond the key's range read as its bounds).
    pub fn from_sort_key(key: &str) -> Option<Standing> {
        if key.len() != SORT_KEY_LEN || !key.is_ascii() {
            return None;
        }
        let hex = |range: std::ops::Range<usize>| u64::from_str_radix(&key[range], 16).ok();
        let points = i64::try_from(((1u64 << 48) - 1).checked_sub(hex(0..12)?)?).ok()? - (1 << 40);
        let reached_at = i64::try_from(hex(12..22)?).ok()?;
        let active_days = u32::from(u16::MAX - u16::try_from(hex(22..26)?).ok()?);
        let user = uuid::Uuid::parse_str(&key[26..]).ok()?;
        Some(Standing { user: UserId::from_uuid(user), points, reached_at, active_days })
    }
}

/// Length of every [`Standing::sort_key`].
pub const SORT_KEY_LEN: usize = 12 + 10 + 4 + 32;

/// The share of the board at or below a rank, in percent with one decimal: the leader of 200
/// people is at 100.0, the last at 0.5.
pub fn percentile(rank: u64, size: u64) -> f64 {
    if size == 0 || rank == 0 || rank > size {
        return 0.0;
    }
    let share = (size - rank + 1) as f64 / size as f64 * 100.0;
    (share * 10.0).floor() / 10.0
}

/// Points a ledger entry adds to the boards of one competition day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardDay {
    pub day: NaiveDate,
    pub points: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn period_starts() {
        // 2026-11-25 is a Wednesday.
        assert_eq!(Period::Weekly.start_of(day(2026, 11, 25)), day(2026, 11, 23));
        assert_eq!(Period::Weekly.start_of(day(2026, 11, 23)), day(2026, 11, 23));
        assert_eq!(Period::Weekly.start_of(day(2026, 11, 22)), day(2026, 11, 16));
        assert_eq!(Period::Monthly.start_of(day(2026, 11, 25)), day(2026, 11, 1));
        assert_eq!(Period::Monthly.end_of(day(2026, 1, 1)), Some(day(2026, 2, 1)));
        assert!(Period::Weekly.is_start(day(2026, 11, 23)));
        assert!(!Period::Monthly.is_start(day(2026, 11, 23)));
        assert_eq!(Period::AllTime.end_of(ALL_TIME_START), None);
        assert_eq!(Period::AllTime.final_at(ALL_TIME_START), None);
        // The week of 2026-11-23 ends at New York midnight on the 30th (05:00 UTC), final a day later.
        assert_eq!(Period::Weekly.final_at(day(2026, 11, 23)).unwrap().to_rfc3339(), "2026-12-01T05:00:00+00:00");
    }

    #[test]
    fn sort_keys_that_are_not_keys_do_not_read() {
        assert_eq!(Standing::from_sort_key("zz"), None);
        assert_eq!(Standing::from_sort_key(&"g".repeat(SORT_KEY_LEN)), None);
        assert_eq!(Standing::from_sort_key(&"é".repeat(SORT_KEY_LEN / 2)), None);
    }

    #[test]
    fn the_first_dates_do_not_panic() {
        assert_eq!(Period::Weekly.start_of(NaiveDate::MIN), NaiveDate::MIN);
        assert!(Period::Monthly.end_of(NaiveDate::MAX).is_none());
    }

    #[test]
    fn percentiles() {
        assert_eq!(percentile(1, 200), 100.0);
        assert_eq!(percentile(200, 200), 0.5);
        assert_eq!(percentile(1, 1), 100.0);
        assert_eq!(percentile(0, 10), 0.0);
        assert_eq!(percentile(11, 10), 0.0);
    }

    fn standing() -> impl Strategy<Value = Standing> {
        (any::<u128>(), -5_000i64..5_000_000, 1_600_000_000i64..1_900_000_000, 0u32..400).prop_map(
            |(user, points, reached_at, active_days)| Standing {
                user: UserId::from_uuid(uuid::Uuid::from_u128(user)),
                points,
                reached_at,
                active_days,
            },
        )
    }

    proptest! {
        #[test]
        fn the_sort_key_orders_like_the_board(a in standing(), b in standing(), same_points in any::<bool>(), same_time in any::<bool>()) {
            let mut b = b;
            if same_points { b.points = a.points; }
            if same_time { b.reached_at = a.reached_at; }
            prop_assert_eq!(a.sort_key().len(), SORT_KEY_LEN);
            prop_assert_eq!(Standing::from_sort_key(&a.sort_key()), Some(a));
            prop_assert_eq!(a.sort_key().cmp(&b.sort_key()), a.rank_order(&b));
        }

        #[test]
        fn every_day_has_one_period_start(d in 0u64..20_000) {
            let d = day(2000, 1, 1) + Days::new(d);
            for period in Period::ALL {
                let start = period.start_of(d);
                prop_assert!(period.is_start(start));
                prop_assert!(start <= d);
                if let Some(end) = period.end_of(start) { prop_assert!(d < end); }
            }
        }
    }
}
