//! One activity model for every tracker, and the rules that decide which records count:
//! duplicates (same kind, overlapping time) are resolved by priority — the user's primary
//! tracker, then the most detailed record, then the first received — so re-syncing, or two
//! trackers seeing the same walk, never counts twice.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::points::{DayActivity, competition_day};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// Step counts outside any workout (a tracker's step samples).
    Steps,
    Walk,
    Run,
    Cycle,
    Swim,
    Strength,
    Other,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntensityMinutes {
    pub light: u32,
    pub moderate: u32,
    pub vigorous: u32,
}

/// Records older than this are neither uploaded nor synced: they would rewrite settled days.
pub const MAX_RECORD_AGE_DAYS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Activity {
    /// The tracker it came from (`google_health`, `strava`, `device`, `simulated`).
    pub source: String,
    /// The tracker's own id: with `source`, the identity of the record across re-syncs.
    pub source_id: String,
    pub kind: ActivityKind,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub steps: u32,
    pub minutes: IntensityMinutes,
    /// A deliberate workout (earns the workout bonus), as opposed to background movement.
    pub workout: bool,
    pub received_at: DateTime<Utc>,
}

impl Activity {
    fn identity(&self) -> (&str, &str) {
        (&self.source, &self.source_id)
    }

    /// What any record must be before the rules see it, wherever it came from: it ends after it
    /// starts, lasts at most a day, is not in the future and not older than the rules look back.
    /// Provider data that is not is dropped (a device upload with such a record is refused).
    pub fn is_plausible(&self, now: DateTime<Utc>) -> bool {
        let duration = self.end - self.start;
        duration > chrono::TimeDelta::zero()
            && duration <= chrono::TimeDelta::hours(24)
            && self.end <= now + chrono::TimeDelta::minutes(5)
            && self.start >= now - chrono::TimeDelta::days(MAX_RECORD_AGE_DAYS)
    }

    /// Same kind and overlapping time: the same movement seen twice.
    pub fn duplicates(&self, other: &Activity) -> bool {
        self.kind == other.kind && self.start < other.end && other.start < self.end
    }

    /// How many measures the record carries; richer records win ties between trackers.
    pub fn detail(&self) -> u32 {
        let m = &self.minutes;
        [self.steps > 0, m.light > 0, m.moderate > 0, m.vigorous > 0, self.workout].into_iter().filter(|x| *x).count()
            as u32
    }
}

/// The records that count, in start order. Order of arrival does not matter, and applying it
/// again changes nothing. A record re-sent with the same identity replaces the earlier version
/// (the tracker corrected it) but keeps its first arrival time for priority.
pub fn deduplicate(records: &[Activity], primary_source: Option<&str>) -> Vec<Activity> {
    let mut versions: BTreeMap<(&str, &str), Vec<&Activity>> = BTreeMap::new();
    for record in records {
        versions.entry(record.identity()).or_default().push(record);
    }
    // The newest version wins (identical arrival times fall back to a total order, so the outcome
    // never depends on input order) and ranks by its first arrival.
    let latest = versions.into_values().filter_map(|group| {
        let first_arrival = group.iter().map(|r| r.received_at).min()?;
        let newest = group.into_iter().max_by(|a, b| (a.received_at, *a).cmp(&(b.received_at, *b)))?;
        Some(Activity { received_at: first_arrival, ..newest.clone() })
    });
    let mut candidates: Vec<Activity> = latest.collect();
    candidates.sort_by(|a, b| {
        let rank =
            |x: &Activity| (Reverse(primary_source == Some(x.source.as_str())), Reverse(x.detail()), x.received_at);
        rank(a).cmp(&rank(b)).then_with(|| a.identity().cmp(&b.identity()))
    });
    let mut kept: Vec<Activity> = Vec::new();
    for candidate in candidates {
        if !kept.iter().any(|k| k.duplicates(&candidate)) {
            kept.push(candidate);
        }
    }
    kept.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.identity().cmp(&b.identity())));
    kept
}

