//! Anti-gaming: accounts are flagged for review when a device another account used first feeds
//! them too, or when a day is far above what their tier usually does (median + 3 · 1.4826 · MAD
//! of the tier's activity scores, see [`fittrack_domain::anomaly`]). While a review is open the
//! account keeps earning, but its awards are held; admins work through the review queue, and
//! resolving a review pays the held points out (cleared) or forfeits them (confirmed). Opening a
//! review and holding the account is one transaction, as is resolving it and settling the held
//! points, so a review never exists without its hold or the reverse.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use chrono::{Datelike, NaiveDate};
use fittrack_domain::UserId;
use fittrack_domain::anomaly::ScoreHistogram;

use crate::{HoldOutcome, LedgerError, PointsLedger, keys};
use fittrack_audit::{ActionKind, Actor, Change, TargetKind};
use fittrack_notifications::{NewNotification, NotificationKind};
use fittrack_platform::clock::Clock;
use fittrack_platform::crypto::hash_token;
use fittrack_platform::ports::{
    Condition, Cursor, Item, ItemStore, Query, StoreError, Table, Update, WriteOp, from_item, to_item,
};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Open,
    Resolved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// The other accounts involved: for a shared device, those it was seen on before this one.
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

fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// The score histogram stored in a baseline item (its `b<bucket>` counters).
fn histogram_of(item: &Item) -> ScoreHistogram {
    ScoreHistogram::from_counters(item.iter().filter_map(|(name, value)| Some((name.as_str(), value.as_i64()?))))
}

/// One account a device fed: `DEVICE#<hash>` / `USER#<id>`, with `first_seen` (epoch seconds).
/// Items written before accounts were ordered have no `order` nor `uploads`: they count as seen
/// first (those pairs were judged under the former rule already).
#[derive(Deserialize)]
struct DeviceSeen {
    user_id: UserId,
    /// The device's count of accounts when this one was first seen: orders accounts strictly,
    /// even when they arrive within one clock tick (`first_seen` is for people to read).
    #[serde(default)]
    order: i64,
    /// Uploads of this account naming the device.
    #[serde(default)]
    uploads: i64,
}

/// A later account is flagged for a shared device only from its second upload naming it: one
/// upload with a device id someone else uses is cheap to forge, and flags nobody.
const MIN_SHARED_UPLOADS: i64 = 2;

