//! From activity records to booked points: store the records (idempotently, by the tracker's
//! id), then recompute every affected day from everything stored for it — de-duplicated by
//! priority, scored by the rate table, streaks included — and book the difference.
//!
//! Because each day is recomputed from the full set of its records, the result does not depend on
//! how records were split into syncs or in what order they arrived.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::NaiveDate;

use fittrack_domain::activity::{Activity, day_totals, deduplicate};
use fittrack_domain::{RateTable, UserId, competition_day};

use super::{Booking, LedgerError, PointsLedger, keys};
use fittrack_platform::clock::Clock;
use fittrack_platform::ports::{Key, Query, StoreError, Table, from_item, to_item};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How far back a streak is looked for: a run longer than this pays as if it were this long.
const STREAK_LOOKBACK_DAYS: u32 = 400;
/// Records stored at once by one ingest (each is a few independent reads and writes).
const STORE_CONCURRENCY: usize = 16;
/// How long one ingest keeps recomputing days that other writers of the same user keep changing
/// (each lost race means another writer made progress) before it answers busy: well inside a
/// function's 10 s, and its pending markers make sure the days are booked later all the same.
const BOOKING_DEADLINE: std::time::Duration = std::time::Duration::from_secs(4);
/// A pending-day marker this old belongs to a writer that failed (or was stopped) before booking
/// the day: the next ingest of the user books it.
const LEFTOVER_AFTER: chrono::Duration = chrono::Duration::minutes(2);
/// Days older than yesterday that one ingest may add to the tier baseline: a bulk upload of
/// history is booked in full, but cannot reshape what the tier's days look like.
const MAX_PAST_BASELINE_DAYS: u32 = 2;

/// One ingest's pending markers: its id, and the days it marked.
#[derive(Clone)]
struct Pending {
    writer: String,
    marked: Arc<std::sync::Mutex<BTreeSet<NaiveDate>>>,
}

/// A record as stored: the newest version the tracker sent, and when its first version arrived.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredActivity {
    pk: String,
    sk: String,
    #[serde(flatten)]
    activity: Activity,
    first_received_at: chrono::DateTime<chrono::Utc>,
}

/// Whether a booked day earned activity points of its own (what makes it count for a streak).
fn booked_day_was_active(item: &fittrack_platform::ports::Item) -> bool {
    let points: fittrack_domain::DayPoints =
        item.get("points").cloned().and_then(|p| serde_json::from_value(p).ok()).unwrap_or_default();
    points.steps > 0 || points.active_minutes > 0 || points.workouts > 0
}

#[derive(Clone)]
pub struct PointsEngine {
    ledger: PointsLedger,
    antigaming: crate::antigaming::AntiGaming,
    users: fittrack_users::UserDirectory,
    pub(super) store: Arc<dyn fittrack_platform::ports::ItemStore>,
    clock: Arc<dyn Clock>,
    rates: RateTable,
}

impl PointsEngine {
    pub fn new(store: Arc<dyn fittrack_platform::ports::ItemStore>, clock: Arc<dyn Clock>, rates: RateTable) -> Self {
        Self {
            ledger: PointsLedger::new(Arc::clone(&store), Arc::clone(&clock)),
            antigaming: crate::antigaming::AntiGaming::new(Arc::clone(&store), Arc::clone(&clock)),
            users: fittrack_users::UserDirectory::new(Arc::clone(&store)),
            store,
            clock,
            rates,
        }
    }

    pub(super) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Today's competition day.
    pub fn today(&self) -> NaiveDate {
        competition_day(self.clock.now())
    }

    pub fn ledger(&self) -> &PointsLedger {
        &self.ledger
    }

    pub fn antigaming(&self) -> &crate::antigaming::AntiGaming {
        &self.antigaming
    }

