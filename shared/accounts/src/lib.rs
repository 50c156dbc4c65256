//! Accounts: registration, email verification, sign-in with sessions and refresh-token rotation,
//! lockout, password recovery, social sign-in and roles.
//!
//! Every rule here is written against the ports only, so it runs the same on DynamoDB and on the
//! embedded store. Each public method is one use case; handlers call exactly one.

mod authentication;
pub mod build;
pub mod crypto;
mod profile;
pub mod records;
mod recovery;
mod registration;
mod sessions;
pub mod social;
mod social_login;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use fittrack_domain::{AccountStatus, EligibilityPolicy, EmailAddress, PasswordPolicy, UserId, ValidationErrors};

use crate::crypto::{JwtKeys, PasswordHasher, PiiCipher};
use crate::social::{IdTokenVerifier, SocialError, SocialProvider};
use fittrack_platform::clock::Clock;
use fittrack_platform::config::{Config, RateLimitedAction, RateLimits};
use fittrack_platform::messages::EmailJob;
use fittrack_platform::ports::{ItemStore, Queue, QueueError, StoreError};
use fittrack_platform::ratelimit::{self, RateDecision};

pub use authentication::{Authenticator, jwt_keys, pii_cipher};
pub use profile::{ProfileUpdate, PublicProfile, TierSummary};
pub use records::{Account, ProfileView, TierView};
pub use registration::{NewUser, RegisterRequest};
pub use sessions::{AuthenticatedUser, TokenPair, revoke_all_sessions};
pub use social_login::{SocialLoginRequest, SocialOutcome};

/// The tunable rules of the accounts use cases.
#[derive(Debug, Clone)]
pub struct AccountPolicy {
    pub eligibility: EligibilityPolicy,
    pub password: PasswordPolicy,
    pub rate_limits: RateLimits,
    /// Base URL of the app, for links in emails.
    pub app_url: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub verification_ttl: Duration,
    pub reset_ttl: Duration,
    pub max_failed_logins: i64,
    pub lockout: Duration,
    /// Answers that must not reveal whether an address has an account (forgot password, resend
    /// verification) take at least this long, whatever work they did.
    pub response_floor: Duration,
}

impl AccountPolicy {
    pub fn from_config(config: &Config) -> Self {
        Self {
            eligibility: config.eligibility.clone(),
            password: PasswordPolicy::default(),
            rate_limits: config.rate_limits.clone(),
            app_url: config.app_url.clone(),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            verification_ttl: Duration::from_secs(24 * 3600),
            reset_ttl: Duration::from_secs(3600),
            max_failed_logins: 5,
            lockout: Duration::from_secs(15 * 60),
            response_floor: Duration::from_millis(300),
        }
    }
}

