//! How accounts live in the users table (see docs/data-model.md for the access patterns).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use fittrack_domain::profile::{ProfileSettings, Units};
use fittrack_domain::{FitnessLevel, Role, Sex, Tier, UsState, UserId};

use crate::crypto::PiiCipher;
use crate::ports::{ItemStore, Key, StoreError, Table, from_item};

pub const ACCOUNTS_INDEX_PARTITION: &str = "ACCOUNTS";

pub fn account_key(user: UserId) -> Key {
    Key::new(format!("USER#{user}"), "ACCOUNT")
}
pub fn email_key(email_hash: &str) -> Key {
    Key::new(format!("EMAIL#{email_hash}"), "EMAIL")
}
pub fn social_key(provider: &str, subject: &str) -> Key {
    Key::new(format!("SOCIAL#{provider}#{subject}"), "SOCIAL")
}
/// A sign-in nonce issued by us, single use, by its hash.
pub fn nonce_key(nonce_hash: &str) -> Key {
    Key::new(format!("NONCE#{nonce_hash}"), "NONCE")
}
pub fn session_key(user: UserId, session_id: &str) -> Key {
    Key::new(format!("USER#{user}"), format!("SESSION#{session_id}"))
}
pub fn refresh_key(token_hash: &str) -> Key {
    Key::new(format!("REFRESH#{token_hash}"), "REFRESH")
}
pub fn one_time_key(token_hash: &str) -> Key {
    Key::new(format!("OTT#{token_hash}"), "OTT")
}
pub fn login_failures_key(email_hash: &str) -> Key {
    Key::new(format!("LOGINFAIL#{email_hash}"), "LOGINFAIL")
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
    /// When `sex` or `fitness_level` last changed (epoch seconds): tier changes are rate-limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_fields_changed_at: Option<i64>,
    /// Bumped by a password reset: every emailed link issued before it stops working.
    #[serde(default)]
    pub token_generation: u64,
}

/// What the rest of the product sees of an account: decrypted, without secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub state: Option<UsState>,
    pub role: Role,
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
    pub profile: ProfileView,
    pub tier: Option<TierView>,
}

/// Profile settings with their defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileView {
    pub sex: Option<Sex>,
    pub fitness_level: Option<FitnessLevel>,
    pub time_zone: String,
    pub units: Units,
    pub public_profile: bool,
    pub complete: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

pub fn email_context(user: UserId) -> String {
    format!("user:{user}:email")
}
pub fn dob_context(user: UserId) -> String {
    format!("user:{user}:date_of_birth")
}

impl AccountRecord {
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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmailGuard {
    pub pk: String,
    pub sk: String,
    pub user_id: UserId,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SocialLink {
    pub pk: String,
    pub sk: String,
    pub user_id: UserId,
}

/// A sign-in session: one refresh-token family. Access tokens name it in `sid` and stop working
/// the moment it is revoked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    pub pk: String,
    pub sk: String,
    pub session_id: String,
    pub user_id: UserId,
    pub revoked: bool,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshStatus {
    Active,
    /// Exchanged for a newer token; presenting it again means it was stolen.
    Rotated,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshRecord {
    pub pk: String,
    pub sk: String,
    pub user_id: UserId,
    pub session_id: String,
    pub status: RefreshStatus,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OneTimePurpose {
    VerifyEmail,
    ResetPassword,
    /// Sign in once past a lockout (the mailbox owner, not whoever caused the lock).
    Unlock,
}

/// A single-use emailed token (verification or password reset), stored by its hash and deleted
/// when used.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OneTimeRecord {
    pub pk: String,
    pub sk: String,
    pub user_id: UserId,
    pub purpose: OneTimePurpose,
    pub expires_at: i64,
    /// The account's `token_generation` when the link was issued; it works only while they match.
    #[serde(default)]
    pub generation: u64,
}

/// The account's token generation is still `generation`: no password reset since.
pub fn same_token_generation(generation: u64) -> crate::ports::Condition {
    use crate::ports::Condition;
    if generation == 0 {
        Condition::Or(vec![Condition::missing("token_generation"), Condition::equals("token_generation", 0)])
    } else {
        Condition::equals("token_generation", generation)
    }
}

pub async fn load<T: serde::de::DeserializeOwned>(store: &dyn ItemStore, key: &Key) -> Result<Option<T>, StoreError> {
    store.get(Table::Users, key).await?.map(from_item).transpose()
}