    /// Stores `records` and books every day they change. Returns the bookings made, by day.
    ///
    /// Safe against concurrent writers of the same user (two phones uploading, a sync racing an
    /// upload): each day is computed from a read taken at one activity revision and booked only if
    /// the revision is still the same, else recomputed. So once every writer is done, every
    /// booked day equals what its stored records earn.
    ///
    /// # Errors
    /// [`EngineError::Ledger`] with [`LedgerError::Busy`] when the user's data keeps changing
    /// under it; store failures.
    pub async fn ingest(
        &self,
        user: UserId,
        primary_source: Option<&str>,
        records: &[Activity],
    ) -> Result<Vec<(NaiveDate, Booking)>, EngineError> {
        // Days a failed writer left unbooked are booked by this one.
        let leftovers = self.leftover_days(user).await?;
        // Before a record is written, its day is marked pending by this writer, so a crash between
        // storing and booking leaves a marker, not a day that silently lacks the record.
        let pending = Pending { writer: uuid::Uuid::new_v4().simple().to_string(), marked: Default::default() };
        let mut affected = self.store_records(user, records, &pending).await?;
        affected.extend(leftovers.keys().copied());
        // After the records are stored: a booking computed before they were read now fails.
        let touched = if affected.is_empty() { 0 } else { self.ledger.touch_activity(user).await? };
        let bookings = match self.book_days(user, primary_source, affected, touched).await {
            Ok(bookings) => bookings,
            Err(error) => {
                // Gave up (busy) or failed: the user's next ingest, typically the client's retry,
                // takes these days over at once instead of after the leftover delay.
                self.abandon(user, &pending).await;
                return Err(error);
            }
        };
        let marked: Vec<NaiveDate> =
            pending.marked.lock().map(|days| days.iter().copied().collect()).unwrap_or_default();
        let markers = marked.into_iter().map(|day| keys::pending_day_key(user, day, &pending.writer));
        for key in markers.chain(leftovers.into_values().flatten()).collect::<Vec<_>>() {
            self.store.delete(Table::Points, &key, None).await?;
        }
        Ok(bookings)
    }

    /// Hands this writer's pending days to the next ingest (best effort: if it fails too, the
    /// markers become leftovers after [`LEFTOVER_AFTER`] all the same).
    async fn abandon(&self, user: UserId, pending: &Pending) {
        let days: Vec<NaiveDate> = pending.marked.lock().map(|d| d.iter().copied().collect()).unwrap_or_default();
        for day in days {
            let key = keys::pending_day_key(user, day, &pending.writer);
            let marker = serde_json::json!({"pk": key.pk, "sk": key.sk, "created_at": 0});
            if let Ok(item) = to_item(&marker) {
                let _ = self.store.put(Table::Points, item, None).await;
            }
        }
    }

    /// Marks `day` pending for this writer, once per ingest.
    async fn mark_pending(&self, user: UserId, pending: &Pending, day: NaiveDate) -> Result<(), StoreError> {
        let first = pending.marked.lock().is_ok_and(|mut days| days.insert(day));
        if first {
            let key = keys::pending_day_key(user, day, &pending.writer);
            let marker = serde_json::json!({"pk": key.pk, "sk": key.sk, "created_at": self.clock.now().timestamp()});
            self.store.put(Table::Points, to_item(&marker)?, None).await?;
        }
        Ok(())
    }

    /// Days whose pending markers outlived their writer, with those markers.
    async fn leftover_days(&self, user: UserId) -> Result<std::collections::BTreeMap<NaiveDate, Vec<Key>>, StoreError> {
        let stale_before = (self.clock.now() - LEFTOVER_AFTER).timestamp();
        let page = self
            .store
            .query(Query::partition(Table::Points, keys::user_partition(user)).sort_prefix(keys::PENDING).limit(100))
            .await?;
        let mut days: std::collections::BTreeMap<NaiveDate, Vec<Key>> = std::collections::BTreeMap::new();
        for item in page.items {
            let created_at = item.get("created_at").and_then(serde_json::Value::as_i64).unwrap_or(0);
            let key = fittrack_platform::ports::store::key_of(&item)?;
            let day = keys::day_of_pending_sort_key(&key.sk);
            if let (Some(day), true) = (day, created_at < stale_before) {
                days.entry(day).or_default().push(key);
            }
        }
        Ok(days)
    }

    /// Stores the records, a few at a time (each is independent: its own items). Returns the days
    /// whose records changed.
    async fn store_records(
        &self,
        user: UserId,
        records: &[Activity],
        pending: &Pending,
    ) -> Result<BTreeSet<NaiveDate>, EngineError> {
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        // Two versions of one record in a batch: only the newest is a write of its own.
        let mut newest: std::collections::BTreeMap<(&str, &str), &Activity> = std::collections::BTreeMap::new();
        for record in records {
            let slot = newest.entry((record.source.as_str(), record.source_id.as_str())).or_insert(record);
            if (record.received_at, record) > (slot.received_at, *slot) {
                *slot = record;
            }
        }
        // Owned futures: borrowed ones trip the compiler's `Send` check for spawned callers.
        let writes: Vec<_> = newest
            .into_values()
            .map(|record| {
                let (engine, record, pending) = (self.clone(), record.clone(), pending.clone());
                async move { engine.store_record(user, &record, &pending).await }
            })
            .collect();
        let changed: Vec<Option<Vec<NaiveDate>>> =
            stream::iter(writes).buffer_unordered(STORE_CONCURRENCY).try_collect().await?;
        Ok(changed.into_iter().flatten().flatten().collect())
    }

