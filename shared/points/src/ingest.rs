//! Device push: the phone app uploads Health Connect or HealthKit records in batches. A batch is
//! validated as a whole (nothing is stored if any record is invalid), is idempotent by its id (a
//! retried upload answers like the first), and feeds the points engine like any tracker sync.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use fittrack_domain::activity::{Activity, ActivityKind, IntensityMinutes};
use fittrack_domain::{FieldError, UserId, ValidationErrors};

use super::{EngineError, PointsEngine, keys};
use fittrack_platform::crypto::hash_token;
use fittrack_platform::ports::{Condition, StoreError, Table, from_item, to_item};

pub const MAX_RECORDS_PER_BATCH: usize = 500;
pub use fittrack_domain::activity::MAX_RECORD_AGE_DAYS;

/// A batch of device records, uploaded as a whole.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct IngestBatch {
    /// Chosen by the app, stable across retries of the same upload.
    pub batch_id: String,
    /// `health_connect` or `healthkit`.
    pub source: String,
    /// The uploading device, stable across uploads (1-128 characters of `A-Z a-z 0-9 - _ . :`).
    pub device_id: String,
    /// 1 to 500 records.
    pub records: Vec<IngestRecord>,
}

/// One record of a device batch: an activity or a span of background movement.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct IngestRecord {
    /// The record's id on the device (1-128 characters of `A-Z a-z 0-9 - _ . :`).
    pub id: String,
    /// `steps`, `walk`, `run`, `cycle`, `swim`, `strength` or `other`.
    pub kind: String,
    /// Within the last 30 days.
    pub start: DateTime<Utc>,
    /// After `start`, at most 24 hours later, not in the future.
    pub end: DateTime<Utc>,
    #[serde(default)]
    pub steps: u32,
    #[serde(default)]
    pub light_minutes: u32,
    #[serde(default)]
    pub moderate_minutes: u32,
    #[serde(default)]
    pub vigorous_minutes: u32,
    #[serde(default)]
    pub workout: bool,
}

