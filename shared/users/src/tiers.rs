//! Keeping tiers current. A profile write places the user in a tier, keeps the per-tier counts in
//! step, and leaves a marker for the day the next age bracket starts (the 30th, 40th, 50th or 60th
//! birthday). A daily job finds the markers due through the index and moves those users on, so a
//! birthday changes the tier on the day, not at the next profile edit.
//!
//! The marker's index partition is a keyed hash of its date, never the date: the date of someone's
//! 40th birthday is their date of birth, which is stored encrypted, and must not leak through an index.

use std::sync::Arc;

use chrono::{Days, NaiveDate};

use fittrack_domain::points::competition_day;
use fittrack_domain::tier::next_bracket_change;
use fittrack_domain::{DateOfBirth, FitnessLevel, Sex, Tier, UserId};

use crate::records::{AccountRecord, account_key, due_partition, load, marker_key, tier_count_key};
use fittrack_platform::clock::Clock;
use fittrack_platform::crypto::PiiCipher;
use fittrack_platform::keys::user_partition;
use fittrack_platform::ports::{Condition, Index, ItemStore, Query, StoreError, Table, Update, WriteOp, to_item};

/// Days the job looks back, so a few missed runs (an outage, a failed deploy) still catch up.
const CATCH_UP_DAYS: u64 = 7;

/// The tier a profile gives on `today`, and the day it next changes by age alone.
pub fn placement(
    dob: Option<NaiveDate>,
    sex: Option<Sex>,
    level: Option<FitnessLevel>,
    today: NaiveDate,
) -> (Option<Tier>, Option<NaiveDate>) {
    let (Some(dob), Some(sex), Some(level)) = (dob, sex, level) else { return (None, None) };
    let Ok(dob) = DateOfBirth::parse(&dob.to_string(), today) else { return (None, None) };
    (Tier::for_profile(dob, sex, level, today), next_bracket_change(dob, today))
}

