//! The tracker provider port: where activity records come from (Google Health, Strava, the
//! simulated tracker of local runs). Device uploads arrive through the ingest endpoint instead.
//!
//! Providers that need the user's grant also implement [`OAuthFlow`]: the authorization-code flow
//! with PKCE and state, token refresh and revocation. The application stores the tokens
//! (encrypted) and hands the access token to [`TrackerProvider::fetch`].

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use fittrack_domain::UserId;
use fittrack_domain::activity::Activity;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackerError {
    /// The access token was refused: refresh it, or, if refreshing is refused too, the connection
    /// needs the user again.
    #[error("tracker authorization no longer valid")]
    Unauthorized,
    #[error("tracker rate limit; retry after {0:?}")]
    RateLimited(Duration),
    #[error("tracker unavailable: {0}")]
    Unavailable(String),
    /// The provider answered with something we cannot read (a contract change on their side).
    #[error("tracker answered unexpectedly: {0}")]
    Protocol(String),
}

/// A user's grant at a provider, as the token endpoint returned it.
#[derive(Debug, Clone)]
pub struct ProviderTokens {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The user's id at the provider (Strava athlete id, Google Health user id): how webhooks name
    /// the user.
    pub provider_user_id: Option<String>,
}

/// Where to send the user, and what to keep until they come back.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub url: String,
    /// The CSRF `state`: single use, it also names the pending authorization on return.
    pub state: SecretString,
    /// The PKCE verifier (RFC 7636) that the code exchange must present.
    pub pkce_verifier: SecretString,
}

/// The OAuth 2.0 side of a provider.
///
/// # Contract
/// - `authorize` MUST produce a fresh random `state` and PKCE verifier on every call.
/// - `refresh` MUST answer [`TrackerError::Unauthorized`] when the provider refuses the refresh
///   token (`invalid_grant`), and a transient error otherwise.
/// - `revoke` revokes the grant at the provider; revoking a grant that is already gone succeeds.
#[async_trait]
pub trait OAuthFlow: Send + Sync {
    fn authorize(&self, redirect_uri: &str) -> AuthorizationRequest;
    /// Exchanges the authorization `code`, with its PKCE verifier, for the user's grant.
    ///
    /// # Errors
    /// [`TrackerError::Unauthorized`] when the provider refuses the code (`invalid_grant`);
    /// [`TrackerError::Unavailable`] or [`TrackerError::Protocol`] when it cannot be reached or answers
    /// unexpectedly.
    async fn exchange_code(
        &self,
        code: &str,
        pkce_verifier: &str,
        redirect_uri: &str,
    ) -> Result<ProviderTokens, TrackerError>;
    /// A fresh grant from `refresh_token`.
    ///
    /// # Errors
    /// [`TrackerError::Unauthorized`] when the provider refuses the refresh token; a transient error
    /// otherwise (see the contract).
    async fn refresh(&self, refresh_token: &str) -> Result<ProviderTokens, TrackerError>;
    /// Revokes the grant at the provider.
    ///
    /// # Errors
    /// [`TrackerError::Unavailable`] or [`TrackerError::Protocol`] when the provider cannot be reached
    /// or refuses; [`TrackerError::Unauthorized`] from a provider that answers so for a grant already
    /// gone (callers count that as revoked).
    async fn revoke(&self, tokens: &ProviderTokens) -> Result<(), TrackerError>;
}

/// # Contract
/// - `fetch` MUST return the records that ended in `[from, to)`, each with a stable `source_id`,
///   so fetching an overlapping window again yields the same records (and changes nothing).
/// - Providers with an [`OAuthFlow`] receive the current access token; others receive `None`.
#[async_trait]
pub trait TrackerProvider: Send + Sync {
    /// The provider's name in routes and records, e.g. `simulated`.
    fn name(&self) -> &'static str;
    /// The authorization flow, for providers that need the user's grant.
    fn oauth(&self) -> Option<&dyn OAuthFlow> {
        None
    }
    /// The user's records that ended in `[from, to)`.
    ///
    /// # Errors
    /// [`TrackerError::Unauthorized`] when the provider refuses `access_token`; [`TrackerError::RateLimited`]
    /// with the provider's delay; [`TrackerError::Unavailable`] or [`TrackerError::Protocol`] otherwise.
    async fn fetch(
        &self,
        access_token: Option<&str>,
        user: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Activity>, TrackerError>;
}
