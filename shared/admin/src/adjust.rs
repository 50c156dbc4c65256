//! Point adjustments by an admin: a signed amount and a reason, booked as an `adjustment`
//! ledger entry. A debit never takes the balance below zero: it is clamped to what is
//! spendable, and the entry records what was asked (`requested`). Exactly once per
//! `Idempotency-Key`: the key's record is written in the adjustment's transaction, so a retry,
//! or the same request sent twice at once, books one entry and answers the same.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use fittrack_audit::{ActionKind, Actor, Change};
use fittrack_domain::{Adjustment, FieldError, UserId, ValidationErrors};
use fittrack_notifications::{EmailCategory, NewNotification, NotificationKind};
use fittrack_platform::messages::EmailTemplate;
use fittrack_platform::ports::{Condition, Key, StoreError, Table, WriteOp, from_item, to_item};
use fittrack_users::records::{AccountRecord, account_key, load};

use crate::status::check_reason;
use crate::{AdminError, AdminService};

/// The largest adjustment either way.
pub const MAX_ADJUSTMENT: i64 = 1_000_000;
const MAX_ATTEMPTS: u32 = 20;

/// What an adjustment did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AdjustmentReceipt {
    pub user_id: UserId,
    /// The amount asked for.
    pub requested: i64,
    /// The amount booked: `requested`, or for a debit larger than the balance, minus the balance.
    pub applied: i64,
    /// `requested - applied` (0 unless a debit was clamped).
    pub clamped_by: i64,
    /// The ledger entry's number.
    pub seq: u64,
    pub balance_after: i64,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

fn idempotency_key(user: UserId, key: &str) -> Key {
    Key::new(format!("ADJUST#{user}"), key)
}

/// # Errors
/// [`AdminError::IdempotencyKeyRequired`] for a missing key; [`AdminError::Invalid`] for one that is
/// too long or not plain.
fn check_key(key: Option<&str>) -> Result<&str, AdminError> {
    let key = key.map(str::trim).filter(|k| !k.is_empty()).ok_or(AdminError::IdempotencyKeyRequired)?;
    if key.len() > 128 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ValidationErrors::single(FieldError::new(
            "Idempotency-Key",
            "invalid_key",
            "at most 128 printable characters",
        ))
        .into());
    }
    Ok(key)
}

impl AdminService {
    /// Adds `amount` points to `user`'s balance (takes them for a negative amount), once per key.
    ///
    /// # Errors
    /// [`AdminError::IdempotencyKeyRequired`]; [`AdminError::IdempotencyKeyReused`] for a key used
    /// with another amount; [`AdminError::Invalid`] for a zero or too large amount or a missing
    /// reason; [`AdminError::NotFound`]; [`AdminError::Busy`] when the balance kept moving;
    /// [`AdminError::Store`].
    pub async fn adjust_points(
        &self,
        actor: &Actor,
        user: UserId,
        key: Option<&str>,
        amount: i64,
        reason: &str,
    ) -> Result<AdjustmentReceipt, AdminError> {
        let key = check_key(key)?;
        let reason = check_reason(reason)?;
        if amount == 0 || !(-MAX_ADJUSTMENT..=MAX_ADJUSTMENT).contains(&amount) {
            return Err(ValidationErrors::single(FieldError::new(
                "amount",
                "out_of_range",
                "a non-zero number of points, at most 1,000,000 either way",
            ))
            .into());
        }
        load::<AccountRecord>(self.store.as_ref(), &account_key(user)).await?.ok_or(AdminError::NotFound)?;
        let record_key = idempotency_key(user, key);
        for attempt in 1..=MAX_ATTEMPTS {
            if let Some(done) = self.store.get(Table::Points, &record_key).await? {
                let done: AdjustmentReceipt = from_item(done)?;
                return if done.requested == amount { Ok(done) } else { Err(AdminError::IdempotencyKeyReused) };
            }
            let read = self.ledger.balance(user).await?;
            let adjustment = Adjustment::against(amount, read.balance);
            let receipt = AdjustmentReceipt {
                user_id: user,
                requested: amount,
                applied: adjustment.applied,
                clamped_by: adjustment.clamped_by,
                seq: read.seq + 1,
                balance_after: read.balance + adjustment.applied,
                reason: reason.clone(),
                created_at: self.clock.now(),
            };
            let mut ops = self.ledger.adjust_ops(user, &read, adjustment, format!("adjustment:{key}"))?;
            let mut item = to_item(&receipt)?;
            item.insert("pk".into(), record_key.pk.clone().into());
            item.insert("sk".into(), record_key.sk.clone().into());
            let record_at = ops.len();
            ops.push(WriteOp::Put { table: Table::Points, item, condition: Some(Condition::NotExists) });
            let change = Change::on_user(ActionKind::PointsAdjusted, user)
                .from_to(
                    json!({ "balance": read.balance }),
                    json!({ "balance": receipt.balance_after, "requested": amount, "applied": adjustment.applied, "clamped_by": adjustment.clamped_by }),
                )
                .because(Some(reason.clone()));
            ops.extend(actor.entry(change, self.clock.now()).ops()?);
            // A debit of an empty balance books nothing the user would want to hear about.
            if adjustment.applied != 0 {
                let note = NewNotification::new(
                    user,
                    NotificationKind::PointsAdjusted,
                    format!("{:+} points", adjustment.applied),
                    format!(
                        "{:+} points from the FitTrack team: {reason}. Your balance is now {}.",
                        adjustment.applied, receipt.balance_after
                    ),
                )
                .link("/points")
                .data(json!({ "seq": receipt.seq, "applied": adjustment.applied, "requested": amount }))
                .email(EmailTemplate::PointsAdjusted, EmailCategory::PointsUpdates);
                ops.extend(self.notifications.ops_for(&note).await?);
            }
            match self.store.transact(ops).await {
                Ok(()) => {
                    tracing::info!(user_id = %user, admin_id = %actor.admin_id, applied = adjustment.applied, "points adjusted");
                    return Ok(receipt);
                }
                // The same key landed meanwhile (read it and answer it), or the balance moved.
                Err(StoreError::TransactionCancelled { failed }) if failed.contains(&record_at) => {}
                Err(StoreError::TransactionCancelled { .. } | StoreError::Contention) => {
                    tokio_sleep(attempt).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(AdminError::Busy)
    }
}

async fn tokio_sleep(attempt: u32) {
    tokio::time::sleep(std::time::Duration::from_millis(u64::from(attempt.min(10)) * 3)).await;
}
