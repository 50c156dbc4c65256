//! A simulated tracker for `fittrack serve` and demos: realistic days (hourly step counts through
//! the waking day, a workout most evenings) that are the same every time they are fetched, so
//! syncing twice changes nothing, as with a real tracker.

use async_trait::async_trait;
use chrono::{DateTime, Days, Duration, NaiveDate, TimeZone, Utc};

use fittrack_domain::UserId;
use fittrack_domain::activity::{Activity, ActivityKind, IntensityMinutes};
use fittrack_domain::points::COMPETITION_TIME_ZONE;
use fittrack_platform::ports::{TrackerError, TrackerProvider};

#[derive(Debug, Default, Clone, Copy)]
pub struct SimulatedTracker;

/// splitmix64: tiny, deterministic, and plenty for made-up step counts.
struct Dice(u64);

impl Dice {
    fn new(user: UserId, day: NaiveDate) -> Self {
        let id = user
            .to_string()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        Self(id ^ (day.to_string().bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

fn local(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let naive = day.and_hms_opt(hour, minute, 0).unwrap_or_default();
    COMPETITION_TIME_ZONE
        .from_local_datetime(&naive)
        .earliest()
        .map_or_else(|| naive.and_utc(), |t| t.with_timezone(&Utc))
}

/// Everything the simulated person did on `day`.
pub fn simulated_day(user: UserId, day: NaiveDate) -> Vec<Activity> {
    let mut dice = Dice::new(user, day);
    let record =
        |id: String, kind, start: DateTime<Utc>, minutes: i64, steps, intensity: IntensityMinutes, workout| Activity {
            source: "simulated".into(),
            source_id: id,
            kind,
            start,
            end: start + Duration::minutes(minutes),
            steps,
            minutes: intensity,
            workout,
            received_at: start + Duration::minutes(minutes),
        };
    let mut records = Vec::new();
    for hour in 7..21 {
        let steps = dice.below(1_100) as u32;
        let light = (steps / 200).min(15);
        let intensity = IntensityMinutes { light, ..Default::default() };
        records.push(record(
            format!("{day}-h{hour}"),
            ActivityKind::Steps,
            local(day, hour, 0),
            60,
            steps,
            intensity,
            false,
        ));
    }
    if dice.below(10) < 6 {
        let minutes = 20 + dice.below(35) as i64;
        let intensity =
            IntensityMinutes { moderate: (minutes / 2) as u32, vigorous: (minutes / 2) as u32, ..Default::default() };
        let steps = (minutes as u32) * (140 + dice.below(30) as u32);
        records.push(record(
            format!("{day}-run"),
            ActivityKind::Run,
            local(day, 18, 15),
            minutes,
            steps,
            intensity,
            true,
        ));
    }
    records
}

#[async_trait]
impl TrackerProvider for SimulatedTracker {
    fn name(&self) -> &'static str {
        "simulated"
    }

    async fn fetch(
        &self,
        _access_token: Option<&str>,
        user: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Activity>, TrackerError> {
        let first = from.with_timezone(&COMPETITION_TIME_ZONE).date_naive();
        let last = to.with_timezone(&COMPETITION_TIME_ZONE).date_naive();
        let mut records = Vec::new();
        let mut day = first;
        while day <= last {
            records.extend(simulated_day(user, day).into_iter().filter(|r| r.end >= from && r.end < to));
            day = day + Days::new(1);
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn days_are_plausible_and_the_same_on_every_fetch() {
        let user = UserId::generate();
        let day = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let records = simulated_day(user, day);
        let steps: u32 = records.iter().map(|r| r.steps).sum();
        assert!((1_000..25_000).contains(&steps), "{steps} steps");
        assert_eq!(records, simulated_day(user, day));
        let from: DateTime<Utc> = "2026-06-01T00:00:00Z".parse().unwrap();
        let to = from + Duration::days(2);
        let a = SimulatedTracker.fetch(None, user, from, to).await.unwrap();
        assert_eq!(a, SimulatedTracker.fetch(None, user, from, to).await.unwrap());
        assert!(a.iter().all(|r| r.end >= from && r.end < to));
    }
}
