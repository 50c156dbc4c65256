//! Builds the application from configuration and adapters: the one place both the Lambdas and
//! `fittrack serve` get their services from.

use std::sync::Arc;

use secrecy::ExposeSecret;

use crate::accounts::{AccountDeps, AccountPolicy, AccountService};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::crypto::{JwtKeys, PasswordHasher, PiiCipher};
use crate::ports::{ItemStore, Queue};
use crate::social::{IdTokenVerifier, SocialProvider};

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("FITTRACK_PII_KEY: {0}")]
    PiiKey(#[from] crate::crypto::PiiError),
    #[error("FITTRACK_JWT_SIGNING_KEY / FITTRACK_JWT_PUBLIC_KEY: {0}")]
    JwtKey(#[from] crate::crypto::JwtError),
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("HTTP client: {0}")]
    Http(String),
}

/// Options that differ between production and tests.
#[derive(Clone)]
pub struct BuildOptions {
    pub clock: Arc<dyn Clock>,
    pub passwords: PasswordHasher,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self { clock: Arc::new(SystemClock), passwords: PasswordHasher::owasp() }
    }
}

pub fn account_service(
    config: &Config,
    store: Arc<dyn ItemStore>,
    queue: Arc<dyn Queue>,
    options: BuildOptions,
) -> Result<AccountService, BuildError> {
    let pii_key = config.pii_key.as_ref().ok_or(BuildError::Missing("FITTRACK_PII_KEY"))?;
    // The signing key where sign-in happens; elsewhere the public key verifies.
    let jwt = match (&config.jwt_signing_key, &config.jwt_public_key) {
        (Some(signing), _) => JwtKeys::from_pkcs8(signing.expose_secret())?,
        (None, Some(public)) => JwtKeys::verifier(public)?,
        (None, None) => return Err(BuildError::Missing("FITTRACK_JWT_SIGNING_KEY or FITTRACK_JWT_PUBLIC_KEY")),
    };
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(|e| BuildError::Http(e.to_string()))?;
    Ok(AccountService::new(AccountDeps {
        store,
        queue,
        pii: Arc::new(PiiCipher::from_master_key(pii_key.expose_secret())?),
        jwt: Arc::new(jwt),
        passwords: options.passwords,
        clock: options.clock,
        policy: AccountPolicy::from_config(config),
        google: IdTokenVerifier::new(SocialProvider::Google, config.google.clone(), http.clone()),
        apple: IdTokenVerifier::new(SocialProvider::Apple, config.apple.clone(), http),
    }))
}

/// The daily birthday job: only the store and the PII key.
pub fn tier_schedule(
    config: &Config,
    store: Arc<dyn ItemStore>,
    options: &BuildOptions,
) -> Result<crate::accounts::TierSchedule, BuildError> {
    let pii_key = config.pii_key.as_ref().ok_or(BuildError::Missing("FITTRACK_PII_KEY"))?;
    let pii = Arc::new(PiiCipher::from_master_key(pii_key.expose_secret())?);
    Ok(crate::accounts::TierSchedule::new(store, pii, Arc::clone(&options.clock)))
}

/// The points engine on `store`, with FitTrack's rate table.
pub fn points_engine(store: Arc<dyn ItemStore>, options: &BuildOptions) -> crate::points::PointsEngine {
    crate::points::PointsEngine::new(store, Arc::clone(&options.clock), fittrack_domain::RateTable::default())
}

/// Tracker connections and sync on `store`, offering `trackers`.
pub fn sync_service(
    config: &Config,
    store: Arc<dyn ItemStore>,
    queue: Arc<dyn Queue>,
    trackers: Vec<Arc<dyn crate::ports::TrackerProvider>>,
    options: &BuildOptions,
) -> Result<crate::sync::SyncService, BuildError> {
    let tracker_key = config.tracker_key.as_ref().ok_or(BuildError::Missing("FITTRACK_TRACKER_KEY"))?;
    Ok(crate::sync::SyncService::new(crate::sync::SyncDeps {
        engine: points_engine(Arc::clone(&store), options),
        store,
        queue,
        providers: trackers,
        clock: Arc::clone(&options.clock),
        schedule: crate::sync::SyncSchedule {
            interval: config.sync_interval,
            manual_limit: config.rate_limits.get(crate::config::RateLimitedAction::ManualSync),
        },
        cipher: Arc::new(PiiCipher::from_master_key(tracker_key.expose_secret())?),
        api_url: config.api_url.clone(),
    }))
}
