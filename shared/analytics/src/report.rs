//! The reports: each reads the counters of the periods asked for, one query per metric.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;

use fittrack_domain::drawing::{DrawingStatus, DrawingType};
use fittrack_domain::{FieldError, ValidationErrors, competition_day};
use fittrack_platform::clock::Clock;
use fittrack_platform::ports::{Item, ItemStore, Query, StoreError, Table};

use crate::counters::{
    ACTIVITY, DAU, DRAWINGS, MAU, POINTS, REGISTRATIONS, SHARDS, USERS, partition, shard_partition, sharded,
};

/// The longest span a report covers.
pub const MAX_DAYS: i64 = 3 * 366;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Day,
    /// ISO weeks, starting on Monday.
    Week,
    Month,
}

impl Bucket {
    fn start(self, day: NaiveDate) -> NaiveDate {
        match self {
            Bucket::Day => day,
            Bucket::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
            Bucket::Month => day.with_day(1).unwrap_or(day),
        }
    }
}

/// Today at a glance.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Overview {
    /// The competition day (America/New_York) the daily figures are for.
    pub day: NaiveDate,
    pub total_users: u64,
    /// Distinct users active today.
    pub dau: u64,
    /// Distinct users active this calendar month.
    pub mau: u64,
    /// Drawings open for entries.
    pub active_drawings: u64,
    pub points_earned_today: i64,
    pub points_spent_today: i64,
}

/// Registrations of one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RegistrationCount {
    /// The bucket's first day.
    pub start: NaiveDate,
    pub registrations: u64,
}

/// Activity points of one kind over the span.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct KindFigures {
    /// `steps`, `active_minutes`, `workouts` or `total`.
    pub kind: &'static str,
    pub points: i64,
    /// `points` over `active_user_days`; 0 when nobody was active.
    pub average_per_active_user: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ActivityReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Users with a day of activity booked, summed over the days (a user active on 3 days counts 3).
    pub active_user_days: u64,
    pub kinds: Vec<KindFigures>,
}

/// The drawings of one type in one status.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DrawingGroup {
    #[schema(value_type = String)]
    pub drawing_type: &'static str,
    #[schema(value_type = String)]
    pub status: &'static str,
    pub drawings: u64,
    /// Entrants summed over the group's drawings, from their snapshots: `null` before close.
    pub entrants: Option<u64>,
    pub tickets: Option<u64>,
    /// Entrants per drawing over the users registered now: the share of users who enter a
    /// drawing of this group.
    pub participation_rate: Option<f64>,
    pub tickets_per_participant: Option<f64>,
}

/// The read side.
#[derive(Clone)]
pub struct Analytics {
    store: Arc<dyn ItemStore>,
    clock: Arc<dyn Clock>,
}

fn number(item: &Item, field: &str) -> i64 {
    item.get(field).and_then(serde_json::Value::as_i64).unwrap_or(0)
}

fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// `from` and `to` checked: in order and at most [`MAX_DAYS`] apart.
///
/// # Errors
/// [`ValidationErrors`] naming `from`.
pub fn check_span(from: NaiveDate, to: NaiveDate) -> Result<(), ValidationErrors> {
    if from > to || (to - from).num_days() >= MAX_DAYS {
        return Err(ValidationErrors::single(FieldError::new(
            "from",
            "invalid_range",
            "from must be on or before to, at most three years apart",
        )));
    }
    Ok(())
}

