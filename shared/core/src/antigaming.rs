//! Anti-gaming: accounts are flagged for review when one device feeds several of them, or when a
//! day is far above what their tier usually does (mean + 3σ of the tier's activity scores). While
//! a review is open the account keeps earning, but its awards are held; admins work through the
//! review queue, and resolving a review pays the held points out (cleared) or forfeits them
//! (confirmed). Opening a review and holding the account is one transaction, as is resolving it
//! and settling the held points, so a review never exists without its hold or the reverse.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use chrono::{Datelike, NaiveDate};
use fittrack_domain::UserId;
use fittrack_domain::anomaly::ScoreStats;

use crate::clock::Clock;
use crate::crypto::hash_token;
use crate::points::{HoldOutcome, LedgerError, PointsLedger};
use crate::ports::{Condition, Cursor, ItemStore, Key, Query, StoreError, Table, Update, WriteOp, from_item, to_item};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Open,
    Resolved,
}

impl ReviewStatus {
    fn partition(self) -> &'static str {
        match self {
            ReviewStatus::Open => "REVIEWS#open",
            ReviewStatus::Resolved => "REVIEWS#resolved",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Nothing wrong (a shared family tablet, say).
    Cleared,
    /// Gaming confirmed; the operator acts on the account.
    Confirmed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// `<created:012>-<hash>`: sortable, and the key of the review can be derived from it.
    pub id: String,
    pub user_id: UserId,
    /// `shared_device` or `activity_anomaly`.
    pub reason: String,
    /// The other accounts the same device fed.
    pub related_users: Vec<UserId>,
    /// What the reviewer should look at, e.g. the anomalous day and how far above its tier it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub status: ReviewStatus,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("no such open review")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

fn review_key(status: ReviewStatus, id: &str) -> Key {
    Key::new(status.partition(), id)
}

fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// A tier's baseline for a calendar month of competition days.
fn tier_stats_key(tier: &str, month: NaiveDate) -> Key {
    Key::new(format!("TIERSTATS#{tier}"), format!("{:04}-{:02}", month.year(), month.month()))
}

/// A review about to be opened.
struct Flag {
    user: UserId,
    reason: &'static str,
    /// What makes it the same finding again (the device, the day): one open review per account and guard.
    guard: String,
    related_users: Vec<UserId>,
    detail: Option<String>,
}

#[derive(Clone)]
pub struct AntiGaming {
    store: Arc<dyn ItemStore>,
    clock: Arc<dyn Clock>,
    ledger: PointsLedger,
}

/// A closed review's attempts at settling against a busy balance.
const MAX_ATTEMPTS: u64 = 10;

impl AntiGaming {
    pub fn new(store: Arc<dyn ItemStore>, clock: Arc<dyn Clock>) -> Self {
        let ledger = PointsLedger::new(Arc::clone(&store), Arc::clone(&clock));
        Self { store, clock, ledger }
    }

    /// Judges a day's activity score against the tier's baseline of this month and the last,
    /// and flags the account when it is more than 3σ above. Called before the day is booked, so
    /// the anomalous day's own points are already held.
    pub async fn judge_day(
        &self,
        user: UserId,
        tier: &str,
        day: NaiveDate,
        score: u32,
    ) -> Result<Option<Review>, StoreError> {
        let month = first_of_month(day);
        let previous_month = first_of_month(month.pred_opt().unwrap_or(month));
        let mut baseline = ScoreStats::default();
        for m in BTreeSet::from([month, previous_month]) {
            if let Some(item) = self.store.get(Table::Points, &tier_stats_key(tier, m)).await? {
                baseline = baseline.merge(from_item(item)?);
            }
        }
        match baseline.threshold() {
            Some(limit) if f64::from(score) > limit => {
                let detail = format!(
                    "{day}: activity score {score} against the {tier} tier's mean {:.0} (σ {:.0}, limit {limit:.0}, {} days)",
                    baseline.mean(),
                    baseline.std_dev(),
                    baseline.days
                );
                let flag = Flag {
                    user,
                    reason: "activity_anomaly",
                    guard: format!("activity_anomaly#{day}"),
                    related_users: Vec::new(),
                    detail: Some(detail),
                };
                self.open(flag).await
            }
            _ => Ok(None),
        }
    }

    /// Adds a booked day's score change (from `old`, none for a new day) to its tier's baseline.
    /// The counters are updated outside the ledger's transaction because they are statistics, not
    /// money: a crash in between loses one sample, never a point.
    pub async fn record_score(&self, tier: &str, day: NaiveDate, old: Option<u32>, new: u32) -> Result<(), StoreError> {
        let change = ScoreStats::change(old, new);
        let update =
            Update::new().add("days", change.days).add("sum", change.sum).add("sum_of_squares", change.sum_of_squares);
        self.store.update(Table::Points, &tier_stats_key(tier, first_of_month(day)), update, None).await?;
        Ok(())
    }

    /// Remembers that `device_id` fed `user`'s account; when it has fed another account too,
    /// opens one review per account involved (once per account and device). Device ids are only
    /// stored hashed.
    pub async fn record_device(&self, user: UserId, device_id: &str) -> Result<Vec<Review>, StoreError> {
        let device = hash_token(device_id);
        let partition = format!("DEVICE#{device}");
        let seen = serde_json::json!({"pk": partition, "sk": format!("USER#{user}"), "user_id": user});
        match self.store.put(Table::Points, to_item(&seen)?, Some(Condition::NotExists)).await {
            Ok(()) => {}
            // Known pair: it was judged when first seen.
            Err(StoreError::ConditionFailed) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        }
        let page = self.store.query(Query::partition(Table::Points, &partition).limit(50)).await?;
        let users: Vec<UserId> = page
            .items
            .iter()
            .filter_map(|i| i.get("user_id").and_then(|u| serde_json::from_value(u.clone()).ok()))
            .collect();
        if users.len() < 2 {
            return Ok(Vec::new());
        }
        let mut opened = Vec::new();
        for flagged in &users {
            let flag = Flag {
                user: *flagged,
                reason: "shared_device",
                guard: format!("shared_device#{device}"),
                related_users: users.iter().copied().filter(|u| u != flagged).collect(),
                detail: None,
            };
            opened.extend(self.open(flag).await?);
        }
        Ok(opened)
    }

    /// One tracker account (a Strava athlete, a Google Health user) was offered to several of our
    /// accounts: opens one review per account involved (once per account and tracker account).
    /// `tracker_account` names it without revealing the provider's id.
    pub async fn flag_shared_tracker_account(
        &self,
        tracker_account: &str,
        users: &[UserId],
    ) -> Result<Vec<Review>, StoreError> {
        let mut opened = Vec::new();
        for flagged in users {
            let flag = Flag {
                user: *flagged,
                reason: "shared_tracker_account",
                guard: format!("shared_tracker_account#{tracker_account}"),
                related_users: users.iter().copied().filter(|u| u != flagged).collect(),
                detail: None,
            };
            opened.extend(self.open(flag).await?);
        }
        Ok(opened)
    }

    /// Opens a review and holds the account's awards, unless the same finding is already open
    /// (a guard item keyed without the time makes that atomic).
    async fn open(&self, flag: Flag) -> Result<Option<Review>, StoreError> {
        let now = self.clock.now().timestamp();
        let id = format!("{now:012}-{}", &hash_token(&format!("{}:{}", flag.guard, flag.user))[..16]);
        let review = Review {
            id: id.clone(),
            user_id: flag.user,
            reason: flag.reason.into(),
            related_users: flag.related_users,
            detail: flag.detail,
            status: ReviewStatus::Open,
            created_at: now,
            resolution: None,
            resolved_by: None,
            note: None,
        };
        let guard_key = Key::new(format!("REVIEWGUARD#{}", flag.user), flag.guard);
        let guard = serde_json::json!({"pk": guard_key.pk, "sk": guard_key.sk, "review_id": id});
        let key = review_key(ReviewStatus::Open, &id);
        let mut item = to_item(&review)?;
        item.insert("pk".into(), key.pk.into());
        item.insert("sk".into(), key.sk.into());
        let ops = vec![
            WriteOp::Put { table: Table::Points, item: to_item(&guard)?, condition: Some(Condition::NotExists) },
            WriteOp::Put { table: Table::Points, item, condition: Some(Condition::NotExists) },
            PointsLedger::hold_op(flag.user),
        ];
        match self.store.transact(ops).await {
            Ok(()) => {
                tracing::warn!(user_id = %flag.user, reason = flag.reason, "account flagged for review; awards held");
                Ok(Some(review))
            }
            Err(StoreError::TransactionCancelled { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Oldest first for open reviews (work the queue in order), newest first for resolved ones.
    pub async fn reviews(
        &self,
        status: ReviewStatus,
        limit: u32,
        cursor: Option<Cursor>,
    ) -> Result<(Vec<Review>, Option<Cursor>), StoreError> {
        let mut query = Query::partition(Table::Points, status.partition()).limit(limit).after(cursor);
        if status == ReviewStatus::Resolved {
            query = query.descending();
        }
        let page = self.store.query(query).await?;
        let reviews = page.items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok((reviews, page.next))
    }

    /// Closes an open review: it moves to the resolved list, and the account's held points are
    /// settled, in one transaction, so a review is resolved once, by one admin, and its points
    /// are paid out or forfeited exactly once.
    pub async fn resolve(
        &self,
        id: &str,
        resolution: Resolution,
        admin: UserId,
        note: Option<String>,
    ) -> Result<Review, ReviewError> {
        let open_key = review_key(ReviewStatus::Open, id);
        for attempt in 1..=MAX_ATTEMPTS {
            let item = self.store.get(Table::Points, &open_key).await?.ok_or(ReviewError::NotFound)?;
            let mut review: Review = from_item(item)?;
            review.status = ReviewStatus::Resolved;
            review.resolution = Some(resolution);
            review.resolved_by = Some(admin);
            review.note = note.clone();
            let resolved_key = review_key(ReviewStatus::Resolved, id);
            let mut resolved = to_item(&review)?;
            resolved.insert("pk".into(), resolved_key.pk.into());
            resolved.insert("sk".into(), resolved_key.sk.into());
            let outcome = match resolution {
                Resolution::Cleared => HoldOutcome::Release,
                Resolution::Confirmed => HoldOutcome::Forfeit,
            };
            let balance = self.ledger.balance(review.user_id).await?;
            let mut ops = vec![
                WriteOp::Delete { table: Table::Points, key: open_key.clone(), condition: Some(Condition::Exists) },
                WriteOp::Put { table: Table::Points, item: resolved, condition: Some(Condition::NotExists) },
            ];
            ops.extend(self.ledger.settle_ops(review.user_id, &balance, outcome, format!("review:{id}"))?);
            match self.store.transact(ops).await {
                Ok(()) => {
                    tracing::info!(review_id = id, admin_id = %admin, user_id = %review.user_id, "review resolved");
                    return Ok(review);
                }
                // Resolved by someone else meanwhile (the next read says so), or the balance moved.
                Err(StoreError::TransactionCancelled { .. } | StoreError::Contention) => {
                    tokio::time::sleep(std::time::Duration::from_millis(2 * attempt)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(LedgerError::Busy.into())
    }
}
