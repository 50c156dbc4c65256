//! The points rate table (the seed's rules), the daily cap, streaks, and the competition day.
//!
//! Points for a day are a pure function of what the user did that day (after de-duplication) and
//! whether the day completes a streak. The ledger books the difference between this and what was
//! already booked for the day, so re-syncs and late data recompute instead of double-counting.

use std::collections::BTreeSet;

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Leaderboards and daily caps reset at midnight in New York.
pub const COMPETITION_TIME_ZONE: Tz = chrono_tz::America::New_York;

/// The competition day an instant belongs to.
pub fn competition_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&COMPETITION_TIME_ZONE).date_naive()
}

/// The instants a competition day starts (inclusive) and ends (exclusive): 23, 24 or 25 hours
/// apart around daylight-saving changes.
pub fn day_bounds(day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let midnight = |d: NaiveDate| {
        // New York changes clocks at 02:00, so local midnight always exists exactly once.
        COMPETITION_TIME_ZONE
            .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map_or_else(|| d.and_time(chrono::NaiveTime::MIN).and_utc(), |t| t.with_timezone(&Utc))
    };
    (midnight(day), midnight(day + Days::new(1)))
}

/// What one user did on one competition day, after normalisation and de-duplication.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayActivity {
    pub steps: u32,
    pub light_minutes: u32,
    pub moderate_minutes: u32,
    pub vigorous_minutes: u32,
    pub workouts: u32,
}

impl DayActivity {
    /// Adds another record of the same day (sums saturate rather than wrap).
    pub fn merge(self, other: DayActivity) -> DayActivity {
        DayActivity {
            steps: self.steps.saturating_add(other.steps),
            light_minutes: self.light_minutes.saturating_add(other.light_minutes),
            moderate_minutes: self.moderate_minutes.saturating_add(other.moderate_minutes),
            vigorous_minutes: self.vigorous_minutes.saturating_add(other.vigorous_minutes),
            workouts: self.workouts.saturating_add(other.workouts),
        }
    }
}

/// The points of one day, by rule, after the daily cap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayPoints {
    pub steps: u32,
    pub active_minutes: u32,
    pub workouts: u32,
    pub step_goal: u32,
    pub streak: u32,
    /// Points the daily cap took away.
    pub capped: u32,
    pub total: u32,
    /// What the day would earn with no caps or bonuses: the measure anomaly detection compares
    /// against the tier (see [`crate::anomaly`]).
    #[serde(default)]
    pub activity_score: u32,
}

/// The rate table. `Default` is FitTrack's: 10 points per 1,000 steps counted up to 20,000 a day;
/// 1/2/3 points per light/moderate/vigorous minute; 50 per workout, at most 3 a day; 100 for
/// reaching 10,000 steps; 250 for every 7th consecutive active day; at most 1,000 a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateTable {
    pub steps_per_block: u32,
    pub points_per_step_block: u32,
    pub max_counted_steps: u32,
    pub light_minute: u32,
    pub moderate_minute: u32,
    pub vigorous_minute: u32,
    pub workout_bonus: u32,
    pub max_workouts: u32,
    pub step_goal: u32,
    pub step_goal_bonus: u32,
    pub streak_days: u32,
    pub streak_bonus: u32,
    pub daily_cap: u32,
}

impl Default for RateTable {
    fn default() -> Self {
        Self {
            steps_per_block: 1_000,
            points_per_step_block: 10,
            max_counted_steps: 20_000,
            light_minute: 1,
            moderate_minute: 2,
            vigorous_minute: 3,
            workout_bonus: 50,
            max_workouts: 3,
            step_goal: 10_000,
            step_goal_bonus: 100,
            streak_days: 7,
            streak_bonus: 250,
            daily_cap: 1_000,
        }
    }
}

impl RateTable {
    /// A day counts toward a streak when it earns activity points of its own (bonuses aside).
    pub fn is_active(&self, day: &DayActivity) -> bool {
        let points = self.day_points(day, false);
        points.steps > 0 || points.active_minutes > 0 || points.workouts > 0
    }