impl Analytics {
    pub fn new(store: Arc<dyn ItemStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Today's competition day.
    pub fn today(&self) -> NaiveDate {
        competition_day(self.clock.now())
    }

    /// Sums every field of the counters of `metric` for `period`, over its shards.
    async fn sum(&self, table: Table, metric: &str, period: &str) -> Result<HashMap<String, i64>, StoreError> {
        let keys: Vec<_> = (0..SHARDS).map(|shard| sharded(metric, period, shard)).collect();
        let items = futures_util::future::try_join_all(keys.iter().map(|key| self.store.get(table, key))).await?;
        let mut sums = HashMap::new();
        for item in items.iter().flatten() {
            for (field, value) in item {
                if let Some(v) = value.as_i64() {
                    *sums.entry(field.clone()).or_insert(0) += v;
                }
            }
        }
        Ok(sums)
    }

    /// The counters of `metric` for each day from `from` to `to`, summed over shards: one query
    /// per shard.
    async fn days(
        &self,
        table: Table,
        metric: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, Item>, StoreError> {
        let mut days: BTreeMap<NaiveDate, Item> = BTreeMap::new();
        for shard in 0..SHARDS {
            let mut cursor = None;
            'pages: loop {
                let query =
                    Query::partition(table, shard_partition(metric, shard)).sort_from(from.to_string()).after(cursor);
                let page = self.store.query(query).await?;
                for item in page.items {
                    let sk = item.get("sk").and_then(|s| s.as_str()).unwrap_or_default();
                    let Ok(day) = sk.parse::<NaiveDate>() else { continue };
                    if day > to {
                        break 'pages;
                    }
                    let sums = days.entry(day).or_default();
                    for (field, value) in &item {
                        if let Some(v) = value.as_i64() {
                            let total = sums.get(field).and_then(serde_json::Value::as_i64).unwrap_or(0) + v;
                            sums.insert(field.clone(), total.into());
                        }
                    }
                }
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        Ok(days)
    }

    /// Today at a glance: one read per shard each for users, DAU, MAU and points (concurrent),
    /// and one query of the drawing groups.
    ///
    /// # Errors
    /// The store's failures.
    pub async fn overview(&self) -> Result<Overview, StoreError> {
        let day = self.today();
        let month = format!("{:04}-{:02}", day.year(), day.month());
        let users = self.sum(Table::Users, USERS, "ALL").await?;
        let dau = self.sum(Table::Users, DAU, &day.to_string()).await?;
        let mau = self.sum(Table::Users, MAU, &month).await?;
        let points = self.sum(Table::Points, POINTS, &day.to_string()).await?;
        let total_users = users.get("count").copied().unwrap_or(0);
        let open = self.groups(total_users).await?.into_iter().filter(|g| g.status == DrawingStatus::Open.as_str());
        Ok(Overview {
            day,
            total_users: unsigned(total_users),
            dau: unsigned(dau.get("count").copied().unwrap_or(0)),
            mau: unsigned(mau.get("count").copied().unwrap_or(0)),
            active_drawings: open.map(|g| g.drawings).sum(),
            points_earned_today: points.get("earned").copied().unwrap_or(0),
            points_spent_today: points.get("spent").copied().unwrap_or(0),
        })
    }

    /// Registrations per bucket from `from` to `to`, every bucket listed (zeros included).
    ///
    /// # Errors
    /// [`ValidationErrors`] (as `StoreError::Invalid`) never: check the span first with
    /// [`check_span`]; the store's failures.
    pub async fn registrations(
        &self,
        bucket: Bucket,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<RegistrationCount>, StoreError> {
        let days = self.days(Table::Users, REGISTRATIONS, from, to).await?;
        let mut buckets: BTreeMap<NaiveDate, u64> = BTreeMap::new();
        let mut day = from;
        while day <= to {
            buckets.entry(bucket.start(day)).or_insert(0);
            day += Duration::days(1);
        }
        for (day, item) in days {
            *buckets.entry(bucket.start(day)).or_insert(0) += unsigned(number(&item, "count"));
        }
        Ok(buckets.into_iter().map(|(start, registrations)| RegistrationCount { start, registrations }).collect())
    }

    /// Activity points by kind from `from` to `to`, and their average per active user-day.
    ///
    /// # Errors
    /// The store's failures.
    pub async fn activity(&self, from: NaiveDate, to: NaiveDate) -> Result<ActivityReport, StoreError> {
        let days = self.days(Table::Points, ACTIVITY, from, to).await?;
        let total = |field: &str| days.values().map(|item| number(item, field)).sum::<i64>();
        let active_user_days = unsigned(total("users"));
        let kinds = ["steps", "active_minutes", "workouts", "total"]
            .into_iter()
            .map(|kind| {
                let points = total(kind);
                #[allow(clippy::cast_precision_loss)] // figures for people to read
                let average = if active_user_days == 0 { 0.0 } else { points as f64 / active_user_days as f64 };
                KindFigures { kind, points, average_per_active_user: (average * 100.0).round() / 100.0 }
            })
            .collect();
        Ok(ActivityReport { from, to, active_user_days, kinds })
    }

    /// Drawings by type and status, with participation once their snapshots exist.
    ///
    /// # Errors
    /// The store's failures.
    pub async fn drawings(&self) -> Result<Vec<DrawingGroup>, StoreError> {
        let users = self.sum(Table::Users, USERS, "ALL").await?.get("count").copied().unwrap_or(0);
        self.groups(users).await
    }

    async fn groups(&self, users: i64) -> Result<Vec<DrawingGroup>, StoreError> {
        let page = self.store.query(Query::partition(Table::Tickets, partition(DRAWINGS)).limit(100)).await?;
        let mut groups = Vec::new();
        for item in page.items {
            let sk = item.get("sk").and_then(|s| s.as_str()).unwrap_or_default().to_owned();
            let Some((kind, status)) = sk.split_once('#') else { continue };
            let Some(kind) = DrawingType::ALL.into_iter().find(|t| t.as_str() == kind) else { continue };
            let Some(status) = DrawingStatus::ALL.into_iter().find(|s| s.as_str() == status) else { continue };
            let drawings = unsigned(number(&item, "drawings"));
            if drawings == 0 {
                continue;
            }
            let snapshots = matches!(status, DrawingStatus::Closed | DrawingStatus::Completed);
            let (entrants, tickets) = (unsigned(number(&item, "entrants")), unsigned(number(&item, "tickets")));
            #[allow(clippy::cast_precision_loss)] // figures for people to read
            let rate = |a: u64, b: u64| (b > 0).then(|| ((a as f64 / b as f64) * 10_000.0).round() / 10_000.0);
            groups.push(DrawingGroup {
                drawing_type: kind.as_str(),
                status: status.as_str(),
                drawings,
                entrants: snapshots.then_some(entrants),
                tickets: snapshots.then_some(tickets),
                participation_rate: if snapshots {
                    rate(entrants, drawings.saturating_mul(unsigned(users)))
                } else {
                    None
                },
                tickets_per_participant: if snapshots { rate(tickets, entrants) } else { None },
            });
        }
        Ok(groups)
    }
}
