//! What every capability may know about a user, and nothing about signing in: the account item
//! of the users table (key, record, decrypted view), the user's tier, and the daily job that moves
//! tiers on birthdays. Points and sync read the tier here; they never read the account item's
//! attributes themselves.

pub mod directory;
pub mod records;
pub mod tiers;

use std::sync::Arc;

use secrecy::ExposeSecret;

use fittrack_domain::UserId;
use fittrack_platform::clock::Clock;
use fittrack_platform::crypto::PiiCipher;
use fittrack_platform::ports::{ItemStore, StoreError};
use fittrack_platform::{BuildError, Config};

pub use tiers::TierSchedule;

/// Reads of other users' accounts that other capabilities need.
#[derive(Clone)]
pub struct UserDirectory {
    store: Arc<dyn ItemStore>,
}

impl UserDirectory {
    pub fn new(store: Arc<dyn ItemStore>) -> Self {
        Self { store }
    }

    /// The code of the competition tier `user` is in today (see [`fittrack_domain::Tier::code`]);
    /// `None` for an unknown user or an incomplete profile.
    ///
    /// # Errors
    /// [`StoreError`] when the users table cannot be read.
    pub async fn tier_code(&self, user: UserId) -> Result<Option<String>, StoreError> {
        let placement =
            records::load::<records::TierPlacement>(self.store.as_ref(), &records::account_key(user)).await?;
        Ok(placement.and_then(|p| p.tier_code))
    }

    /// What the leaderboards show of `user` and where they rank: the tier placement (with the
    /// last change) and the display name when the profile is public. `None` for an unknown user.
    ///
    /// # Errors
    /// [`StoreError`] when the users table cannot be read.
    pub async fn competitor(&self, user: UserId) -> Result<Option<Competitor>, StoreError> {
        records::load::<Competitor>(self.store.as_ref(), &records::account_key(user)).await
    }
}

/// The part of an account the leaderboards read.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Competitor {
    #[serde(flatten)]
    pub placement: records::TierPlacement,
    pub display_name: String,
    #[serde(default)]
    pub profile: fittrack_domain::profile::ProfileSettings,
}

impl Competitor {
    /// The name a board may show: none for a private profile.
    pub fn public_name(&self) -> Option<&str> {
        self.profile.public_profile.unwrap_or(false).then_some(self.display_name.as_str())
    }
}

impl TierSchedule {
    /// The birthday job from configuration: the store and the PII key, nothing else.
    ///
    /// # Errors
    /// [`BuildError`] when the PII key is missing or malformed.
    pub fn from_config(config: &Config, store: Arc<dyn ItemStore>, clock: Arc<dyn Clock>) -> Result<Self, BuildError> {
        let key = config.pii_key.as_ref().ok_or(BuildError::Missing("FITTRACK_PII_KEY"))?;
        let pii = PiiCipher::from_master_key(key.expose_secret())
            .map_err(|e| BuildError::InvalidKey { name: "FITTRACK_PII_KEY", reason: e.to_string() })?;
        Ok(Self::new(store, Arc::new(pii), clock))
    }
}