    /// Recomputes and books `days`, and every later day whose streak they may change. `touched`
    /// is the activity revision right after this writer stored its records.
    async fn book_days(
        &self,
        user: UserId,
        primary_source: Option<&str>,
        mut pending: BTreeSet<NaiveDate>,
        touched: u64,
    ) -> Result<Vec<(NaiveDate, Booking)>, EngineError> {
        // The revision after this writer's last write: a day another writer booked from a read at
        // or past it already holds everything this writer did, so it is left alone. Under many
        // concurrent writers of one user, one booking then serves them all.
        let mut floor = touched;
        let mut bookings = Vec::new();
        let mut tier = None;
        let mut past_admitted = 0;
        let mut lost_races = 0;
        let deadline = tokio::time::Instant::now() + BOOKING_DEADLINE;
        while let Some(day) = pending.pop_first() {
            match self.book_day(user, day, primary_source, &mut tier, &mut past_admitted, &mut floor).await {
                Ok(booking) => {
                    if booking != Booking::Unchanged {
                        bookings.push((day, booking));
                    }
                    // A changed day can start, extend or break a streak, which changes the bonus
                    // of every later day in the same run of active days: recompute those too.
                    if let Some(next) = day.succ_opt()
                        && !pending.contains(&next)
                        && self.ledger.booked_day(user, next).await?.is_some_and(|b| b.was_active())
                    {
                        pending.insert(next);
                    }
                }
                Err(EngineError::Ledger(LedgerError::Stale)) => {
                    // Another writer changed the user's activity since this day was read.
                    lost_races += 1;
                    if tokio::time::Instant::now() >= deadline {
                        return Err(LedgerError::Busy.into());
                    }
                    super::backoff(lost_races).await;
                    pending.insert(day);
                }
                Err(other) => return Err(other),
            }
        }
        Ok(bookings)
    }

    /// Computes one day from everything stored for it and books it, if nothing the computation
    /// read has changed by then. `past_admitted` counts the days older than yesterday this
    /// ingest has added to the tier baseline.
    async fn book_day(
        &self,
        user: UserId,
        day: NaiveDate,
        primary_source: Option<&str>,
        tier: &mut Option<Option<String>>,
        past_admitted: &mut u32,
        floor: &mut u64,
    ) -> Result<Booking, EngineError> {
        // Read first: every read below is at least as new as this revision.
        let read = self.ledger.balance(user).await?;
        let booked = self.ledger.booked_day(user, day).await?;
        if *floor > 0 && booked.as_ref().is_some_and(|b| b.computed_rev >= *floor) {
            return Ok(Booking::Unchanged);
        }
        let counted = deduplicate(&self.records_of(user, day).await?, primary_source);
        let activity = day_totals(&counted, day);
        let mut active = self.active_days_before(user, day).await?;
        if self.rates.is_active(&activity) {
            active.insert(day);
        }
        let points = self.rates.day_points(&activity, self.rates.completes_streak(&active, day));
        let old_score = booked.as_ref().and_then(|b| b.points.map(|p| p.activity_score));
        let score = points.activity_score;
        // Only a changed score is judged and counted; a re-sync leaves the baseline alone.
        let judged_tier = if old_score == Some(score) {
            None
        } else {
            if tier.is_none() {
                *tier = Some(self.tier_of(user).await?);
            }
            tier.clone().flatten()
        };
        if let Some(code) = &judged_tier {
            // Opening a review changes the balance read, so the booking below then goes round
            // again and lands held.
            self.antigaming.judge_day(user, code, day, score).await?;
        }
        // What the day adds to the tier baseline is stored on the day, so moving it in, out or
        // between buckets later is exact (the activity score alone cannot say whether it counted).
        let contributed = booked.as_ref().and_then(|b| b.baseline_score);
        let past = day < self.today().pred_opt().unwrap_or(day);
        let contributes = match &judged_tier {
            Some(_) => baseline_contribution(
                score,
                read.holds > 0,
                contributed,
                past && *past_admitted >= MAX_PAST_BASELINE_DAYS,
            ),
            None => contributed,
        };
        let booking = self.ledger.book_day_at(user, day, &points, &read, booked.as_ref(), true, contributes).await?;
        // Landed (or found nothing to write): the revision is now at most one past the read.
        *floor = (*floor).max(read.activity_rev + 1);
        if contributes != contributed
            && let Some(code) = &judged_tier
        {
            if past && contributed.is_none() {
                *past_admitted += 1;
            }
            // Statistics, not money: a failed counter update loses one sample, never a booking.
            if let Err(error) = self.antigaming.record_score(code, day, contributed, contributes).await {
                tracing::warn!(%error, "tier baseline not updated for a booked day");
            }
        }
        Ok(booking)
    }