/// What an upload did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IngestReceipt {
    pub batch_id: String,
    /// Records in the batch.
    pub records: usize,
    /// Points booked by this batch (0 for a repeat).
    pub points_booked: i64,
    /// Points this batch earned that are held while the account is under review.
    #[serde(default)]
    pub points_held: i64,
    /// A repeat of a batch already stored: nothing was booked.
    pub duplicate: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("invalid batch")]
    Invalid(#[from] ValidationErrors),
    #[error("batch id reused for different content")]
    Conflict,
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn valid_token(text: &str, max: usize) -> bool {
    !text.is_empty() && text.len() <= max && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

fn kind(raw: &str) -> Option<ActivityKind> {
    Some(match raw {
        "steps" => ActivityKind::Steps,
        "walk" => ActivityKind::Walk,
        "run" => ActivityKind::Run,
        "cycle" => ActivityKind::Cycle,
        "swim" => ActivityKind::Swim,
        "strength" => ActivityKind::Strength,
        "other" => ActivityKind::Other,
        _ => return None,
    })
}

/// Checks every record and turns the batch into activities, or reports every problem.
///
/// # Errors
/// [`ValidationErrors`] naming every problem by its field path (e.g. `records[3].end`): a bad batch or
/// device id, source or record count, and per record a bad id or kind, a bad, future or too old time
/// span, more minutes or steps than the span allows.
pub fn validate(batch: &IngestBatch, now: DateTime<Utc>) -> Result<Vec<Activity>, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    if !valid_token(&batch.batch_id, 64) {
        errors.0.push(FieldError::new("batch_id", "invalid", "must be 1-64 characters of A-Z a-z 0-9 - _ . :"));
    }
    if !matches!(batch.source.as_str(), "health_connect" | "healthkit") {
        errors.0.push(FieldError::new("source", "invalid_choice", "must be health_connect or healthkit"));
    }
    if !valid_token(&batch.device_id, 128) {
        errors.0.push(FieldError::new("device_id", "invalid", "must be 1-128 characters of A-Z a-z 0-9 - _ . :"));
    }
    if batch.records.is_empty() || batch.records.len() > MAX_RECORDS_PER_BATCH {
        errors.0.push(FieldError::new(
            "records",
            "invalid_length",
            format!("must hold 1 to {MAX_RECORDS_PER_BATCH} records"),
        ));
    }
    let mut activities = Vec::with_capacity(batch.records.len());
    for (i, r) in batch.records.iter().enumerate() {
        let field = |name: &str| format!("records[{i}].{name}");
        let before = errors.0.len();
        if !valid_token(&r.id, 128) {
            errors.0.push(FieldError::new(field("id"), "invalid", "must be 1-128 characters of A-Z a-z 0-9 - _ . :"));
        }
        let kind = kind(&r.kind);
        if kind.is_none() {
            errors.0.push(FieldError::new(
                field("kind"),
                "invalid_choice",
                "must be steps, walk, run, cycle, swim, strength or other",
            ));
        }
        let duration = r.end - r.start;
        if duration <= Duration::zero() || duration > Duration::hours(24) {
            errors.0.push(FieldError::new(
                field("end"),
                "invalid_range",
                "must be after start, at most 24 hours later",
            ));
        }
        if r.end > now + Duration::minutes(5) {
            errors.0.push(FieldError::new(field("end"), "in_future", "must not be in the future"));
        }
        if r.start < now - Duration::days(MAX_RECORD_AGE_DAYS) {
            errors.0.push(FieldError::new(
                field("start"),
                "too_old",
                format!("must be within the last {MAX_RECORD_AGE_DAYS} days"),
            ));
        }
        let minutes = u64::from(r.light_minutes) + u64::from(r.moderate_minutes) + u64::from(r.vigorous_minutes);
        if duration > Duration::zero() && minutes > duration.num_minutes().unsigned_abs() + 1 {
            errors.0.push(FieldError::new(
                field("minutes"),
                "exceeds_duration",
                "active minutes cannot exceed the record's duration",
            ));
        }
        // Faster than any human sustains (about 4 steps a second) is not a measurement.
        if duration > Duration::zero() && i64::from(r.steps) > duration.num_seconds() * 4 {
            errors.0.push(FieldError::new(field("steps"), "implausible", "more steps than the duration allows"));
        }
        if let (Some(kind), true) = (kind, errors.0.len() == before) {
            activities.push(Activity {
                source: batch.source.clone(),
                source_id: format!("{}:{}", batch.device_id, r.id),
                kind,
                start: r.start,
                end: r.end,
                steps: r.steps,
                minutes: IntensityMinutes {
                    light: r.light_minutes,
                    moderate: r.moderate_minutes,
                    vigorous: r.vigorous_minutes,
                },
                workout: r.workout,
                received_at: now,
            });
        }
    }
    errors.into_result().map(|()| activities)
}

impl PointsEngine {
    /// Validates and ingests a device batch, once per batch id.
    ///
    /// # Errors
    /// [`IngestError::Invalid`] when the batch does not validate (see [`validate`]); [`IngestError::Conflict`]
    /// when the batch id was used before for different records; [`IngestError::Engine`] when booking fails
    /// (e.g. [`crate::LedgerError::Busy`] while the user's data keeps changing); [`IngestError::Store`] for
    /// store failures.
    pub async fn ingest_batch(
        &self,
        user: UserId,
        batch: &IngestBatch,
        primary_source: Option<&str>,
    ) -> Result<IngestReceipt, IngestError> {
        let now = self.now();
        let activities = validate(batch, now)?;
        let fingerprint = hash_token(&serde_json::to_string(&batch.records).unwrap_or_default());
        let key = keys::batch_key(user, &batch.batch_id);
        if let Some(seen) = self.store.get(Table::Points, &key).await? {
            if seen.get("fingerprint").and_then(|f| f.as_str()) != Some(fingerprint.as_str()) {
                return Err(IngestError::Conflict);
            }
            let mut receipt: IngestReceipt = from_item(seen)?;
            receipt.points_booked = 0;
            receipt.points_held = 0;
            receipt.duplicate = true;
            return Ok(receipt);
        }
        // Flags (never blocks) a device that feeds several accounts.
        self.antigaming().record_device(user, &batch.device_id).await?;
        let bookings = self.ingest(user, primary_source, &activities).await?;
        let (mut points_booked, mut points_held) = (0, 0);
        for (_, booking) in &bookings {
            match booking {
                super::Booking::Booked { amount, held: false, .. } => points_booked += amount,
                super::Booking::Booked { amount, held: true, .. } => points_held += amount,
                super::Booking::Unchanged => {}
            }
        }
        let receipt = IngestReceipt {
            batch_id: batch.batch_id.clone(),
            records: activities.len(),
            points_booked,
            points_held,
            duplicate: false,
        };
        let mut item = to_item(&receipt)?;
        item.insert("pk".into(), key.pk.into());
        item.insert("sk".into(), key.sk.into());
        item.insert("fingerprint".into(), fingerprint.into());
        item.insert("expires_at".into(), (now + Duration::days(MAX_RECORD_AGE_DAYS)).timestamp().into());
        // A concurrent upload of the same batch may have won; its records were identical.
        match self.store.put(Table::Points, item, Some(Condition::NotExists)).await {
            Ok(()) | Err(StoreError::ConditionFailed) => Ok(receipt),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, start: &str, minutes: i64, steps: u32) -> IngestRecord {
        let start: DateTime<Utc> = start.parse().unwrap();
        IngestRecord {
            id: id.into(),
            kind: "walk".into(),
            start,
            end: start + Duration::minutes(minutes),
            steps,
            light_minutes: 0,
            moderate_minutes: minutes as u32,
            vigorous_minutes: 0,
            workout: true,
        }
    }

    fn batch(records: Vec<IngestRecord>) -> IngestBatch {
        IngestBatch { batch_id: "b-1".into(), source: "health_connect".into(), device_id: "pixel-9".into(), records }
    }

    #[test]
    fn a_valid_batch_becomes_activities_named_by_device() {
        let now: DateTime<Utc> = "2026-06-10T12:00:00Z".parse().unwrap();
        let activities = validate(&batch(vec![record("r1", "2026-06-10T08:00:00Z", 30, 3_000)]), now).unwrap();
        assert_eq!(activities[0].source, "health_connect");
        assert_eq!(activities[0].source_id, "pixel-9:r1");
    }

    #[test]
    fn every_bad_record_is_reported_with_its_path() {
        let now: DateTime<Utc> = "2026-06-10T12:00:00Z".parse().unwrap();
        let mut backwards = record("r2", "2026-06-10T08:00:00Z", 30, 0);
        backwards.end = backwards.start - Duration::minutes(1);
        let mut kind = record("r3", "2026-06-10T08:00:00Z", 30, 0);
        kind.kind = "teleport".into();
        let errors = validate(
            &batch(vec![
                record("ok", "2026-06-10T08:00:00Z", 30, 100),
                backwards,
                kind,
                record("future", "2026-06-10T12:30:00Z", 30, 0),
                record("old", "2026-04-01T08:00:00Z", 30, 0),
                record("fast", "2026-06-10T08:00:00Z", 10, 50_000),
            ]),
            now,
        )
        .unwrap_err();
        let fields: Vec<(&str, &str)> = errors.0.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            fields,
            [
                ("records[1].end", "invalid_range"),
                ("records[2].kind", "invalid_choice"),
                ("records[3].end", "in_future"),
                ("records[4].start", "too_old"),
                ("records[5].steps", "implausible"),
            ]
        );
        let empty = validate(
            &IngestBatch { batch_id: "".into(), source: "fitbit".into(), device_id: "x".into(), records: vec![] },
            now,
        );
        assert_eq!(empty.unwrap_err().0.len(), 3);
    }
}
