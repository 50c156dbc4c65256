//! Anomaly detection: a day far above what the user's tier usually does is worth a human look.
//!
//! The measure of a day is its *activity score*: what the day would earn with no caps at all (see
//! [`RateTable::activity_score`]), so 60,000 shaken-phone steps stand out even though the daily
//! cap pays them like 20,000.
//!
//! A tier's baseline is a histogram of its days' scores in buckets of [`BUCKET_WIDTH`] points
//! (scores from [`TOP_BUCKET`] buckets up share the top one). Bucket counts add up across days,
//! months and partitions, which lets the store keep them as plain counters, and lets a recomputed
//! day move from its old bucket to its new one exactly. A day is anomalous above
//! `median + 3 · max(1.4826 · MAD, one bucket)`: 1.4826 · MAD estimates σ for normal data, so the
//! rule reads like the mean + 3σ it replaces, but median and MAD are robust. With mean and σ, ten
//! made-up accounts with one forged day each could lift the limit of a tier of forty far above
//! any shaken phone; with median and MAD, forged days must outnumber the honest ones to move the
//! limit beyond what the honest days alone allow (see the poisoning property in the tests).

use std::collections::BTreeMap;

use crate::RateTable;

/// A baseline this small says nothing about a tier yet; nobody is flagged against it.
pub const MIN_BASELINE_DAYS: i64 = 30;

/// A day is anomalous above `median + THRESHOLD_SPREADS · spread`.
pub const THRESHOLD_SPREADS: f64 = 3.0;

/// `1.4826 · MAD` is σ for normally distributed scores.
pub const MAD_TO_SIGMA: f64 = 1.4826;

/// Points per histogram bucket: fine enough to tell a busy day from a shaken phone (an ordinary
/// day scores 100 to 300), coarse enough that a tier's month is a few dozen counters.
pub const BUCKET_WIDTH: u32 = 25;

/// The last bucket holds every score from `TOP_BUCKET · BUCKET_WIDTH` (10,000) up, so forged
/// scores cannot add counters without end; a day above it is judged on its true score all the same.
pub const TOP_BUCKET: u32 = 400;

/// The spread never counts for less than one bucket: scores are only known to a bucket, and a
/// tier whose days are all alike (MAD 0) must not flag a day one bucket above the rest.
pub const MIN_SPREAD: f64 = BUCKET_WIDTH as f64;

/// Days per score bucket. As a change (see [`ScoreHistogram::change`]) counts may be negative;
/// zero counts are never kept, so histograms of the same days compare equal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScoreHistogram {
    counts: BTreeMap<u32, i64>,
}

/// A tier's baseline in points, as reported to reviewers and compared against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    /// The days it was computed from.
    pub days: i64,
    /// The (lower) median day, at the upper edge of its bucket: no day of the median bucket is above it.
    pub median: f64,
    /// The median absolute deviation from the median, in whole buckets.
    pub mad: f64,
    /// Above this a day is anomalous.
    pub limit: f64,
}

impl Baseline {
    /// The baseline of a median in bucket `median_bucket` and a MAD of `mad_buckets` buckets.
    fn new(median_bucket: u32, mad_buckets: u32, days: i64) -> Self {
        let median = f64::from((median_bucket + 1) * BUCKET_WIDTH);
        let mad = f64::from(mad_buckets * BUCKET_WIDTH);
        let limit = median + THRESHOLD_SPREADS * (MAD_TO_SIGMA * mad).max(MIN_SPREAD);
        Self { days, median, mad, limit }
    }

    pub fn is_anomalous(&self, score: u32) -> bool {
        f64::from(score) > self.limit
    }
}

impl ScoreHistogram {
    /// The bucket a score is counted in.
    pub fn bucket(score: u32) -> u32 {
        (score / BUCKET_WIDTH).min(TOP_BUCKET)
    }

    /// The name of a bucket's counter in the store.
    pub fn counter_name(bucket: u32) -> String {
        format!("b{bucket}")
    }

    pub fn of(scores: impl IntoIterator<Item = u32>) -> Self {
        let mut histogram = Self::default();
        for score in scores {
            histogram.add(Self::bucket(score), 1);
        }
        histogram
    }