    /// The user's competition tier, which anomalies are judged against (none before the profile
    /// is complete: such days are not judged).
    async fn tier_of(&self, user: UserId) -> Result<Option<String>, StoreError> {
        self.users.tier_code(user).await
    }

    /// Stores a record unless a newer version of it is already stored (the same rule as
    /// [`deduplicate`], so the stored set never depends on arrival order). Returns the days whose
    /// records changed: the record's day, and the day it moved from if a correction moved it.
    async fn store_record(
        &self,
        user: UserId,
        record: &Activity,
        pending: &Pending,
    ) -> Result<Option<Vec<NaiveDate>>, EngineError> {
        let day = competition_day(record.start);
        let reference_key = keys::activity_ref_key(user, record);
        let reference = self.store.get(Table::Points, &reference_key).await?;
        let stored_day = reference.and_then(|r| r.get("day")?.as_str()?.parse::<NaiveDate>().ok());
        let stored = match stored_day {
            Some(d) => self
                .store
                .get(Table::Points, &keys::activity_key(user, d, record))
                .await?
                .map(from_item::<StoredActivity>)
                .transpose()?,
            None => None,
        };
        let first_received_at =
            stored.as_ref().map_or(record.received_at, |s| s.first_received_at.min(record.received_at));
        let newer =
            stored.as_ref().is_none_or(|s| (record.received_at, record) > (s.activity.received_at, &s.activity));
        if !newer {
            if stored.as_ref().is_some_and(|s| s.first_received_at != first_received_at) {
                // An older copy arrived late: only its arrival time matters (for priority).
                self.mark_pending(user, pending, stored_day.unwrap_or(day)).await?;
                let key = keys::activity_key(user, stored_day.unwrap_or(day), record);
                self.store
                    .update(
                        Table::Points,
                        &key,
                        fittrack_platform::ports::Update::new()
                            .set("first_received_at", serde_json::to_value(first_received_at).unwrap_or_default()),
                        None,
                    )
                    .await?;
                return Ok(Some(vec![stored_day.unwrap_or(day)]));
            }
            return Ok(None);
        }
        let mut changed = vec![day];
        self.mark_pending(user, pending, day).await?;
        if let Some(old) = stored_day.filter(|old| *old != day) {
            // The day the record leaves needs booking too, whatever happens next.
            self.mark_pending(user, pending, old).await?;
            self.store.delete(Table::Points, &keys::activity_key(user, old, record), None).await?;
            changed.push(old);
        }
        let key = keys::activity_key(user, day, record);
        let stored = StoredActivity { pk: key.pk, sk: key.sk, activity: record.clone(), first_received_at };
        self.store.put(Table::Points, to_item(&stored)?, None).await?;
        let reference = serde_json::json!({"pk": reference_key.pk, "sk": reference_key.sk, "day": day.to_string()});
        self.store.put(Table::Points, to_item(&reference)?, None).await?;
        Ok(Some(changed))
    }

    async fn records_of(&self, user: UserId, day: NaiveDate) -> Result<Vec<Activity>, EngineError> {
        let mut records = Vec::new();
        let mut cursor = None;
        loop {
            let query = Query::partition(Table::Points, keys::user_partition(user))
                .sort_prefix(keys::activity_day_prefix(day))
                .limit(500)
                .after(cursor);
            let page = self.store.query(query).await?;
            for item in page.items {
                let stored: StoredActivity = from_item(item)?;
                // Priority between trackers goes by when a record first arrived.
                records.push(Activity { received_at: stored.first_received_at, ..stored.activity });
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(records),
            }
        }
    }

