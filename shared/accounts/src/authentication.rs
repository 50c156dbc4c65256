//! Who is calling: the session check, the profile gate and per-user rate limits that every API
//! runs before its own use case. Functions that serve other capabilities (points, connections)
//! build only this, from the verifying key: no password hasher, no email queue, no social sign-in.

use std::sync::Arc;

use secrecy::ExposeSecret;

use fittrack_domain::profile::ProfileSettings;
use fittrack_domain::{Role, UserId};
use fittrack_platform::clock::Clock;
use fittrack_platform::config::{RateLimitedAction, RateLimits};
use fittrack_platform::ports::{ItemStore, StoreError};
use fittrack_platform::ratelimit::{self, RateDecision};
use fittrack_platform::{BuildError, Config};

use crate::crypto::{JwtError, JwtKeys, PiiCipher};
use fittrack_platform::records::RecordStore;

use crate::records::{AccountRecord, SessionRecord, account_key, session_key};
use crate::{Account, AccountError, AuthenticatedUser};

#[derive(Clone)]
pub struct Authenticator {
    store: Arc<dyn ItemStore>,
    pii: Arc<PiiCipher>,
    jwt: Arc<JwtKeys>,
    clock: Arc<dyn Clock>,
    rate_limits: Arc<RateLimits>,
}

impl Authenticator {
    pub fn new(
        store: Arc<dyn ItemStore>,
        pii: Arc<PiiCipher>,
        jwt: Arc<JwtKeys>,
        clock: Arc<dyn Clock>,
        rate_limits: RateLimits,
    ) -> Self {
        Self { store, pii, jwt, clock, rate_limits: Arc::new(rate_limits) }
    }

    /// From configuration: the PII key and the token key (the public key is enough).
    ///
    /// # Errors
    /// [`BuildError`] when a key is missing or malformed.
    pub fn from_config(config: &Config, store: Arc<dyn ItemStore>, clock: Arc<dyn Clock>) -> Result<Self, BuildError> {
        Ok(Self::new(
            store,
            Arc::new(pii_cipher(config)?),
            Arc::new(jwt_keys(config)?),
            clock,
            config.rate_limits.clone(),
        ))
    }

    /// The public keys that verify our access tokens, as a JWKS document.
    pub fn jwks(&self) -> serde_json::Value {
        self.jwt.jwks()
    }

    pub(crate) fn jwt(&self) -> &JwtKeys {
        &self.jwt
    }

    /// Whether the store answers (the readiness probe).
    ///
    /// # Errors
    /// The store's failure.
    pub async fn ready(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    /// Checks an access token and that its session is still live. One strongly consistent read,
    /// so logout takes effect on the very next request. A token that claims more than the user
    /// role is also checked against the account (one more read), so a demotion takes effect on the
    /// next request too; a promotion arrives with the next refresh.
    ///
    /// # Errors
    /// [`AccountError::Unauthenticated`] for a bad, expired or revoked token; store failures.
    pub async fn authenticate(&self, access_token: &str) -> Result<AuthenticatedUser, AccountError> {
        let claims = self.jwt.verify(access_token).map_err(|_: JwtError| AccountError::Unauthenticated)?;
        let user_id: UserId = claims.sub.parse().map_err(|_| AccountError::Unauthenticated)?;
        let session: SessionRecord =
            self.store.load_record(&session_key(user_id, &claims.sid)).await?.ok_or(AccountError::Unauthenticated)?;
        if session.revoked || session.expires_at <= self.clock.now().timestamp() {
            return Err(AccountError::Unauthenticated);
        }
        let role = if claims.role > Role::User {
            let account: AccountRecord =
                self.store.load_record(&account_key(user_id)).await?.ok_or(AccountError::Unauthenticated)?;
            // A suspended admin loses admin rights at once, even before the sessions are ended.
            if !account.status.is_usable() {
                return Err(AccountError::Unauthenticated);
            }
            claims.role.min(account.role)
        } else {
            claims.role
        };
        Ok(AuthenticatedUser { user_id, session_id: claims.sid, role })
    }

    /// The account of `user`, decrypted.
    ///
    /// # Errors
    /// [`AccountError::NotFound`]; store failures.
    pub async fn account(&self, user: UserId) -> Result<Account, AccountError> {
        let record: AccountRecord = self.store.load_record(&account_key(user)).await?.ok_or(AccountError::NotFound)?;
        Ok(record.decrypt(&self.pii)?)
    }

    /// The gate in front of feature routes: the account, once its profile can place the user in a tier.
    ///
    /// # Errors
    /// [`AccountError::ProfileIncomplete`] naming the missing fields; store failures.
    pub async fn require_complete_profile(&self, user: UserId) -> Result<Account, AccountError> {
        let account = self.account(user).await?;
        if account.profile.complete {
            return Ok(account);
        }
        let settings = ProfileSettings {
            sex: account.profile.sex,
            fitness_level: account.profile.fitness_level,
            ..ProfileSettings::default()
        };
        Err(AccountError::ProfileIncomplete { missing: settings.missing_for_tier(account.date_of_birth.is_some()) })
    }

    /// Counts a request of a signed-in user against their own limit for `action` (uploads and the
    /// like, where the account, not the address, is what spends the resource).
    ///
    /// # Errors
    /// [`AccountError::RateLimited`] when the limit is spent; store failures.
    pub async fn rate_limit_user(&self, action: RateLimitedAction, user: UserId) -> Result<RateDecision, AccountError> {
        let decision = ratelimit::hit(
            self.store.as_ref(),
            action,
            &format!("user:{user}"),
            self.rate_limits.get(action),
            self.clock.now(),
        )
        .await?;
        if decision.allowed { Ok(decision) } else { Err(AccountError::RateLimited(decision)) }
    }
}

/// The PII cipher from `FITTRACK_PII_KEY`.
///
/// # Errors
/// [`BuildError`] when the key is missing or malformed.
pub fn pii_cipher(config: &Config) -> Result<PiiCipher, BuildError> {
    let key = config.pii_key.as_ref().ok_or(BuildError::Missing("FITTRACK_PII_KEY"))?;
    PiiCipher::from_master_key(key.expose_secret())
        .map_err(|e| BuildError::InvalidKey { name: "FITTRACK_PII_KEY", reason: e.to_string() })
}

/// The signing key where sign-in happens; elsewhere the public key, which only verifies.
///
/// # Errors
/// [`BuildError`] when neither key is configured, or the one given is malformed.
pub fn jwt_keys(config: &Config) -> Result<JwtKeys, BuildError> {
    let invalid = |e: JwtError| BuildError::InvalidKey { name: "FITTRACK_JWT_SIGNING_KEY", reason: e.to_string() };
    match (&config.jwt_signing_key, &config.jwt_public_key) {
        (Some(signing), _) => JwtKeys::from_pkcs8(signing.expose_secret()).map_err(invalid),
        (None, Some(public)) => JwtKeys::verifier(public).map_err(invalid),
        (None, None) => Err(BuildError::Missing("FITTRACK_JWT_SIGNING_KEY or FITTRACK_JWT_PUBLIC_KEY")),
    }
}
