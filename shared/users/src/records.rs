//! The account item in the users table: its key, its record, and the decrypted view every
//! capability may read (see docs/data-model.md for the access patterns).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use fittrack_domain::profile::{ProfileSettings, Units};
use fittrack_domain::{AccountStatus, FitnessLevel, Role, Sex, Tier, UsState, UserId};

use fittrack_platform::crypto::PiiCipher;
use fittrack_platform::keys::user_partition;
use fittrack_platform::ports::{ItemStore, Key, StoreError, Table, from_item};
use fittrack_platform::records::Record;

pub const ACCOUNTS_INDEX_PARTITION: &str = "ACCOUNTS";

pub fn account_key(user: UserId) -> Key {
    Key::new(user_partition(user), "ACCOUNT")
}
/// The account item. Email and date of birth are encrypted; `email_hash` is the keyed lookup hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountRecord {
    pub pk: String,
    pub sk: String,
    pub user_id: UserId,
    pub email_enc: String,
    pub email_hash: String,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dob_enc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<UsState>,
    pub role: Role,
    pub email_verified: bool,
    /// Absent for accounts that only sign in through Google or Apple.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    pub created_at: i64,
    pub gsi1pk: String,
    pub gsi1sk: String,
    #[serde(default)]
    pub profile: ProfileSettings,
    /// The tier as last computed (kept in step with the per-tier user counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_code: Option<String>,
    /// The tier before the last change and the competition day of that change: the leaderboards
    /// count that day and the days before it in the previous tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_tier_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_changed_on: Option<NaiveDate>,
    /// When `sex` or `fitness_level` last changed (epoch seconds): tier changes are rate-limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_fields_changed_at: Option<i64>,
    /// Bumped by a password reset: every emailed link issued before it stops working.
    #[serde(default)]
    pub token_generation: u64,
    /// Whether the account may be used (an admin's decision; see `AccountStatus`).
    #[serde(default)]
    pub status: AccountStatus,
}

impl Record for AccountRecord {
    const TABLE: Table = Table::Users;

    fn key(&self) -> Key {
        account_key(self.user_id)
    }
}

/// The attributes of the account item that conditions and updates name.
impl AccountRecord {
    pub const DISPLAY_NAME: &'static str = "display_name";
    pub const DOB_ENC: &'static str = "dob_enc";
    pub const EMAIL_VERIFIED: &'static str = "email_verified";
    pub const PASSWORD_HASH: &'static str = "password_hash";
    pub const PROFILE: &'static str = "profile";
    pub const ROLE: &'static str = "role";
    pub const TIER_CODE: &'static str = "tier_code";
    pub const PREVIOUS_TIER_CODE: &'static str = "previous_tier_code";
    pub const TIER_CHANGED_ON: &'static str = "tier_changed_on";
    pub const TIER_FIELDS_CHANGED_AT: &'static str = "tier_fields_changed_at";
    pub const TOKEN_GENERATION: &'static str = "token_generation";
    pub const STATUS: &'static str = "status";
}

/// The tier an account item is placed in, read without the rest of the account.
#[derive(Debug, Clone, Deserialize)]
pub struct TierPlacement {
    #[serde(default)]
    pub tier_code: Option<String>,
    #[serde(default)]
    pub previous_tier_code: Option<String>,
    #[serde(default)]
    pub tier_changed_on: Option<NaiveDate>,
}

impl TierPlacement {
    /// The tier the user competed in on competition day `day`: a change counts from the day after
    /// it happened. Only the last change is remembered, which is enough for the days whose points
    /// can still change (tier changes are rate-limited).
    pub fn tier_on(&self, day: NaiveDate) -> Option<&str> {
        match (&self.previous_tier_code, self.tier_changed_on) {
            (Some(previous), Some(changed_on)) if day <= changed_on => Some(previous),
            _ => self.tier_code.as_deref(),
        }
    }
}

/// What the rest of the product sees of an account: decrypted, without secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Account {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    /// `YYYY-MM-DD`; `null` for accounts created without one (an operator's admin).
    pub date_of_birth: Option<NaiveDate>,
    pub state: Option<UsState>,
    pub role: Role,
    pub status: AccountStatus,
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
    pub profile: ProfileView,
    /// The competition tier; `null` until the profile is complete.
    pub tier: Option<TierView>,
}

/// Profile settings with their defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProfileView {
    pub sex: Option<Sex>,
    pub fitness_level: Option<FitnessLevel>,
    pub time_zone: String,
    pub units: Units,
    pub public_profile: bool,
    /// Whether the profile places the user in a tier (date of birth, sex and fitness level set).
    pub complete: bool,
}

/// A competition tier, by its code and display name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TierView {
    pub code: String,
    pub name: String,
}

impl TierView {
    pub fn of(tier: Tier) -> Self {
        Self { code: tier.code(), name: tier.display_name() }
    }
}

/// The partition holding one counter item per tier, so all 30 counts are one query.
pub const TIER_COUNTS_PARTITION: &str = "TIERCOUNTS";

pub fn tier_count_key(code: &str) -> Key {
    Key::new(TIER_COUNTS_PARTITION, code)
}