    /// The consecutive active days that end the day before `day`, from the booked days.
    async fn active_days_before(&self, user: UserId, day: NaiveDate) -> Result<BTreeSet<NaiveDate>, EngineError> {
        let mut active = BTreeSet::new();
        let mut expected = day.pred_opt();
        let mut cursor = None;
        'pages: loop {
            let query = Query::partition(Table::Points, keys::user_partition(user))
                .sort_prefix(keys::DAY)
                .descending()
                .limit(100)
                .after(cursor);
            let page = self.store.query(query).await?;
            for item in &page.items {
                let Some(booked_day) = item.get("sk").and_then(|s| keys::day_of_sort_key(s.as_str()?)) else {
                    continue;
                };
                if booked_day >= day {
                    continue;
                }
                if Some(booked_day) != expected
                    || !booked_day_was_active(item)
                    || active.len() as u32 >= STREAK_LOOKBACK_DAYS
                {
                    break 'pages;
                }
                active.insert(booked_day);
                expected = booked_day.pred_opt();
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(active)
    }
}

/// What a day booked now contributes to its tier's baseline, given what it `contributed` so far.
/// An account under review moves nothing: its days are the ones in question, and a few made-up
/// accounts must not drag the baseline. A day not in the baseline yet that is older than
/// yesterday enters only while the ingest's allowance of past days lasts (`past_allowance_spent`
/// says it is spent). Every other day counts with its new score.
fn baseline_contribution(
    score: u32,
    under_review: bool,
    contributed: Option<u32>,
    past_allowance_spent: bool,
) -> Option<u32> {
    if under_review {
        contributed
    } else if contributed.is_none() && past_allowance_spent {
        None
    } else {
        Some(score)
    }
}

/// Totals over a span of competition days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct PeriodSummary {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub steps: u64,
    pub active_minutes: u64,
    pub workouts: u64,
    pub points: i64,
}

/// A stored record and whether it counted (or lost to an overlapping record of higher priority).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ListedActivity {
    #[serde(flatten)]
    pub activity: Activity,
    /// Whether it counted (false: it lost to an overlapping record of higher priority).
    pub counted: bool,
}

impl PointsEngine {
    /// Every stored record of the days `from..=to`, newest first.
    ///
    /// # Errors
    /// [`EngineError::Store`] when a day's records cannot be read (a store failure, or a record that does not
    /// read: `StoreError::Corrupt`).
    pub async fn activities(
        &self,
        user: UserId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ListedActivity>, EngineError> {
        let mut listed = Vec::new();
        let mut day = to;
        while day >= from {
            let records = self.records_of(user, day).await?;
            let counted = deduplicate(&records, None);
            listed.extend(records.into_iter().map(|activity| {
                let counted = counted.iter().any(|c| c.source == activity.source && c.source_id == activity.source_id);
                ListedActivity { activity, counted }
            }));
            match day.pred_opt() {
                Some(previous) => day = previous,
                None => break,
            }
        }
        listed.sort_by_key(|a| std::cmp::Reverse(a.activity.start));
        Ok(listed)
    }

    /// Steps, minutes, workouts (what counted) and points booked over `from..=to`.
    ///
    /// # Errors
    /// [`EngineError::Store`] when a day's records or its booking cannot be read.
    pub async fn summary(&self, user: UserId, from: NaiveDate, to: NaiveDate) -> Result<PeriodSummary, EngineError> {
        let mut summary = PeriodSummary { from, to, steps: 0, active_minutes: 0, workouts: 0, points: 0 };
        let mut day = from;
        while day <= to {
            let counted = deduplicate(&self.records_of(user, day).await?, None);
            let totals = day_totals(&counted, day);
            summary.steps += u64::from(totals.steps);
            summary.active_minutes += u64::from(totals.light_minutes)
                + u64::from(totals.moderate_minutes)
                + u64::from(totals.vigorous_minutes);
            summary.workouts += u64::from(totals.workouts);
            let booked = self.store.get(Table::Points, &keys::day_key(user, day)).await?;
            summary.points +=
                booked.and_then(|d| d.get(crate::attrs::day::TOTAL).and_then(|t| t.as_i64())).unwrap_or(0);
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        Ok(summary)
    }
}