/// What counted on one competition day: records are assigned to the day they start on.
pub fn day_totals(counted: &[Activity], day: NaiveDate) -> DayActivity {
    counted.iter().filter(|a| competition_day(a.start) == day).fold(DayActivity::default(), |acc, a| {
        acc.merge(DayActivity {
            steps: a.steps,
            light_minutes: a.minutes.light,
            moderate_minutes: a.minutes.moderate,
            vigorous_minutes: a.minutes.vigorous,
            workouts: u32::from(a.workout),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    fn at(minute: i64) -> DateTime<Utc> {
        "2026-06-01T12:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(minute)
    }

    fn record(source: &str, id: &str, kind: ActivityKind, start: i64, len: i64, steps: u32, received: i64) -> Activity {
        Activity {
            source: source.into(),
            source_id: id.into(),
            kind,
            start: at(start),
            end: at(start + len),
            steps,
            minutes: IntensityMinutes { moderate: u32::try_from(len).unwrap_or(0), ..Default::default() },
            workout: kind != ActivityKind::Steps,
            received_at: at(received),
        }
    }

    #[test]
    fn overlapping_records_of_the_same_kind_count_once_by_priority() {
        let strava = record("strava", "s1", ActivityKind::Run, 0, 30, 0, 100);
        let mut watch = record("google_health", "g1", ActivityKind::Run, 5, 30, 4_000, 50);
        let other_kind = record("google_health", "g2", ActivityKind::Steps, 0, 60, 1_000, 50);

        // Most detailed wins without a primary tracker (the watch has steps too).
        let kept = deduplicate(&[strava.clone(), watch.clone(), other_kind.clone()], None);
        assert_eq!(kept.iter().map(|a| a.source_id.as_str()).collect::<Vec<_>>(), ["g2", "g1"]);
        // The primary tracker wins over detail.
        let kept = deduplicate(&[strava.clone(), watch.clone()], Some("strava"));
        assert_eq!(kept, std::slice::from_ref(&strava));
        // Equal detail and no primary: the first received wins.
        watch.steps = 0;
        let kept = deduplicate(&[strava.clone(), watch.clone()], None);
        assert_eq!(kept[0].source_id, "g1");
    }

    #[test]
    fn a_corrected_record_replaces_its_earlier_version() {
        let first = record("strava", "s1", ActivityKind::Run, 0, 30, 0, 10);
        let mut corrected = first.clone();
        corrected.minutes.moderate = 45;
        corrected.received_at = at(20);
        let kept = deduplicate(&[corrected.clone(), first.clone()], None);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].minutes.moderate, 45);
        assert_eq!(kept[0].received_at, at(10), "priority keeps the first arrival");
    }

    #[test]
    fn days_are_assigned_by_start_in_new_york() {
        let late = Activity {
            start: "2026-06-02T03:30:00Z".parse().unwrap(),
            ..record("device", "d", ActivityKind::Walk, 0, 20, 2_500, 0)
        };
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(day_totals(std::slice::from_ref(&late), day("2026-06-01")).steps, 2_500, "23:30 in New York");
        assert_eq!(day_totals(&[late], day("2026-06-02")).steps, 0);
    }

    fn activity() -> impl Strategy<Value = Activity> {
        (0usize..3, 0u8..6, 0usize..3, 0i64..600, 1i64..90, 0u32..5_000, 0i64..1_000, any::<bool>()).prop_map(
            |(source, id, kind, start, len, steps, received, workout)| Activity {
                source: ["strava", "google_health", "device"][source].into(),
                source_id: format!("id{id}"),
                kind: [ActivityKind::Steps, ActivityKind::Run, ActivityKind::Walk][kind],
                start: at(start),
                end: at(start + len),
                steps,
                minutes: IntensityMinutes { light: (len / 3) as u32, ..Default::default() },
                workout,
                received_at: at(received),
            },
        )
    }

    proptest! {
        #[test]
        fn kept_records_never_overlap(records in prop::collection::vec(activity(), 0..30)) {
            let kept = deduplicate(&records, None);
            for (i, a) in kept.iter().enumerate() {
                for b in &kept[i + 1..] {
                    prop_assert!(!a.duplicates(b));
                }
            }
        }

        #[test]
        fn arrival_order_and_resyncs_change_nothing(records in prop::collection::vec(activity(), 0..30), primary in any::<bool>()) {
            let primary = primary.then_some("device");
            let once = deduplicate(&records, primary);
            let mut reversed = records.clone();
            reversed.reverse();
            prop_assert_eq!(deduplicate(&reversed, primary), once.clone());
            let mut twice = records.clone();
            twice.extend(records.iter().cloned());
            prop_assert_eq!(deduplicate(&twice, primary), once.clone());
            prop_assert_eq!(deduplicate(&once, primary), once);
        }

        #[test]
        fn the_primary_tracker_is_never_dropped_for_another(records in prop::collection::vec(activity(), 0..30)) {
            let kept = deduplicate(&records, Some("device"));
            // Every device record that survived its own re-sends is kept unless it overlaps
            // another device record that outranks it.
            for record in deduplicate(&records.iter().filter(|r| r.source == "device").cloned().collect::<Vec<_>>(), Some("device")) {
                let covered = kept.iter().any(|k| k.source == "device" && k.duplicates(&record));
                prop_assert!(covered);
            }
        }
    }

    #[test]
    fn only_plausible_records_reach_the_rules() {
        let now = at(0);
        let ok = record("strava", "a", ActivityKind::Run, -60, 30, 0, 0);
        assert!(ok.is_plausible(now));
        let backwards = Activity { end: ok.start, ..ok.clone() };
        let too_long = Activity { end: ok.start + Duration::hours(25), ..ok.clone() };
        let future = Activity { start: now + Duration::hours(1), end: now + Duration::hours(2), ..ok.clone() };
        let ancient = Activity {
            start: now - Duration::days(400),
            end: now - Duration::days(400) + Duration::hours(1),
            ..ok.clone()
        };
        for bad in [backwards, too_long, future, ancient] {
            assert!(!bad.is_plausible(now), "{bad:?}");
        }
    }
}
