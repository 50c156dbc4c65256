//! The sign-in items in the users table: email and social-identity guards, sessions, refresh
//! tokens, one-time tokens, nonces and failed-login counters.

use serde::{Deserialize, Serialize};

use fittrack_domain::UserId;
use fittrack_platform::keys::user_partition;
use fittrack_platform::ports::{Condition, Key, Table};
use fittrack_platform::records::Record;

pub use fittrack_users::records::*;

pub fn email_key(email_hash: &str) -> Key {
    Key::new(format!("EMAIL#{email_hash}"), "EMAIL")
}

/// The email guard of `email` (what an exact-email search reads): `None` for a malformed
/// address. Addresses are matched by their canonical form, as registration does.
pub fn email_guard_key(pii: &fittrack_platform::crypto::PiiCipher, email: &str) -> Option<Key> {
    let email = fittrack_domain::EmailAddress::parse(email).ok()?;
    Some(email_key(&pii.lookup_hash("email", &email.canonical())))
}
pub fn social_key(provider: &str, subject: &str) -> Key {
    Key::new(format!("SOCIAL#{provider}#{subject}"), "SOCIAL")
}
/// A sign-in nonce issued by us, single use, by its hash.
pub fn nonce_key(nonce_hash: &str) -> Key {
    Key::new(format!("NONCE#{nonce_hash}"), "NONCE")
}
/// Sessions sort under their user's partition.
pub const SESSION_PREFIX: &str = "SESSION#";

pub fn session_key(user: UserId, session_id: &str) -> Key {
    Key::new(user_partition(user), format!("{SESSION_PREFIX}{session_id}"))
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
pub fn same_token_generation(generation: u64) -> Condition {
    if generation == 0 {
        Condition::Or(vec![
            Condition::missing(AccountRecord::TOKEN_GENERATION),
            Condition::equals(AccountRecord::TOKEN_GENERATION, 0),
        ])
    } else {
        Condition::equals(AccountRecord::TOKEN_GENERATION, generation)
    }
}

/// Records stored under the keys they carry.
macro_rules! keyed_by_fields {
    ($($record:ty),*) => {$(
        impl Record for $record {
            const TABLE: Table = Table::Users;

            fn key(&self) -> Key {
                Key::new(self.pk.clone(), self.sk.clone())
            }
        }
    )*};
}

keyed_by_fields!(EmailGuard, SocialLink, SessionRecord, RefreshRecord, OneTimeRecord);

/// The attributes of a session that conditions and updates name.
impl SessionRecord {
    pub const REVOKED: &'static str = "revoked";
}
