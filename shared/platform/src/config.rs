//! One typed configuration, read once at start from the environment (on Lambda, from the
//! template's parameters; locally, with generated keys filled in by `fittrack serve`).

use std::collections::HashMap;
use std::time::Duration;

use secrecy::SecretString;

use fittrack_domain::EligibilityPolicy;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// A limit of `max` requests per `window`, per client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u32,
    pub window: Duration,
}

impl RateLimit {
    pub const fn per(max: u32, window_secs: u64) -> Self {
        Self { max, window: Duration::from_secs(window_secs) }
    }

    fn parse(text: &str) -> Option<Self> {
        let (max, secs) = text.split_once('/')?;
        Some(Self::per(max.trim().parse().ok()?, secs.trim().parse().ok()?))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateLimitedAction {
    Register,
    Login,
    ForgotPassword,
    ResetPassword,
    ResendVerification,
    /// A user asking for a tracker sync now (keyed by user, not address).
    ManualSync,
    /// Nonces for Google and Apple sign-in (each is a stored item).
    SocialNonce,
    /// Device batches uploaded by the phone app (keyed by user, not address).
    DeviceUpload,
    /// Emails our forms send to one address (keyed by the recipient).
    EmailsToRecipient,
    /// Requests for a sign-in link past a lockout.
    Unlock,
}

impl RateLimitedAction {
    pub const ALL: [Self; 10] = [
        Self::Register,
        Self::Login,
        Self::ForgotPassword,
        Self::ResetPassword,
        Self::ResendVerification,
        Self::ManualSync,
        Self::SocialNonce,
        Self::DeviceUpload,
        Self::EmailsToRecipient,
        Self::Unlock,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Login => "login",
            Self::ForgotPassword => "forgot_password",
            Self::ResetPassword => "reset_password",
            Self::ResendVerification => "resend_verification",
            Self::ManualSync => "manual_sync",
            Self::SocialNonce => "social_nonce",
            Self::DeviceUpload => "device_upload",
            Self::EmailsToRecipient => "emails_to_recipient",
            Self::Unlock => "unlock",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits(pub HashMap<RateLimitedAction, RateLimit>);

impl Default for RateLimits {
    fn default() -> Self {
        use RateLimitedAction::*;
        Self(HashMap::from([
            (Register, RateLimit::per(3, 60)),
            (Login, RateLimit::per(5, 60)),
            (ForgotPassword, RateLimit::per(3, 3600)),
            (ResetPassword, RateLimit::per(5, 3600)),
            (ResendVerification, RateLimit::per(3, 3600)),
            (ManualSync, RateLimit::per(6, 3600)),
            (SocialNonce, RateLimit::per(20, 60)),
            // A phone uploads every few minutes at most; a few devices stay well inside this.
            (DeviceUpload, RateLimit::per(120, 3600)),
            (EmailsToRecipient, RateLimit::per(5, 3600)),
            (Unlock, RateLimit::per(3, 3600)),
        ]))
    }
}

impl RateLimits {
    pub fn get(&self, action: RateLimitedAction) -> RateLimit {
        self.0.get(&action).copied().unwrap_or(RateLimit::per(u32::MAX, 1))
    }

    /// Overrides from `login=5/60,register=3/60`.
    fn with_overrides(mut self, spec: &str) -> Result<Self, String> {
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, limit) = part.split_once('=').ok_or_else(|| format!("`{part}` is not name=max/seconds"))?;
            let action = RateLimitedAction::ALL
                .into_iter()
                .find(|a| a.name() == name.trim())
                .ok_or_else(|| format!("unknown action `{name}`"))?;
            let limit = RateLimit::parse(limit).ok_or_else(|| format!("`{limit}` is not max/seconds"))?;
            self.0.insert(action, limit);
        }
        Ok(self)
    }
}

/// One OpenID provider whose ID tokens we accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProviderConfig {
    /// Accepted `aud` values (web, iOS and Android clients have different ids). Empty disables it.
    pub client_ids: Vec<String>,
    pub issuers: Vec<String>,
    pub jwks_url: String,
}

/// A tracker provider's OAuth client and endpoints. Base URLs are configurable so tests (and
/// staging) can point the adapters at fakes.
#[derive(Debug, Clone)]
pub struct OAuthClientConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    pub auth_url: String,
    pub token_url: String,
    pub revoke_url: String,
    /// The data API's base, e.g. `https://health.googleapis.com/v4beta`.
    pub api_url: String,
}