/// Refuses a sign-in to an account an admin suspended or banned.
///
/// # Errors
/// [`AccountError::AccountDisabled`].
pub(crate) fn require_usable(account: &records::AccountRecord) -> Result<(), AccountError> {
    if account.status.is_usable() { Ok(()) } else { Err(AccountError::AccountDisabled(account.status)) }
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("invalid input")]
    Validation(#[from] ValidationErrors),
    #[error("email or password is wrong")]
    InvalidCredentials,
    #[error("email address not verified")]
    EmailNotVerified,
    /// Suspended or banned by an admin: no sign-in, no refresh.
    #[error("account {0}")]
    AccountDisabled(AccountStatus),
    #[error("account locked")]
    AccountLocked { retry_after: Duration },
    #[error("too many requests")]
    RateLimited(RateDecision),
    /// A one-time (verification or reset) token that is unknown, used or expired.
    #[error("token invalid or expired")]
    InvalidToken,
    #[error("refresh token invalid, expired or revoked")]
    InvalidRefreshToken,
    #[error("refresh token reused; the session was revoked")]
    RefreshTokenReused,
    #[error("authentication required")]
    Unauthenticated,
    #[error("not allowed")]
    Forbidden,
    #[error("social sign-in failed: {0}")]
    Social(#[from] SocialError),
    #[error("profile incomplete")]
    ProfileIncomplete { missing: Vec<&'static str> },
    #[error("not found")]
    NotFound,
    #[error("account already exists")]
    AlreadyExists,
    /// A social identity matches an account that proves itself otherwise (a password): sign in
    /// that way first, then link.
    #[error("sign in to link this identity")]
    LinkRequired,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Who is asking: the client address, as the transport saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub address: Option<String>,
}

#[derive(Clone)]
pub struct AccountService {
    store: Arc<dyn ItemStore>,
    queue: Arc<dyn Queue>,
    pii: Arc<PiiCipher>,
    auth: Authenticator,
    passwords: PasswordHasher,
    clock: Arc<dyn Clock>,
    policy: Arc<AccountPolicy>,
    google: Arc<IdTokenVerifier>,
    apple: Arc<IdTokenVerifier>,
}

/// Everything an [`AccountService`] is built from.
pub struct AccountDeps {
    pub store: Arc<dyn ItemStore>,
    pub queue: Arc<dyn Queue>,
    pub pii: Arc<PiiCipher>,
    pub jwt: Arc<JwtKeys>,
    pub passwords: PasswordHasher,
    pub clock: Arc<dyn Clock>,
    pub policy: AccountPolicy,
    pub google: IdTokenVerifier,
    pub apple: IdTokenVerifier,
}

impl AccountService {
    pub fn new(deps: AccountDeps) -> Self {
        Self {
            store: Arc::clone(&deps.store),
            queue: deps.queue,
            auth: Authenticator::new(
                Arc::clone(&deps.store),
                Arc::clone(&deps.pii),
                deps.jwt,
                Arc::clone(&deps.clock),
                deps.policy.rate_limits.clone(),
            ),
            pii: deps.pii,
            passwords: deps.passwords,
            clock: deps.clock,
            policy: Arc::new(deps.policy),
            google: Arc::new(deps.google),
            apple: Arc::new(deps.apple),
        }
    }

    /// The session check and profile gate this service signs users in for.
    pub fn authenticator(&self) -> &Authenticator {
        &self.auth
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn email_hash(&self, canonical_email: &str) -> String {
        self.pii.lookup_hash("email", canonical_email)
    }

    fn link(&self, path: &str, token: &str) -> String {
        format!("{}/{path}?token={token}", self.policy.app_url)
    }

    /// Runs `work`, then waits out the rest of the response floor: the answer takes as long for an
    /// unknown address as for a known one.
    async fn with_response_floor<T>(&self, work: impl std::future::Future<Output = T>) -> T {
        let started = tokio::time::Instant::now();
        let result = work.await;
        tokio::time::sleep_until(started + self.policy.response_floor).await;
        result
    }

    /// Queues an email, unless its recipient had their hourly share of that kind already: nobody
    /// can use our forms to flood an inbox. Shares are per kind, so notices a stranger triggers
    /// (an "account exists" per sign-up attempt) never use up the owner's reset or unlock links;
    /// and what a stranger triggers of those kinds lands in the owner's inbox as working links. A
    /// security notice (password changed) always goes.
    async fn enqueue(&self, job: &EmailJob) -> Result<(), AccountError> {
        if job.template != fittrack_platform::messages::EmailTemplate::PasswordChanged {
            let canonical = EmailAddress::parse(&job.to).map_or_else(|_| job.to.to_lowercase(), |e| e.canonical());
            let recipient = self.pii.lookup_hash("recipient", &format!("{}:{canonical}", job.template.name()));
            let action = RateLimitedAction::EmailsToRecipient;
            let limit = self.policy.rate_limits.get(action);
            if !ratelimit::hit(self.store.as_ref(), action, &recipient, limit, self.now()).await?.allowed {
                tracing::info!(template = job.template.name(), "email not sent: the recipient's hourly share is spent");
                return Ok(());
            }
        }
        fittrack_platform::messages::send(self.queue.as_ref(), job).await?;
        Ok(())
    }

    /// Counts the request against the client's limit for `action`.
    async fn rate_limit(&self, action: RateLimitedAction, client: &ClientInfo) -> Result<RateDecision, AccountError> {
        let address = ratelimit::client_subject(client.address.as_deref().unwrap_or("unknown"));
        let client_hash = self.pii.lookup_hash("client-address", &address);
        let decision =
            ratelimit::hit(self.store.as_ref(), action, &client_hash, self.policy.rate_limits.get(action), self.now())
                .await?;
        if decision.allowed { Ok(decision) } else { Err(AccountError::RateLimited(decision)) }
    }

    fn verifier(&self, provider: SocialProvider) -> &IdTokenVerifier {
        match provider {
            SocialProvider::Google => &self.google,
            SocialProvider::Apple => &self.apple,
        }
    }

    /// The account of `user`, decrypted.
    ///
    /// # Errors
    /// [`AccountError::NotFound`]; store failures.
    pub async fn account(&self, user: UserId) -> Result<Account, AccountError> {
        self.auth.account(user).await
    }

    /// The account registered under `email` (parsed and compared case-insensitively), if any.
    async fn account_by_email(&self, email: &str) -> Result<Option<Account>, AccountError> {
        let email = fittrack_domain::EmailAddress::parse(email).map_err(ValidationErrors::single)?;
        let guard_key = records::email_key(&self.email_hash(&email.canonical()));
        match records::load::<records::EmailGuard>(self.store.as_ref(), &guard_key).await? {
            Some(guard) => Ok(Some(self.account(guard.user_id).await?)),
            None => Ok(None),
        }
    }
}

fn epoch(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