    /// Reads the bucket counters (`b<bucket>`) out of stored counters; other names (`days`, keys,
    /// the counters of the former mean and σ) are ignored.
    pub fn from_counters<'a>(counters: impl IntoIterator<Item = (&'a str, i64)>) -> Self {
        let mut histogram = Self::default();
        for (name, days) in counters {
            let bucket = name
                .strip_prefix('b')
                .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|digits| digits.parse::<u32>().ok());
            if let Some(bucket) = bucket
                && bucket <= TOP_BUCKET
            {
                histogram.add(bucket, days);
            }
        }
        histogram
    }

    fn add(&mut self, bucket: u32, days: i64) {
        let count = self.counts.entry(bucket).or_insert(0);
        *count += days;
        if *count == 0 {
            self.counts.remove(&bucket);
        }
    }

    pub fn merge(mut self, other: Self) -> Self {
        for (bucket, days) in other.counts {
            self.add(bucket, days);
        }
        self
    }

    /// What to add to a baseline when a day's contribution goes from `old` to `new` (none: the
    /// day is not in the baseline): a day leaves its old bucket and enters its new one.
    pub fn change(old: Option<u32>, new: Option<u32>) -> Self {
        let mut change = Self::default();
        if let Some(old) = old {
            change.add(Self::bucket(old), -1);
        }
        if let Some(new) = new {
            change.add(Self::bucket(new), 1);
        }
        change
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The days counted (of a change: the days it adds).
    pub fn days(&self) -> i64 {
        self.counts.values().sum()
    }

    /// The counters to `ADD` to a stored baseline: `days`, and `b<bucket>` for every bucket that
    /// changes. Each name appears once (DynamoDB refuses an update naming an attribute twice).
    pub fn counters(&self) -> Vec<(String, i64)> {
        let mut counters = Vec::with_capacity(self.counts.len() + 1);
        let days = self.days();
        if days != 0 {
            counters.push(("days".to_owned(), days));
        }
        counters.extend(self.counts.iter().map(|(bucket, days)| (Self::counter_name(*bucket), *days)));
        counters
    }

    /// Median, MAD and limit, once the baseline holds [`MIN_BASELINE_DAYS`] days.
    ///
    /// Both are computed on bucket numbers: the median is the lower median bucket `m` (the
    /// bucket of the day at position ⌊(n − 1) / 2⌋ in score order), the MAD the lower median of
    /// the days' distances `|bucket − m|`, in buckets.
    pub fn baseline(&self) -> Option<Baseline> {
        // A negative count (a day removed from a tier it was never counted in) counts as empty.
        let counts: Vec<(u32, i64)> =
            self.counts.iter().filter(|(_, days)| **days > 0).map(|(bucket, days)| (*bucket, *days)).collect();
        let days: i64 = counts.iter().map(|(_, days)| days).sum();
        if days < MIN_BASELINE_DAYS {
            return None;
        }
        let median = lower_median(counts.iter().copied(), days);
        let mut distances: BTreeMap<u32, i64> = BTreeMap::new();
        for (bucket, count) in &counts {
            *distances.entry(bucket.abs_diff(median)).or_insert(0) += *count;
        }
        let mad = lower_median(distances, days);
        Some(Baseline::new(median, mad, days))
    }

    pub fn is_anomalous(&self, score: u32) -> bool {
        self.baseline().is_some_and(|baseline| baseline.is_anomalous(score))
    }
}