/// The trackers this deployment offers beyond the device ingest; a provider without a client id
/// is off.
#[derive(Debug, Clone, Default)]
pub struct TrackerConfig {
    pub google_health: Option<OAuthClientConfig>,
    pub strava: Option<OAuthClientConfig>,
    /// The secret Google Health sends in `Authorization` on every webhook (set on the subscriber).
    pub google_health_webhook_secret: Option<SecretString>,
    /// The `hub.verify_token` we gave Strava when creating the push subscription.
    pub strava_webhook_verify_token: Option<SecretString>,
    /// The id of our Strava push subscription: events naming another are ignored.
    pub strava_subscription_id: Option<u64>,
    /// Offer the simulated tracker (local runs and demos; never in production).
    pub simulated: bool,
}

/// Where drawings take their randomness from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeaconSource {
    /// drand quicknet at `url` (`https://api.drand.sh` by default): verifiable by anyone.
    Drand { url: String },
    /// Commit-reveal with the OS CSPRNG: for `fittrack serve` and deployments without internet.
    CommitReveal,
}

/// The facts every drawing's official rules and draw depend on.
#[derive(Debug, Clone)]
pub struct DrawingsConfig {
    pub beacon: BeaconSource,
    /// Prizes at or above this ARV are reported on IRS Form 1099-MISC ($2,000 from 2026; was $600).
    pub tax_threshold_cents: u64,
    /// Days a winner has to confirm a shipping address before the prize goes to the next alternate.
    pub claim_days: u32,
    /// Where mail-in entries are sent (printed in the official rules).
    pub mail_in_address: String,
    /// Who administers the drawings (printed in the official rules).
    pub operator: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Base of the links in emails, e.g. `https://app.fittrack.example`.
    pub app_url: String,
    /// Needed by the functions that issue tokens or touch PII; the email worker has neither.
    pub jwt_signing_key: Option<SecretString>,
    /// The signing key's public half (`x` of the JWKS): all that functions which only verify
    /// tokens get.
    pub jwt_public_key: Option<String>,
    pub pii_key: Option<SecretString>,
    /// Seals tracker grants and PKCE verifiers: its own key, so the tracker-facing functions hold
    /// no key to personal data and a leak of one opens nothing of the other.
    pub tracker_key: Option<SecretString>,
    pub eligibility: EligibilityPolicy,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// Serve the API reference (`/openapi.json`, `/docs`): `FITTRACK_API_DOCS`, default true.
    pub api_docs: bool,
    pub rate_limits: RateLimits,
    pub google: OidcProviderConfig,
    pub apple: OidcProviderConfig,
    pub users_table: String,
    pub points_table: String,
    pub tickets_table: String,
    pub leaderboards_table: String,
    pub audit_table: String,
    pub email_queue_url: Option<String>,
    pub sync_queue_url: Option<String>,
    pub point_events_queue_url: Option<String>,
    pub email_from: String,
    /// Where browsers reach the API (OAuth redirects come back here); defaults to `app_url`.
    pub api_url: String,
    pub trackers: TrackerConfig,
    /// How often each tracker connection is synced.
    pub sync_interval: std::time::Duration,
    pub drawings: DrawingsConfig,
}

