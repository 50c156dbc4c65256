//! Anti-gaming, first part: one device feeding several accounts is flagged for review, and admins
//! work through a review queue. (Anomaly detection against the tier average and holding the
//! awards of flagged accounts come with the rest of the earning issue.)

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fittrack_domain::UserId;

use crate::clock::Clock;
use crate::crypto::hash_token;
use crate::ports::{Condition, Cursor, ItemStore, Key, Query, StoreError, Table, WriteOp, from_item, to_item};

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
    pub reason: String,
    /// The other accounts the same device fed.
    pub related_users: Vec<UserId>,
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
}

fn review_key(status: ReviewStatus, id: &str) -> Key {
    Key::new(status.partition(), id)
}

#[derive(Clone)]
pub struct AntiGaming {
    store: Arc<dyn ItemStore>,
    clock: Arc<dyn Clock>,
}

impl AntiGaming {
    pub fn new(store: Arc<dyn ItemStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
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
        let now = self.clock.now().timestamp();
        let mut opened = Vec::new();
        for flagged in &users {
            let id = format!("{now:012}-{}", &hash_token(&format!("shared_device:{device}:{flagged}"))[..16]);
            let related = users.iter().copied().filter(|u| u != flagged).collect();
            let review = Review {
                id: id.clone(),
                user_id: *flagged,
                reason: "shared_device".into(),
                related_users: related,
                status: ReviewStatus::Open,
                created_at: now,
                resolution: None,
                resolved_by: None,
                note: None,
            };
            // One open review per account and device: a guard item keyed without the time.
            let guard_key = Key::new(format!("REVIEWGUARD#{flagged}"), format!("shared_device#{device}"));
            let guard = serde_json::json!({"pk": guard_key.pk, "sk": guard_key.sk, "review_id": id});
            let key = review_key(ReviewStatus::Open, &id);
            let mut item = to_item(&review)?;
            item.insert("pk".into(), key.pk.into());
            item.insert("sk".into(), key.sk.into());
            let ops = vec![
                WriteOp::Put { table: Table::Points, item: to_item(&guard)?, condition: Some(Condition::NotExists) },
                WriteOp::Put { table: Table::Points, item, condition: Some(Condition::NotExists) },
            ];
            match self.store.transact(ops).await {
                Ok(()) => {
                    tracing::warn!(user_id = %flagged, "account flagged: a device feeds several accounts");
                    opened.push(review);
                }
                Err(StoreError::TransactionCancelled { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(opened)
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

    /// Closes an open review: it moves to the resolved list in one transaction, so a review is
    /// resolved once, by one admin.
    pub async fn resolve(
        &self,
        id: &str,
        resolution: Resolution,
        admin: UserId,
        note: Option<String>,
    ) -> Result<Review, ReviewError> {
        let open_key = review_key(ReviewStatus::Open, id);
        let item = self.store.get(Table::Points, &open_key).await?.ok_or(ReviewError::NotFound)?;
        let mut review: Review = from_item(item)?;
        review.status = ReviewStatus::Resolved;
        review.resolution = Some(resolution);
        review.resolved_by = Some(admin);
        review.note = note;
        let resolved_key = review_key(ReviewStatus::Resolved, id);
        let mut resolved = to_item(&review)?;
        resolved.insert("pk".into(), resolved_key.pk.into());
        resolved.insert("sk".into(), resolved_key.sk.into());
        let ops = vec![
            WriteOp::Delete { table: Table::Points, key: open_key, condition: Some(Condition::Exists) },
            WriteOp::Put { table: Table::Points, item: resolved, condition: Some(Condition::NotExists) },
        ];
        match self.store.transact(ops).await {
            Ok(()) => {
                tracing::info!(review_id = id, admin_id = %admin, user_id = %review.user_id, "review resolved");
                Ok(review)
            }
            Err(StoreError::TransactionCancelled { .. }) => Err(ReviewError::NotFound),
            Err(e) => Err(e.into()),
        }
    }
}