    pub fn day_points(&self, day: &DayActivity, completes_streak: bool) -> DayPoints {
        let counted_steps = day.steps.min(self.max_counted_steps);
        let steps = counted_steps / self.steps_per_block.max(1) * self.points_per_step_block;
        let active_minutes = day
            .light_minutes
            .saturating_mul(self.light_minute)
            .saturating_add(day.moderate_minutes.saturating_mul(self.moderate_minute))
            .saturating_add(day.vigorous_minutes.saturating_mul(self.vigorous_minute));
        let workouts = day.workouts.min(self.max_workouts) * self.workout_bonus;
        let step_goal = if day.steps >= self.step_goal { self.step_goal_bonus } else { 0 };
        let streak = if completes_streak { self.streak_bonus } else { 0 };
        let earned = steps
            .saturating_add(active_minutes)
            .saturating_add(workouts)
            .saturating_add(step_goal)
            .saturating_add(streak);
        let total = earned.min(self.daily_cap);
        DayPoints {
            steps,
            active_minutes,
            workouts,
            step_goal,
            streak,
            capped: earned - total,
            total,
            activity_score: self.activity_score(day),
        }
    }

    /// Whether `day` is the 7th, 14th, … consecutive active day of a run ending on it.
    pub fn completes_streak(&self, active_days: &BTreeSet<NaiveDate>, day: NaiveDate) -> bool {
        let mut run = 0u32;
        let mut cursor = Some(day);
        while let Some(d) = cursor.filter(|d| active_days.contains(d)) {
            run += 1;
            cursor = d.pred_opt();
        }
        run > 0 && run.is_multiple_of(self.streak_days.max(1))
    }
}