/// The marker of a user's next tier change by age (see [`crate::tiers`]).
pub fn marker_key(user: UserId) -> Key {
    Key::new(user_partition(user), "TIERCHANGE")
}

/// The index partition of the markers due on `day`: a keyed hash of the date, never the date (it
/// would give away a date of birth).
pub fn due_partition(pii: &PiiCipher, day: NaiveDate) -> String {
    format!("TIERCHANGE#{}", pii.lookup_hash("tier-change", &day.to_string()))
}

pub fn email_context(user: UserId) -> String {
    format!("user:{user}:email")
}
pub fn dob_context(user: UserId) -> String {
    format!("user:{user}:date_of_birth")
}

impl AccountRecord {
    /// The account as the rest of the product sees it: email and date of birth decrypted,
    /// defaults filled in.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the email or date of birth does not decrypt with `pii`, or the
    /// date does not parse.
    pub fn decrypt(&self, pii: &PiiCipher) -> Result<Account, StoreError> {
        let corrupt = |_| StoreError::Corrupt(format!("PII of user {} does not decrypt", self.user_id));
        let email = pii.decrypt(&self.email_enc, &email_context(self.user_id)).map_err(corrupt)?;
        let date_of_birth = match &self.dob_enc {
            Some(enc) => {
                let text = pii.decrypt(enc, &dob_context(self.user_id)).map_err(corrupt)?;
                Some(NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|e| StoreError::Corrupt(e.to_string()))?)
            }
            None => None,
        };
        Ok(Account {
            id: self.user_id,
            email,
            display_name: self.display_name.clone(),
            state: self.state,
            role: self.role,
            status: self.status,
            email_verified: self.email_verified,
            created_at: DateTime::from_timestamp(self.created_at, 0).unwrap_or_default(),
            profile: ProfileView {
                sex: self.profile.sex,
                fitness_level: self.profile.fitness_level,
                time_zone: self.profile.time_zone.clone().unwrap_or_else(|| "America/New_York".to_owned()),
                units: self.profile.units.unwrap_or_default(),
                public_profile: self.profile.public_profile.unwrap_or(false),
                complete: self.profile.missing_for_tier(date_of_birth.is_some()).is_empty(),
            },
            tier: self.tier_code.as_deref().and_then(|c| c.parse::<Tier>().ok()).map(TierView::of),
            date_of_birth,
        })
    }
}

/// The item stored under `key` in the users table, read as `T`, if any: for partial reads such as
/// [`TierPlacement`] (whole [`Record`]s can also use `RecordStore::load_record`).
///
/// # Errors
/// [`StoreError::Corrupt`] when the item does not deserialise into `T`; the store's own failures.
pub async fn load<T: serde::de::DeserializeOwned>(store: &dyn ItemStore, key: &Key) -> Result<Option<T>, StoreError> {
    store.get(Table::Users, key).await?.map(from_item).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The attribute names are the serialised field names (a renamed field fails here, not in a
    /// condition that silently never matches).
    #[test]
    fn attribute_names_are_field_names() {
        let record: AccountRecord = serde_json::from_value(serde_json::json!({
            "pk": "USER#x", "sk": "ACCOUNT", "user_id": UserId::generate(), "email_enc": "e", "email_hash": "h",
            "display_name": "Ada", "dob_enc": "d", "role": "user", "email_verified": true, "password_hash": "p",
            "created_at": 0, "gsi1pk": "ACCOUNTS", "gsi1sk": "0", "tier_code": "F-30-39-INT",
            "tier_fields_changed_at": 1, "token_generation": 2, "previous_tier_code": "F-18-29-INT",
            "tier_changed_on": "2026-11-23", "status": "suspended",
        }))
        .unwrap();
        let item = serde_json::to_value(&record).unwrap();
        for name in [
            AccountRecord::DISPLAY_NAME,
            AccountRecord::DOB_ENC,
            AccountRecord::EMAIL_VERIFIED,
            AccountRecord::PASSWORD_HASH,
            AccountRecord::PROFILE,
            AccountRecord::ROLE,
            AccountRecord::TIER_CODE,
            AccountRecord::PREVIOUS_TIER_CODE,
            AccountRecord::TIER_CHANGED_ON,
            AccountRecord::TIER_FIELDS_CHANGED_AT,
            AccountRecord::TOKEN_GENERATION,
            AccountRecord::STATUS,
        ] {
            assert!(item.get(name).is_some(), "{name}");
        }
        assert_eq!(record.key(), account_key(record.user_id));
    }

    #[test]
    fn a_tier_change_counts_from_the_next_competition_day() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let placement = TierPlacement {
            tier_code: Some("F-30-39-INT".into()),
            previous_tier_code: Some("F-18-29-INT".into()),
            tier_changed_on: Some(day(23)),
        };
        assert_eq!(placement.tier_on(day(22)), Some("F-18-29-INT"));
        assert_eq!(placement.tier_on(day(23)), Some("F-18-29-INT"));
        assert_eq!(placement.tier_on(day(24)), Some("F-30-39-INT"));
        let first = TierPlacement {
            tier_code: Some("F-30-39-INT".into()),
            previous_tier_code: None,
            tier_changed_on: Some(day(23)),
        };
        assert_eq!(first.tier_on(day(20)), Some("F-30-39-INT"), "a first tier counts for every day");
    }
}
