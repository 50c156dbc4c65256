//! Verifies Google and Apple ID tokens: RS256 signature against the provider's published keys
//! (cached as the provider's Cache-Control allows, refetched when an unknown key id appears),
//! then issuer, audience, expiry and nonce.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use subtle::ConstantTimeEq;
use tokio::sync::RwLock;

use fittrack_platform::config::OidcProviderConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SocialProvider {
    Google,
    Apple,
}

impl SocialProvider {
    pub fn name(self) -> &'static str {
        match self {
            SocialProvider::Google => "google",
            SocialProvider::Apple => "apple",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocialIdentity {
    pub provider: SocialProvider,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    /// The provider vouches that the signer owns the address: what linking by email needs. Google
    /// only for Gmail addresses and for Workspace addresses of the token's hosted domain (`hd`),
    /// as Google advises; a verified address of another domain at Google proves less. Apple
    /// whenever it says verified.
    pub email_authoritative: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SocialError {
    #[error("sign-in with this provider is not configured")]
    NotConfigured,
    #[error("ID token rejected: {0}")]
    Rejected(String),
    #[error("provider keys unavailable: {0}")]
    KeysUnavailable(String),
}

const DEFAULT_KEY_TTL: Duration = Duration::from_secs(3600);
/// An unknown `kid` triggers a refetch at most this often, so forged tokens cannot make us hammer
/// the provider.
const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

struct KeyCache {
    keys: JwkSet,
    fetched_at: Instant,
    ttl: Duration,
}

pub struct IdTokenVerifier {
    provider: SocialProvider,
    config: OidcProviderConfig,
    http: reqwest::Client,
    cache: RwLock<Option<KeyCache>>,
}

#[derive(Deserialize)]
struct IdClaims {
    sub: String,
    #[serde(default)]
    email: Option<String>,
    /// Google sends a boolean, Apple sometimes the string "true".
    #[serde(default)]
    email_verified: Option<Value>,
    #[serde(default)]
    nonce: Option<String>,
    /// Google Workspace: the hosted domain of the account.
    #[serde(default)]
    hd: Option<String>,
}

impl IdTokenVerifier {
    pub fn new(provider: SocialProvider, config: OidcProviderConfig, http: reqwest::Client) -> Self {
        Self { provider, config, http, cache: RwLock::new(None) }
    }

    /// Verifies a provider ID token and that it carries `expected_nonce`; returns who signed in.
    ///
    /// # Errors
    /// [`SocialError::NotConfigured`] when no client id is configured for the provider;
    /// [`SocialError::Rejected`] for a malformed token, a non-RS256 or unknown key, a bad signature, a wrong
    /// issuer or audience, an expired token or a nonce mismatch; [`SocialError::KeysUnavailable`] when the
    /// provider's keys cannot be fetched.
    pub async fn verify(&self, id_token: &str, expected_nonce: &str) -> Result<SocialIdentity, SocialError> {
        if self.config.client_ids.is_empty() {
            return Err(SocialError::NotConfigured);
        }
        let header = jsonwebtoken::decode_header(id_token).map_err(|e| SocialError::Rejected(e.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(SocialError::Rejected("unexpected signing algorithm".into()));
        }
        let kid = header.kid.ok_or_else(|| SocialError::Rejected("no key id".into()))?;
        let key = self.key_for(&kid).await?;

        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&self.config.issuers);
        validation.set_audience(&self.config.client_ids);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 60;
        let claims = jsonwebtoken::decode::<IdClaims>(id_token, &key, &validation)
            .map_err(|e| SocialError::Rejected(e.to_string()))?
            .claims;

        let nonce_ok =
            claims.nonce.as_deref().is_some_and(|n| bool::from(n.as_bytes().ct_eq(expected_nonce.as_bytes())));
        if !nonce_ok {
            return Err(SocialError::Rejected("nonce mismatch".into()));
        }
        let email_verified = matches!(claims.email_verified, Some(Value::Bool(true)))
            || claims.email_verified == Some(Value::String("true".into()));
        let domain = claims.email.as_deref().and_then(|e| e.rsplit_once('@')).map(|(_, d)| d.to_ascii_lowercase());
        let email_authoritative = email_verified
            && match self.provider {
                SocialProvider::Google => domain.as_deref().is_some_and(|d| {
                    d == "gmail.com" || claims.hd.as_deref().is_some_and(|hd| hd.eq_ignore_ascii_case(d))
                }),
                SocialProvider::Apple => true,
            };
        Ok(SocialIdentity {
            provider: self.provider,
            subject: claims.sub,
            email: claims.email,
            email_verified,
            email_authoritative,
        })
    }

    async fn key_for(&self, kid: &str) -> Result<DecodingKey, SocialError> {
        {
            let cache = self.cache.read().await;
            if let Some(cache) = cache.as_ref() {
                let fresh = cache.fetched_at.elapsed() < cache.ttl;
                match cache.keys.find(kid) {
                    Some(jwk) if fresh => {
                        return DecodingKey::from_jwk(jwk).map_err(|e| SocialError::Rejected(e.to_string()));
                    }
                    None if cache.fetched_at.elapsed() < MIN_REFETCH_INTERVAL => {
                        return Err(SocialError::Rejected("unknown key id".into()));
                    }
                    _ => {}
                }
            }
        }
        let mut cache = self.cache.write().await;
        // Another request may have refreshed while we waited for the lock.
        let stale = cache.as_ref().is_none_or(|c| c.fetched_at.elapsed() >= MIN_REFETCH_INTERVAL.min(c.ttl));
        if stale {
            *cache = Some(self.fetch().await?);
        }
        let jwk = cache
            .as_ref()
            .and_then(|c| c.keys.find(kid))
            .ok_or_else(|| SocialError::Rejected("unknown key id".into()))?;
        DecodingKey::from_jwk(jwk).map_err(|e| SocialError::Rejected(e.to_string()))
    }

    async fn fetch(&self) -> Result<KeyCache, SocialError> {
        let unavailable = |e: reqwest::Error| SocialError::KeysUnavailable(e.to_string());
        let response = self
            .http
            .get(&self.config.jwks_url)
            .send()
            .await
            .map_err(unavailable)?
            .error_for_status()
            .map_err(unavailable)?;
        let ttl = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age)
            .map_or(DEFAULT_KEY_TTL, |ttl| ttl.clamp(MIN_REFETCH_INTERVAL, Duration::from_secs(86_400)));
        let keys = response.json::<JwkSet>().await.map_err(unavailable)?;
        tracing::info!(
            provider = self.provider.name(),
            keys = keys.keys.len(),
            ttl_secs = ttl.as_secs(),
            "fetched provider signing keys"
        );
        Ok(KeyCache { keys, fetched_at: Instant::now(), ttl })
    }
}

fn max_age(cache_control: &str) -> Option<Duration> {
    cache_control
        .split(',')
        .find_map(|d| d.trim().strip_prefix("max-age="))
        .and_then(|v| v.trim().parse().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_max_age_from_cache_control() {
        assert_eq!(max_age("public, max-age=19322, must-revalidate"), Some(Duration::from_secs(19322)));
        assert_eq!(max_age("no-cache"), None);
    }
}