/// The other accounts named in one shared-device review, at most.
const MAX_RELATED_USERS: usize = 50;

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
    /// and flags the account when it is more than 3 spreads (1.4826 · MAD, at least one bucket)
    /// above the median. Called before the day is booked, so the anomalous day's own points are
    /// already held. Every changed day is judged, also of accounts under review and of bulk
    /// uploads of the past; only entering the baseline is restricted (see [`Self::record_score`]).
    ///
    /// # Errors
    /// Store failures.
    pub async fn judge_day(
        &self,
        user: UserId,
        tier: &str,
        day: NaiveDate,
        score: u32,
    ) -> Result<Option<Review>, StoreError> {
        let month = first_of_month(day);
        let previous_month = first_of_month(month.pred_opt().unwrap_or(month));
        let mut histogram = ScoreHistogram::default();
        for m in BTreeSet::from([month, previous_month]) {
            if let Some(item) = self.store.get(Table::Points, &keys::tier_stats_key(tier, m)).await? {
                histogram = histogram.merge(histogram_of(&item));
            }
        }
        match histogram.baseline() {
            Some(baseline) if baseline.is_anomalous(score) => {
                let detail = format!(
                    "{day}: activity score {score} against the {tier} tier's median {:.0} (MAD {:.0}, limit {:.0}, {} days)",
                    baseline.median, baseline.mad, baseline.limit, baseline.days
                );
                let flag = Flag {
                    user,
                    reason: "activity_anomaly",
                    guard: keys::anomaly_guard(day),
                    related_users: Vec::new(),
                    detail: Some(detail),
                };
                self.open(flag).await
            }
            _ => Ok(None),
        }
    }

    /// Moves a booked day's contribution to its tier's baseline from `old` to `new` (none: the
    /// day is not in the baseline): it leaves its old score bucket and enters its new one. The
    /// engine decides what a day contributes and stores it on the day, so the move is exact
    /// however often the day is recomputed. The counters are updated outside the ledger's
    /// transaction because they are statistics, not money: a crash in between loses one sample,
    /// never a point.
    ///
    /// # Errors
    /// Store failures.
    pub async fn record_score(
        &self,
        tier: &str,
        day: NaiveDate,
        old: Option<u32>,
        new: Option<u32>,
    ) -> Result<(), StoreError> {
        let change = ScoreHistogram::change(old, new);
        if change.is_empty() {
            return Ok(());
        }
        let update =
            change.counters().into_iter().fold(Update::new(), |update, (counter, days)| update.add(&counter, days));
        self.store.update(Table::Points, &keys::tier_stats_key(tier, first_of_month(day)), update, None).await?;
        Ok(())
    }

    /// Remembers that `device_id` fed `user`'s account (counting the uploads), and flags the
    /// account when the device was first seen on another account before it. Device ids are
    /// chosen by the client, so naming one proves nothing: the account a device was first seen
    /// on is never held because another account names it later (else one upload with a victim's
    /// device id would hold the victim's points), and a later account is flagged only from its
    /// second upload naming the device. Once per account and device; an admin can still flag the
    /// first account. Device ids are only stored hashed.
    ///
    /// # Errors
    /// Store failures.
    pub async fn record_device(&self, user: UserId, device_id: &str) -> Result<Vec<Review>, StoreError> {
        let device = hash_token(device_id);
        let key = keys::device_seen_key(&device, user);
        let counted = Update::new().add("uploads", 1);
        let seen = match self.store.update(Table::Points, &key, counted, Some(Condition::Exists)).await {
            Ok(item) => item,
            Err(StoreError::ConditionFailed) => self.first_sight(&device, user).await?,
            Err(e) => return Err(e),
        };
        let seen: DeviceSeen = from_item(seen)?;
        if seen.uploads < MIN_SHARED_UPLOADS {
            return Ok(Vec::new());
        }
        let guard = keys::shared_device_guard(&device);
        if self.store.get(Table::Points, &keys::review_guard_key(user, &guard)).await?.is_some() {
            // Flagged for this device already (the review may be resolved since): once is enough.
            return Ok(Vec::new());
        }
        let earlier = self.accounts_seen_before(&device, user, seen.order).await?;
        if earlier.is_empty() {
            return Ok(Vec::new());
        }
        let flag = Flag { user, reason: "shared_device", guard, related_users: earlier, detail: None };
        Ok(self.open(flag).await?.into_iter().collect())
    }

    /// The first upload of `user` naming a device (by its hash): the account takes the device's
    /// next ordinal and the time, with one upload counted.
    async fn first_sight(&self, device: &str, user: UserId) -> Result<Item, StoreError> {
        let key = keys::device_seen_key(device, user);
        let accounts = keys::device_accounts_key(device);
        let counter = self.store.update(Table::Points, &accounts, Update::new().add("accounts", 1), None).await?;
        let order = counter.get("accounts").and_then(serde_json::Value::as_i64).unwrap_or(0);
        let seen = serde_json::json!({
            "pk": key.pk,
            "sk": key.sk,
            "user_id": user,
            "first_seen": self.clock.now().timestamp(),
            "order": order,
            "uploads": 1,
        });
        let item = to_item(&seen)?;
        match self.store.put(Table::Points, item.clone(), Some(Condition::NotExists)).await {
            Ok(()) => Ok(item),
            // A concurrent upload of the same account saw the device first; this one counts on top
            // (its ordinal is left unused, which orders nothing wrongly).
            Err(StoreError::ConditionFailed) => {
                self.store.update(Table::Points, &key, Update::new().add("uploads", 1), None).await
            }
            Err(e) => Err(e),
        }
    }

    /// The other accounts the device (by its hash) was first seen on before `user` (an ordinal
    /// below `order`).
    async fn accounts_seen_before(&self, device: &str, user: UserId, order: i64) -> Result<Vec<UserId>, StoreError> {
        let mut earlier = Vec::new();
        let mut cursor = None;
        loop {
            let query = Query::partition(Table::Points, keys::device_partition(device))
                .sort_prefix(keys::USER_PREFIX)
                .limit(100)
                .after(cursor);
            let page = self.store.query(query).await?;
            for item in page.items {
                let other: DeviceSeen = from_item(item)?;
                if other.user_id != user && other.order < order {
                    earlier.push(other.user_id);
                }
            }
            match page.next {
                Some(next) if earlier.len() < MAX_RELATED_USERS => cursor = Some(next),
                _ => {
                    earlier.truncate(MAX_RELATED_USERS);
                    return Ok(earlier);
                }
            }
        }
    }

    /// One tracker account (a Strava athlete, a Google Health user) was offered to several of our
    /// accounts: opens one review per account involved (once per account and tracker account).
    /// `tracker_account` names it without revealing the provider's id.
    ///
    /// # Errors
    /// Store failures, on the first review that cannot be opened (those opened before stay open).
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
                guard: keys::shared_tracker_account_guard(tracker_account),
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
        let guard_at = keys::review_guard_key(flag.user, &flag.guard);
        let guard = serde_json::json!({"pk": guard_at.pk, "sk": guard_at.sk, "review_id": id});
        let key = keys::review_key(ReviewStatus::Open, &id);
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
    ///
    /// # Errors
    /// Store failures, including [`StoreError::InvalidCursor`] for a bad `cursor` and
    /// [`StoreError::Corrupt`] for a review that does not read.
    pub async fn reviews(
        &self,
        status: ReviewStatus,
        limit: u32,
        cursor: Option<Cursor>,
    ) -> Result<(Vec<Review>, Option<Cursor>), StoreError> {
        let mut query = Query::partition(Table::Points, keys::review_partition(status)).limit(limit).after(cursor);
        if status == ReviewStatus::Resolved {
            query = query.descending();
        }
        let page = self.store.query(query).await?;
        let reviews = page.items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok((reviews, page.next))
    }

    /// Every review of `user`, open or resolved, oldest first (through the user's review guards:
    /// one query and a read per review).
    ///
    /// # Errors
    /// The store's failures.
    pub async fn reviews_of(&self, user: UserId) -> Result<Vec<Review>, StoreError> {
        let guards =
            self.store.query(Query::partition(Table::Points, keys::review_guard_partition(user)).limit(100)).await?;
        let mut reviews = Vec::new();
        for guard in guards.items {
            let Some(id) = guard.get("review_id").and_then(serde_json::Value::as_str) else { continue };
            for status in [ReviewStatus::Open, ReviewStatus::Resolved] {
                if let Some(item) = self.store.get(Table::Points, &keys::review_key(status, id)).await? {
                    reviews.push(from_item::<Review>(item)?);
                    break;
                }
            }
        }
        reviews.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(reviews)
    }

    /// Closes an open review: it moves to the resolved list, and the account's held points are
    /// settled, in one transaction, so a review is resolved once, by one admin, and its points
    /// are paid out or forfeited exactly once.
    ///
    /// # Errors
    /// [`ReviewError::NotFound`] when no open review has this id (never opened, or resolved already);
    /// [`ReviewError::Ledger`] when the balance cannot be read, or with [`LedgerError::Busy`] when the
    /// balance kept moving through every attempt; [`ReviewError::Store`] for store failures.
    pub async fn resolve(
        &self,
        id: &str,
        resolution: Resolution,
        actor: &Actor,
        note: Option<String>,
    ) -> Result<Review, ReviewError> {
        let admin = actor.admin_id;
        let open_key = keys::review_key(ReviewStatus::Open, id);
        for attempt in 1..=MAX_ATTEMPTS {
            let item = self.store.get(Table::Points, &open_key).await?.ok_or(ReviewError::NotFound)?;
            let mut review: Review = from_item(item)?;
            review.status = ReviewStatus::Resolved;
            review.resolution = Some(resolution);
            review.resolved_by = Some(admin);
            review.note = note.clone();
            let resolved_key = keys::review_key(ReviewStatus::Resolved, id);
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
            let change = Change::new(ActionKind::ReviewResolved, TargetKind::Review, id)
                .about(review.user_id)
                .from_to(
                    json!({ "status": ReviewStatus::Open }),
                    json!({ "status": review.status, "resolution": resolution }),
                )
                .because(note.clone());
            ops.extend(actor.entry(change, self.clock.now()).ops()?);
            let outcome_text = match resolution {
                Resolution::Cleared => {
                    "It was cleared: points held during the review are paid out once no other review is open."
                }
                Resolution::Confirmed => "It was confirmed: points held during the review are forfeited.",
            };
            let told = NewNotification::new(
                review.user_id,
                NotificationKind::ReviewResolved,
                "Your account review is closed",
                outcome_text,
            )
            .link("/points")
            .data(json!({ "review_id": id, "resolution": resolution }));
            ops.extend(told.ops(self.clock.now(), false)?);
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
