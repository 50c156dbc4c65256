//! Anomaly detection: a day far above what the user's tier usually does is worth a human look.
//!
//! The measure of a day is its *activity score*: what the day would earn with no caps at all (see
//! [`RateTable::activity_score`]), so 60,000 shaken-phone steps stand out even though the daily
//! cap pays them like 20,000. A tier's baseline is the count, sum and sum of squares of its days'
//! scores; those three add up across days, months and partitions, which lets the store keep them
//! as plain counters and lets a recomputed day replace its old score exactly.

use serde::{Deserialize, Serialize};

use crate::RateTable;

/// A baseline this small says nothing about a tier yet; nobody is flagged against it.
pub const MIN_BASELINE_DAYS: i64 = 30;

/// A day is anomalous above `mean + THRESHOLD_SIGMAS · σ`.
pub const THRESHOLD_SIGMAS: f64 = 3.0;

/// A tier whose days are all alike has σ near 0; one point of spread at least keeps a day of 101
/// points among days of 100 from being "infinitely" unusual.
const MIN_SIGMA: f64 = 1.0;

/// Scores enter the baseline clamped, so squares stay far inside `i64` even with forged data; a
/// day above the clamp is judged on its true score all the same.
pub const MAX_BASELINE_SCORE: u32 = 100_000;

/// Count, sum and sum of squares of day scores: the moments the mean and σ come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScoreStats {
    pub days: i64,
    pub sum: i64,
    pub sum_of_squares: i64,
}

impl ScoreStats {
    pub fn of(scores: impl IntoIterator<Item = u32>) -> Self {
        scores.into_iter().fold(Self::default(), |acc, s| acc.merge(Self::one(s)))
    }

    fn one(score: u32) -> Self {
        let s = i64::from(score.min(MAX_BASELINE_SCORE));
        Self { days: 1, sum: s, sum_of_squares: s * s }
    }

    pub fn merge(self, other: Self) -> Self {
        Self {
            days: self.days + other.days,
            sum: self.sum + other.sum,
            sum_of_squares: self.sum_of_squares + other.sum_of_squares,
        }
    }

    /// What to add to a baseline when a day's score goes from `old` (none: a new day) to `new`.
    pub fn change(old: Option<u32>, new: u32) -> Self {
        let added = Self::one(new);
        match old {
            None => added,
            Some(old) => {
                let removed = Self::one(old);
                Self {
                    days: 0,
                    sum: added.sum - removed.sum,
                    sum_of_squares: added.sum_of_squares - removed.sum_of_squares,
                }
            }
        }
    }

    pub fn mean(&self) -> f64 {
        if self.days <= 0 { 0.0 } else { self.sum as f64 / self.days as f64 }
    }

    /// Population standard deviation.
    pub fn std_dev(&self) -> f64 {
        if self.days <= 0 {
            return 0.0;
        }
        let mean = self.mean();
        (self.sum_of_squares as f64 / self.days as f64 - mean * mean).max(0.0).sqrt()
    }

    /// The score above which a day is anomalous, once the baseline is large enough to judge.
    pub fn threshold(&self) -> Option<f64> {
        (self.days >= MIN_BASELINE_DAYS).then(|| self.mean() + THRESHOLD_SIGMAS * self.std_dev().max(MIN_SIGMA))
    }

    pub fn is_anomalous(&self, score: u32) -> bool {
        self.threshold().is_some_and(|limit| f64::from(score) > limit)
    }
}

impl RateTable {
    /// What a day would earn with no caps and no bonuses: every step block, every minute by
    /// intensity, every workout.
    pub fn activity_score(&self, day: &crate::DayActivity) -> u32 {
        (day.steps / self.steps_per_block.max(1))
            .saturating_mul(self.points_per_step_block)
            .saturating_add(day.light_minutes.saturating_mul(self.light_minute))
            .saturating_add(day.moderate_minutes.saturating_mul(self.moderate_minute))
            .saturating_add(day.vigorous_minutes.saturating_mul(self.vigorous_minute))
            .saturating_add(day.workouts.saturating_mul(self.workout_bonus))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DayActivity;
    use proptest::prelude::*;

    #[test]
    fn a_day_three_sigmas_above_the_tier_is_anomalous() {
        // Half the tier scores 100, half 300: mean 200, σ 100, threshold 500.
        let baseline = ScoreStats::of((0..40).map(|i| if i % 2 == 0 { 100 } else { 300 }));
        assert_eq!(baseline.mean(), 200.0);
        assert_eq!(baseline.std_dev(), 100.0);
        assert!(!baseline.is_anomalous(500), "exactly 3σ above is not more than 3σ");
        assert!(baseline.is_anomalous(501));
        assert!(!ScoreStats::of([100; 29]).is_anomalous(10_000), "29 days are too few to judge");
        assert!(ScoreStats::of([100; 30]).is_anomalous(104), "σ has a floor of one point");
        assert!(!ScoreStats::of([100; 30]).is_anomalous(103));
    }

    #[test]
    fn the_score_ignores_caps() {
        let rates = RateTable::default();
        let shaken = DayActivity { steps: 60_000, ..DayActivity::default() };
        assert_eq!(rates.day_points(&shaken, false).steps, 200);
        assert_eq!(rates.activity_score(&shaken), 600);
        let busy = DayActivity { light_minutes: 10, moderate_minutes: 10, vigorous_minutes: 10, workouts: 5, steps: 0 };
        assert_eq!(rates.activity_score(&busy), 60 + 250);
    }

    proptest! {
        /// Replacing a day's score through `change` leaves exactly the baseline of the new scores,
        /// whatever the order of recomputations.
        #[test]
        fn changes_keep_the_baseline_exact(
            days in prop::collection::vec((0u32..200_000, prop::collection::vec(0u32..200_000, 0..4)), 1..40),
        ) {
            let mut running = ScoreStats::default();
            let mut finals = Vec::new();
            for (first, revisions) in &days {
                running = running.merge(ScoreStats::change(None, *first));
                let mut current = *first;
                for next in revisions {
                    running = running.merge(ScoreStats::change(Some(current), *next));
                    current = *next;
                }
                finals.push(current);
            }
            prop_assert_eq!(running, ScoreStats::of(finals));
        }

        /// Chebyshev: at most 1/9 of a tier's own days can lie more than 3σ above its mean, so the
        /// rule can never flag a large share of honest users.
        #[test]
        fn at_most_a_ninth_of_a_tier_is_anomalous_to_itself(scores in prop::collection::vec(0u32..5_000, 30..200)) {
            let baseline = ScoreStats::of(scores.iter().copied());
            let flagged = scores.iter().filter(|s| baseline.is_anomalous(**s)).count();
            prop_assert!(flagged * 9 <= scores.len(), "{flagged} of {}", scores.len());
        }
    }
}