/// What a ledger entry did to a balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Points spent on something that was called off (a cancelled drawing's tickets) come back.
    Refund,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn activity() -> impl Strategy<Value = DayActivity> {
        (0u32..60_000, 0u32..300, 0u32..300, 0u32..300, 0u32..8).prop_map(|(steps, l, m, v, w)| DayActivity {
            steps,
            light_minutes: l,
            moderate_minutes: m,
            vigorous_minutes: v,
            workouts: w,
        })
    }

    #[test]
    fn the_rate_table() {
        let rates = RateTable::default();
        let points = |a: DayActivity| rates.day_points(&a, false);
        assert_eq!(points(DayActivity { steps: 9_999, ..Default::default() }).total, 90);
        assert_eq!(
            points(DayActivity { steps: 10_000, ..Default::default() }).total,
            200,
            "100 for steps + 100 goal bonus"
        );
        assert_eq!(points(DayActivity { steps: 35_000, ..Default::default() }).steps, 200, "steps count up to 20,000");
        assert_eq!(
            points(DayActivity { light_minutes: 10, moderate_minutes: 10, vigorous_minutes: 10, ..Default::default() })
                .total,
            60
        );
        assert_eq!(points(DayActivity { workouts: 5, ..Default::default() }).workouts, 150, "at most 3 workouts");
        assert_eq!(rates.day_points(&DayActivity::default(), true).total, 250);
        let huge = points(DayActivity { steps: 20_000, vigorous_minutes: 400, workouts: 3, ..Default::default() });
        assert_eq!(huge.total, 1_000);
        assert_eq!(huge.capped, 200 + 1_200 + 150 + 100 - 1_000);
    }

    #[test]
    fn streaks_pay_on_every_seventh_consecutive_day() {
        let rates = RateTable::default();
        let start = day(2026, 3, 1);
        let active: BTreeSet<_> = (0..15).map(|i| start + Days::new(i)).collect();
        let paid: Vec<_> = active.iter().filter(|d| rates.completes_streak(&active, **d)).copied().collect();
        assert_eq!(paid, [start + Days::new(6), start + Days::new(13)]);
        let mut broken = active.clone();
        broken.remove(&(start + Days::new(3)));
        assert!(!rates.completes_streak(&broken, start + Days::new(6)));
        assert!(rates.completes_streak(&broken, start + Days::new(10)));
        assert!(!rates.completes_streak(&active, start + Days::new(20)), "an inactive day completes nothing");
    }

    #[test]
    fn competition_days_follow_new_york_across_dst() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        // 23:30 in New York on 31 October (EDT, UTC-4), and on 1 November after clocks fell back (EST, UTC-5).
        assert_eq!(competition_day(at("2026-11-01T03:30:00Z")), day(2026, 10, 31));
        assert_eq!(competition_day(at("2026-11-02T04:30:00Z")), day(2026, 11, 1));
        assert_eq!(competition_day(at("2026-11-02T05:00:00Z")), day(2026, 11, 2));
        let hours = |d| {
            let (start, end) = day_bounds(d);
            (end - start).num_hours()
        };
        assert_eq!(hours(day(2026, 3, 8)), 23, "spring forward");
        assert_eq!(hours(day(2026, 11, 1)), 25, "fall back");
        assert_eq!(hours(day(2026, 7, 4)), 24);
        assert_eq!(day_bounds(day(2026, 7, 4)).0, at("2026-07-04T04:00:00Z"));
    }

    proptest! {
        #[test]
        fn the_cap_is_never_exceeded_and_only_cuts_what_is_over(a in activity(), streak in any::<bool>()) {
            let rates = RateTable::default();
            let p = rates.day_points(&a, streak);
            prop_assert!(p.total <= rates.daily_cap);
            prop_assert_eq!(p.total + p.capped, p.steps + p.active_minutes + p.workouts + p.step_goal + p.streak);
            prop_assert!(p.capped == 0 || p.total == rates.daily_cap);
            prop_assert!(p.workouts <= rates.max_workouts * rates.workout_bonus);
        }

        #[test]
        fn more_activity_never_earns_fewer_points(a in activity(), b in activity()) {
            let rates = RateTable::default();
            prop_assert!(rates.day_points(&a.merge(b), false).total >= rates.day_points(&a, false).total);
        }

        /// A day's points depend on what happened, not on the order records arrived in.
        #[test]
        fn arrival_order_does_not_change_the_total(records in prop::collection::vec(activity(), 1..8), seed in any::<u64>()) {
            let rates = RateTable::default();
            let in_order = records.iter().fold(DayActivity::default(), |acc, r| acc.merge(*r));
            let mut shuffled = records.clone();
            let n = shuffled.len();
            for i in 0..n {
                shuffled.swap(i, (seed as usize).wrapping_mul(i + 7) % n);
            }
            let reordered = shuffled.iter().fold(DayActivity::default(), |acc, r| acc.merge(*r));
            prop_assert_eq!(rates.day_points(&in_order, false), rates.day_points(&reordered, false));
        }

        /// Over a run of n consecutive active days, exactly n / 7 streak bonuses are paid.
        #[test]
        fn a_run_pays_one_bonus_per_full_week(n in 0u64..60, start_offset in 0u64..3_000) {
            let rates = RateTable::default();
            let start = day(2020, 1, 1) + Days::new(start_offset);
            let active: BTreeSet<_> = (0..n).map(|i| start + Days::new(i)).collect();
            let bonuses = active.iter().filter(|d| rates.completes_streak(&active, **d)).count() as u64;
            prop_assert_eq!(bonuses, n / 7);
        }

        #[test]
        fn every_instant_of_a_day_maps_back_to_it(offset in 0u64..4_000, secs in 0i64..(25 * 3600)) {
            let d = day(2024, 1, 1) + Days::new(offset);
            let (start, end) = day_bounds(d);
            let at = start + chrono::Duration::seconds(secs);
            prop_assert_eq!(competition_day(at) == d, at < end);
        }
    }
}
