//! Building the accounts service from configuration and adapters: the one place the accounts
//! function, `fittrack serve` and the tests get it from.

use std::sync::Arc;

use fittrack_platform::clock::{Clock, SystemClock};
use fittrack_platform::ports::{ItemStore, Queue};
use fittrack_platform::{BuildError, Config};

use crate::crypto::PasswordHasher;
use crate::social::{IdTokenVerifier, SocialProvider};
use crate::{AccountDeps, AccountPolicy, AccountService, jwt_keys, pii_cipher};

/// What differs between production and tests.
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

/// The accounts service on `store`, sending its email through `queue`.
///
/// # Errors
/// [`BuildError`] when a key is missing or malformed, or the HTTP client cannot start.
pub fn account_service(
    config: &Config,
    store: Arc<dyn ItemStore>,
    queue: Arc<dyn Queue>,
    options: BuildOptions,
) -> Result<AccountService, BuildError> {
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(|e| BuildError::Http(e.to_string()))?;
    Ok(AccountService::new(AccountDeps {
        store,
        queue,
        pii: Arc::new(pii_cipher(config)?),
        jwt: Arc::new(jwt_keys(config)?),
        passwords: options.passwords,
        clock: options.clock,
        policy: AccountPolicy::from_config(config),
        google: IdTokenVerifier::new(SocialProvider::Google, config.google.clone(), http.clone()),
        apple: IdTokenVerifier::new(SocialProvider::Apple, config.apple.clone(), http),
    }))
}