/// The writes that put `record` in `tier`: `account_update` (more changes of the account item)
/// with the tier code, conditioned on the tier the record shows (and on `account_condition`, what
/// else the caller's changes rely on) so a concurrent change retries instead of miscounting; the per-tier counts when the tier changes; and the marker for the next
/// bracket change (removed when there is none).
///
/// # Errors
/// [`StoreError::Invalid`] if the marker item does not serialise to an object (not expected).
pub fn retier_ops(
    pii: &PiiCipher,
    record: &AccountRecord,
    account_update: Update,
    account_condition: Option<Condition>,
    tier: Option<Tier>,
    next_change: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<Vec<WriteOp>, StoreError> {
    let new_code = tier.map(|t| t.code());
    let mut update = match &new_code {
        Some(code) => account_update.set(AccountRecord::TIER_CODE, code.as_str()),
        None => account_update.remove(AccountRecord::TIER_CODE),
    };
    // The leaderboards move the user from the next competition day (see `TierPlacement::tier_on`).
    if record.tier_code != new_code
        && let Some(previous) = &record.tier_code
    {
        update = update
            .set(AccountRecord::PREVIOUS_TIER_CODE, previous.as_str())
            .set(AccountRecord::TIER_CHANGED_ON, today.to_string());
    }
    let unchanged_tier = match &record.tier_code {
        Some(code) => Condition::equals(AccountRecord::TIER_CODE, code.as_str()),
        None => Condition::And(vec![Condition::Exists, Condition::missing(AccountRecord::TIER_CODE)]),
    };
    let condition = match account_condition {
        Some(more) => Condition::And(vec![unchanged_tier, more]),
        None => unchanged_tier,
    };
    let user = record.user_id;
    let mut ops =
        vec![WriteOp::Update { table: Table::Users, key: account_key(user), update, condition: Some(condition) }];
    if record.tier_code != new_code {
        let count = |code: &str, delta| WriteOp::Update {
            table: Table::Users,
            key: tier_count_key(code),
            update: Update::new().add("count", delta),
            condition: None,
        };
        ops.extend(record.tier_code.as_deref().map(|old| count(old, -1)));
        ops.extend(new_code.as_deref().map(|new| count(new, 1)));
    }
    ops.extend(crate::directory::tier_ops(user, record.tier_code.as_deref(), new_code.as_deref()));
    let marker = marker_key(user);
    ops.push(match next_change.filter(|_| tier.is_some()) {
        Some(day) => {
            let item = serde_json::json!({
                "pk": marker.pk, "sk": marker.sk, "user_id": user,
                "gsi1pk": due_partition(pii, day), "gsi1sk": user_partition(user),
            });
            WriteOp::Put { table: Table::Users, item: to_item(&item)?, condition: None }
        }
        None => WriteOp::Delete { table: Table::Users, key: marker, condition: None },
    });
    Ok(ops)
}

/// The daily birthday job. Needs the store and the PII key (to read dates of birth), nothing else.
#[derive(Clone)]
pub struct TierSchedule {
    store: Arc<dyn ItemStore>,
    pii: Arc<PiiCipher>,
    clock: Arc<dyn Clock>,
}

/// Attempts per user against concurrent profile edits.
const MAX_ATTEMPTS: u64 = 5;

impl TierSchedule {
    pub fn new(store: Arc<dyn ItemStore>, pii: Arc<PiiCipher>, clock: Arc<dyn Clock>) -> Self {
        Self { store, pii, clock }
    }

    /// Moves on everyone whose next age bracket started today or in the last days; returns how
    /// many tiers changed. Running it again the same day changes nothing.
    ///
    /// # Errors
    /// The store's failures from the index query, the reads and the writes, on the first one met;
    /// [`StoreError::Corrupt`] when an account's date of birth does not decrypt;
    /// [`StoreError::Contention`] when a user's account kept changing through every attempt to move
    /// them on.
    pub async fn run(&self) -> Result<usize, StoreError> {
        let today = self.clock.now().date_naive();
        let mut changed = 0;
        for back in 0..CATCH_UP_DAYS {
            let Some(day) = today.checked_sub_days(Days::new(back)) else { break };
            let mut cursor = None;
            loop {
                let query =
                    Query::partition(Table::Users, due_partition(&self.pii, day)).on_index(Index::Gsi1).limit(100);
                let page = self.store.query(query.after(cursor)).await?;
                for item in &page.items {
                    let user = item.get("user_id").and_then(|u| serde_json::from_value(u.clone()).ok());
                    if let Some(user) = user
                        && self.recompute(user, today).await?
                    {
                        changed += 1;
                    }
                }
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        if changed > 0 {
            tracing::info!(changed, "tiers moved on by birthdays");
        }
        Ok(changed)
    }

    /// Places one user in today's tier; true when it changed.
    async fn recompute(&self, user: UserId, today: NaiveDate) -> Result<bool, StoreError> {
        for attempt in 1..=MAX_ATTEMPTS {
            let Some(record) = load::<AccountRecord>(self.store.as_ref(), &account_key(user)).await? else {
                self.store.delete(Table::Users, &marker_key(user), None).await?;
                return Ok(false);
            };
            let account = record.decrypt(&self.pii)?;
            let (tier, next_change) =
                placement(account.date_of_birth, record.profile.sex, record.profile.fitness_level, today);
            let changed = record.tier_code != tier.map(|t| t.code());
            let ops = retier_ops(
                &self.pii,
                &record,
                Update::new(),
                None,
                tier,
                next_change,
                competition_day(self.clock.now()),
            )?;
            match self.store.transact(ops).await {
                Ok(()) => {
                    if changed {
                        tracing::info!(user_id = %user, tier = tier.map(|t| t.code()).as_deref().unwrap_or("none"), "tier changed on a birthday");
                    }
                    return Ok(changed);
                }
                Err(StoreError::TransactionCancelled { .. } | StoreError::Contention) => {
                    tokio::time::sleep(std::time::Duration::from_millis(5 * attempt)).await;
                }
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Contention)
    }
}