impl Config {
    /// The configuration from the process environment (an empty variable counts as unset).
    ///
    /// # Errors
    /// As [`Config::from_lookup`].
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// The configuration from `get`, which answers a variable's value or `None`; unset ones take defaults.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the variable for an unknown state in `FITTRACK_EXCLUDED_STATES`, a
    /// malformed `FITTRACK_RATE_LIMITS`, a flag other than true/false/1/0 (`FITTRACK_TRUST_FORWARDED_FOR`,
    /// `FITTRACK_API_DOCS`), a non-numeric `FITTRACK_STRAVA_SUBSCRIPTION_ID`, or a
    /// `FITTRACK_SYNC_INTERVAL_SECS` outside 60 to 86400. Missing keys are not errors here.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let or = |name: &str, default: &str| get(name).unwrap_or_else(|| default.to_owned());
        let list = |name: &str| -> Vec<String> {
            get(name)
                .map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
                .unwrap_or_default()
        };
        let secret = |name: &str| get(name).map(SecretString::from);
        let eligibility = match get("FITTRACK_EXCLUDED_STATES") {
            Some(codes) => EligibilityPolicy::from_codes(&codes)
                .map_err(|e| ConfigError::Invalid { name: "FITTRACK_EXCLUDED_STATES", reason: e.message })?,
            None => EligibilityPolicy::default(),
        };
        let rate_limits = RateLimits::default()
            .with_overrides(&or("FITTRACK_RATE_LIMITS", ""))
            .map_err(|reason| ConfigError::Invalid { name: "FITTRACK_RATE_LIMITS", reason })?;
        let flag = |name: &'static str, default: &str| match or(name, default).as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(ConfigError::Invalid { name, reason: format!("`{other}` is not true/false") }),
        };
        let trust_forwarded_for = flag("FITTRACK_TRUST_FORWARDED_FOR", "false")?;
        let api_docs = flag("FITTRACK_API_DOCS", "true")?;
        let oauth_client = |prefix: &str, defaults: [&str; 4]| -> Option<OAuthClientConfig> {
            let var = |suffix: &str| format!("FITTRACK_{prefix}_{suffix}");
            Some(OAuthClientConfig {
                client_id: get(&var("CLIENT_ID"))?,
                client_secret: secret(&var("CLIENT_SECRET")).unwrap_or_else(|| SecretString::from(String::new())),
                auth_url: or(&var("AUTH_URL"), defaults[0]),
                token_url: or(&var("TOKEN_URL"), defaults[1]),
                revoke_url: or(&var("REVOKE_URL"), defaults[2]),
                api_url: or(&var("API_URL"), defaults[3]).trim_end_matches('/').to_owned(),
            })
        };
        let trackers = TrackerConfig {
            google_health: oauth_client(
                "GOOGLE_HEALTH",
                [
                    "https://accounts.google.com/o/oauth2/v2/auth",
                    "https://oauth2.googleapis.com/token",
                    "https://oauth2.googleapis.com/revoke",
                    "https://health.googleapis.com/v4beta",
                ],
            ),
            strava: oauth_client(
                "STRAVA",
                [
                    "https://www.strava.com/oauth/authorize",
                    "https://www.strava.com/oauth/token",
                    "https://www.strava.com/oauth/deauthorize",
                    "https://www.strava.com/api/v3",
                ],
            ),
            google_health_webhook_secret: secret("FITTRACK_GOOGLE_HEALTH_WEBHOOK_SECRET"),
            strava_webhook_verify_token: secret("FITTRACK_STRAVA_WEBHOOK_VERIFY_TOKEN"),
            strava_subscription_id: match get("FITTRACK_STRAVA_SUBSCRIPTION_ID") {
                None => None,
                Some(raw) => Some(raw.parse::<u64>().map_err(|_| ConfigError::Invalid {
                    name: "FITTRACK_STRAVA_SUBSCRIPTION_ID",
                    reason: format!("`{raw}` is not a subscription id"),
                })?),
            },
            simulated: matches!(or("FITTRACK_SIMULATED_TRACKER", "false").as_str(), "true" | "1"),
        };
        let sync_interval = match get("FITTRACK_SYNC_INTERVAL_SECS") {
            None => std::time::Duration::from_secs(15 * 60),
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .filter(|s| (60..=86_400).contains(s))
                .map(std::time::Duration::from_secs)
                .ok_or(ConfigError::Invalid {
                    name: "FITTRACK_SYNC_INTERVAL_SECS",
                    reason: format!("`{raw}` is not a number of seconds from 60 to 86400"),
                })?,
        };
        let number = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            let raw = or(name, &default.to_string());
            raw.parse::<u64>().map_err(|_| ConfigError::Invalid { name, reason: format!("`{raw}` is not a number") })
        };
        let beacon = match or("FITTRACK_BEACON", "commit_reveal").as_str() {
            "drand" => BeaconSource::Drand { url: or("FITTRACK_DRAND_URL", "https://api.drand.sh") },
            "commit_reveal" => BeaconSource::CommitReveal,
            other => {
                return Err(ConfigError::Invalid {
                    name: "FITTRACK_BEACON",
                    reason: format!("`{other}` is not drand or commit_reveal"),
                });
            }
        };
        let drawings = DrawingsConfig {
            beacon,
            tax_threshold_cents: number("FITTRACK_PRIZE_TAX_THRESHOLD_CENTS", 200_000)?,
            claim_days: u32::try_from(number("FITTRACK_PRIZE_CLAIM_DAYS", 14)?).unwrap_or(14),
            mail_in_address: or(
                "FITTRACK_MAIL_IN_ADDRESS",
                "FitTrack Sweepstakes Entries, PO Box 1000, Wilmington, DE 19899",
            ),
            operator: or("FITTRACK_OPERATOR_NAME", "FitTrack"),
        };
        let app_url = or("FITTRACK_APP_URL", "http://127.0.0.1:3000").trim_end_matches('/').to_owned();
        Ok(Self {
            api_url: get("FITTRACK_API_URL").map_or_else(|| app_url.clone(), |u| u.trim_end_matches('/').to_owned()),
            trackers,
            sync_interval,
            drawings,
            app_url,
            jwt_signing_key: secret("FITTRACK_JWT_SIGNING_KEY"),
            jwt_public_key: get("FITTRACK_JWT_PUBLIC_KEY"),
            pii_key: secret("FITTRACK_PII_KEY"),
            tracker_key: secret("FITTRACK_TRACKER_KEY"),
            eligibility,
            trust_forwarded_for,
            api_docs,
            rate_limits,
            google: OidcProviderConfig {
                client_ids: list("FITTRACK_GOOGLE_CLIENT_IDS"),
                issuers: vec!["https://accounts.google.com".into(), "accounts.google.com".into()],
                jwks_url: or("FITTRACK_GOOGLE_JWKS_URL", "https://www.googleapis.com/oauth2/v3/certs"),
            },
            apple: OidcProviderConfig {
                client_ids: list("FITTRACK_APPLE_CLIENT_IDS"),
                issuers: vec!["https://appleid.apple.com".into()],
                jwks_url: or("FITTRACK_APPLE_JWKS_URL", "https://appleid.apple.com/auth/keys"),
            },
            users_table: or("FITTRACK_USERS_TABLE", "fittrack-users"),
            points_table: or("FITTRACK_POINTS_TABLE", "fittrack-points"),
            tickets_table: or("FITTRACK_TICKETS_TABLE", "fittrack-tickets"),
            leaderboards_table: or("FITTRACK_LEADERBOARDS_TABLE", "fittrack-leaderboards"),
            audit_table: or("FITTRACK_AUDIT_TABLE", "fittrack-audit"),
            email_queue_url: get("FITTRACK_EMAIL_QUEUE_URL"),
            sync_queue_url: get("FITTRACK_SYNC_QUEUE_URL"),
            point_events_queue_url: get("FITTRACK_POINT_EVENTS_QUEUE_URL"),
            email_from: or("FITTRACK_EMAIL_FROM", "FitTrack <no-reply@fittrack.example>"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn secrets_are_optional_until_a_service_needs_them() {
        let config = Config::from_lookup(lookup(&[("FITTRACK_PII_KEY", "x")])).unwrap();
        assert!(config.pii_key.is_some());
        assert!(config.jwt_signing_key.is_none());
    }

    #[test]
    fn defaults_and_overrides() {
        let base = [("FITTRACK_PII_KEY", "x"), ("FITTRACK_JWT_SIGNING_KEY", "y")];
        let config = Config::from_lookup(lookup(&base)).unwrap();
        assert_eq!(config.rate_limits.get(RateLimitedAction::Login), RateLimit::per(5, 60));
        assert_eq!(config.eligibility, EligibilityPolicy::default());
        assert!(!config.trust_forwarded_for);

        let mut with = base.to_vec();
        with.extend([("FITTRACK_RATE_LIMITS", "login=50/10"), ("FITTRACK_EXCLUDED_STATES", "")]);
        let config = Config::from_lookup(lookup(&with)).unwrap();
        assert_eq!(config.rate_limits.get(RateLimitedAction::Login), RateLimit::per(50, 10));
        assert!(config.eligibility.excluded_states.is_empty());

        let mut bad = base.to_vec();
        bad.push(("FITTRACK_RATE_LIMITS", "login=lots"));
        assert!(matches!(Config::from_lookup(lookup(&bad)), Err(ConfigError::Invalid { .. })));
    }
}