/// The value at position ⌊(days − 1) / 2⌋ of `days` values given as (value, count) in ascending order.
fn lower_median(counts: impl IntoIterator<Item = (u32, i64)>, days: i64) -> u32 {
    let position = (days - 1) / 2;
    let mut seen = 0;
    let mut value = 0;
    for (next, count) in counts {
        value = next;
        seen += count;
        if seen > position {
            break;
        }
    }
    value
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

    /// The rule this module replaced: population mean + 3σ (σ at least 1 point).
    fn mean_plus_three_sigma(scores: &[u32]) -> f64 {
        let n = scores.len() as f64;
        let mean = scores.iter().map(|s| f64::from(*s)).sum::<f64>() / n;
        let variance = scores.iter().map(|s| (f64::from(*s) - mean).powi(2)).sum::<f64>() / n;
        mean + 3.0 * variance.sqrt().max(1.0)
    }

    /// Ten days each in buckets 2 to 6 (scores 50, 75, 100, 125, 150).
    fn spread_tier() -> Vec<u32> {
        [50, 75, 100, 125, 150].into_iter().flat_map(|s| [s; 10]).collect()
    }

    #[test]
    fn a_day_three_spreads_above_the_tier_median_is_anomalous() {
        // Median bucket 4 (up to 125), MAD one bucket (25): limit 125 + 3 · 1.4826 · 25 ≈ 236.2.
        let baseline = ScoreHistogram::of(spread_tier()).baseline().unwrap();
        assert_eq!((baseline.days, baseline.median, baseline.mad), (50, 125.0, 25.0));
        assert!((baseline.limit - 236.195).abs() < 1e-9, "{baseline:?}");
        assert!(!baseline.is_anomalous(236));
        assert!(baseline.is_anomalous(237));
    }

    #[test]
    fn too_few_days_judge_nothing_and_the_spread_has_a_floor() {
        assert!(ScoreHistogram::of([100; 29]).baseline().is_none(), "29 days are too few to judge");
        assert!(!ScoreHistogram::of([100; 29]).is_anomalous(100_000));
        // All alike: MAD 0, the spread counts one bucket: 125 + 3 · 25.
        let alike = ScoreHistogram::of([100; 30]).baseline().unwrap();
        assert_eq!((alike.median, alike.mad, alike.limit), (125.0, 0.0, 200.0));
        assert!(!alike.is_anomalous(200));
        assert!(alike.is_anomalous(201));
    }

    #[test]
    fn scores_above_the_top_bucket_share_it_and_are_judged_on_their_true_score() {
        assert_eq!(ScoreHistogram::bucket(24), 0);
        assert_eq!(ScoreHistogram::bucket(25), 1);
        assert_eq!(ScoreHistogram::bucket(10_000), TOP_BUCKET);
        assert_eq!(ScoreHistogram::bucket(u32::MAX), TOP_BUCKET);
        let top = ScoreHistogram::of([50_000; 30]).baseline().unwrap();
        assert_eq!(top.limit, f64::from((TOP_BUCKET + 1) * BUCKET_WIDTH) + 75.0);
        assert!(top.is_anomalous(50_000), "a tier above the clamp is still judged on true scores");
    }

    #[test]
    fn counters_name_each_changed_bucket_once_and_read_back() {
        assert!(ScoreHistogram::change(Some(110), Some(120)).counters().is_empty(), "same bucket: nothing moves");
        assert!(ScoreHistogram::change(None, None).is_empty());
        assert_eq!(
            ScoreHistogram::change(Some(110), Some(660)).counters(),
            [("b4".to_owned(), -1), ("b26".to_owned(), 1)],
            "a recomputed day moves buckets; the number of days stays"
        );
        assert_eq!(
            ScoreHistogram::change(None, Some(30_000)).counters(),
            [("days".to_owned(), 1), ("b400".to_owned(), 1)]
        );
        assert_eq!(ScoreHistogram::change(Some(30), None).counters(), [("days".to_owned(), -1), ("b1".to_owned(), -1)]);

        let histogram = ScoreHistogram::of(spread_tier());
        let stored = histogram.counters();
        let mut with_noise: Vec<(&str, i64)> = stored.iter().map(|(name, days)| (name.as_str(), *days)).collect();
        with_noise.extend([("sum", 7), ("sum_of_squares", 49), ("b", 3), ("bx", 3), ("b+1", 3), ("b401", 3)]);
        assert_eq!(ScoreHistogram::from_counters(with_noise), histogram);
    }

    /// The attack the robust rule is for: a quarter as many forged days as honest ones, each
    /// 100,000, lift mean + 3σ from about 158 to about 140,000, so a 660-point shaken phone passes;
    /// median and MAD barely move (200 → 261), and it is still flagged.
    #[test]
    fn forged_days_lift_mean_and_sigma_but_not_median_and_mad() {
        let honest: Vec<u32> = [110, 120, 130, 140].into_iter().flat_map(|s| [s; 10]).collect();
        let forged = [100_000; 10];
        let poisoned: Vec<u32> = honest.iter().chain(&forged).copied().collect();
        let shaker = 660;

        assert!(f64::from(shaker) > mean_plus_three_sigma(&honest), "the old rule caught it among honest days");
        assert!(
            f64::from(shaker) < mean_plus_three_sigma(&poisoned),
            "and lets it pass once poisoned: limit {}",
            mean_plus_three_sigma(&poisoned)
        );

        let clean = ScoreHistogram::of(honest.iter().copied()).baseline().unwrap();
        let robust = ScoreHistogram::of(poisoned.iter().copied()).baseline().unwrap();
        assert_eq!((clean.median, clean.mad, clean.limit), (125.0, 0.0, 200.0));
        assert_eq!((robust.median, robust.mad), (150.0, 25.0), "{robust:?}");
        assert!(robust.limit < 262.0, "{robust:?}");
        assert!(clean.is_anomalous(shaker) && robust.is_anomalous(shaker));
        assert!(!robust.is_anomalous(140), "no honest day is flagged either");
    }

    proptest! {
        /// A day entering, moving and leaving the baseline through `change`, applied as the store
        /// applies it (`ADD` of each counter), leaves exactly the histogram of the days' final
        /// contributions, whatever the order of recomputations.
        #[test]
        fn changes_keep_the_histogram_exact(
            days in prop::collection::vec(
                prop::collection::vec(prop::option::of(0u32..200_000), 1..5),
                1..40,
            ),
        ) {
            let mut running = ScoreHistogram::default();
            let mut stored: BTreeMap<String, i64> = BTreeMap::new();
            let mut finals = Vec::new();
            for versions in &days {
                let mut current = None;
                for next in versions {
                    let change = ScoreHistogram::change(current, *next);
                    for (counter, delta) in change.counters() {
                        *stored.entry(counter).or_insert(0) += delta;
                    }
                    running = running.merge(change);
                    current = *next;
                }
                finals.extend(current);
            }
            let expected = ScoreHistogram::of(finals.iter().copied());
            prop_assert_eq!(&running, &expected);
            prop_assert_eq!(ScoreHistogram::from_counters(stored.iter().map(|(n, d)| (n.as_str(), *d))), expected);
            prop_assert_eq!(stored.get("days").copied().unwrap_or(0), finals.len() as i64);
        }

        /// Poisoning resistance. Let H be honest days (|H| = n ≥ 30), F forged days of any scores
        /// with |F| < n (here at most n/4), N = n + |F|, and a = bucket(min H), b = bucket(max H).
        ///
        /// - Median: it is the value at position k = ⌊(N − 1) / 2⌋. It lies above b only if at most
        ///   k values are ≤ b; at least n are, and n ≤ k needs |F| > n. It lies below a only if at
        ///   least k + 1 ≥ N / 2 values are below a; at most |F| are, and |F| ≥ N / 2 needs
        ///   |F| ≥ n. So a ≤ m ≤ b.
        /// - MAD: every honest distance |q − m| is then ≤ b − a, so at least n distances are, and
        ///   the lower median distance exceeds b − a only if n ≤ k, again |F| > n. So MAD ≤ b − a.
        /// - The limit `(m + 1)·W + 3 · max(1.4826 · MAD·W, W)` grows with m and MAD (float
        ///   rounding is monotone too), so limit(H ∪ F) ≤ limit of (b, b − a), whatever F holds.
        /// - In points: b·W ≤ max H, and (b − a)·W ≤ max H − min H + W − 1 (a·W > min H − W,
        ///   or a = b when min H is in the top bucket). So
        ///   limit(H ∪ F) ≤ max H + W + 3 · max(1.4826 · (max H − min H + W), W),
        ///   i.e. at most max H + 3·1.4826·(max H − min H) + (1 + 3·1.4826)·W, W = 25.
        #[test]
        fn forged_minorities_cannot_lift_the_limit_beyond_the_honest_days(
            honest in prop::collection::vec(0u32..20_000, 30..200),
            forged in prop::collection::vec(0u32..=100_000, 0..50),
        ) {
            let forged = &forged[..forged.len().min(honest.len() / 4)];
            let (min, max) = (*honest.iter().min().unwrap(), *honest.iter().max().unwrap());
            let (a, b) = (ScoreHistogram::bucket(min), ScoreHistogram::bucket(max));
            let baseline = ScoreHistogram::of(honest.iter().chain(forged).copied()).baseline().unwrap();

            prop_assert!(baseline.median >= f64::from((a + 1) * BUCKET_WIDTH), "{baseline:?}");
            prop_assert!(baseline.median <= f64::from((b + 1) * BUCKET_WIDTH), "{baseline:?}");
            prop_assert!(baseline.mad <= f64::from((b - a) * BUCKET_WIDTH), "{baseline:?}");
            let bound_in_buckets = Baseline::new(b, b - a, 0).limit;
            prop_assert!(baseline.limit <= bound_in_buckets, "{baseline:?} above {bound_in_buckets}");
            let bound_in_points = f64::from(max + BUCKET_WIDTH)
                + THRESHOLD_SPREADS * (MAD_TO_SIGMA * f64::from(max - min + BUCKET_WIDTH)).max(MIN_SPREAD);
            prop_assert!(baseline.limit <= bound_in_points, "{baseline:?} above {bound_in_points}");
        }
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
}
