//! What each function serves from. Handlers take the parts they use (`State<PointsEngine>`,
//! `State<Authenticator>`, ...) and every state below hands them out through `FromRef`, so one
//! router serves a Lambda with its own small state and `fittrack serve` with all of them.

use axum::extract::FromRef;
use secrecy::SecretString;

use fittrack_accounts::{AccountService, Authenticator};
use fittrack_notifications::Notifications;
use fittrack_platform::Config;

/// How the API meets its clients: who the client is, where browsers are sent back to, whether
/// the API reference is served.
#[derive(Clone, Debug, Default)]
pub struct HttpSettings {
    /// Take the client address from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// The web app, where a browser returns after connecting a tracker.
    pub app_url: String,
    /// Serve `/openapi.json` and `/docs` (`FITTRACK_API_DOCS`, on unless turned off).
    pub api_docs: bool,
}

impl HttpSettings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            trust_forwarded_for: config.trust_forwarded_for,
            app_url: config.app_url.clone(),
            api_docs: config.api_docs,
        }
    }
}

/// What the providers' webhook calls must present.
#[derive(Clone, Default)]
pub struct WebhookSecrets {
    pub google_health: Option<SecretString>,
    pub strava_verify_token: Option<SecretString>,
    /// Events of any other Strava subscription are ignored.
    pub strava_subscription_id: Option<u64>,
}

impl WebhookSecrets {
    pub fn from_config(config: &Config) -> Self {
        Self {
            google_health: config.trackers.google_health_webhook_secret.clone(),
            strava_verify_token: config.trackers.strava_webhook_verify_token.clone(),
            strava_subscription_id: config.trackers.strava_subscription_id,
        }
    }
}

/// The accounts function.
#[derive(Clone, FromRef)]
pub struct AccountsState {
    pub accounts: AccountService,
    pub auth: Authenticator,
    pub client: HttpSettings,
    /// The user's own notifications and email choices, and the unsubscribe links.
    pub notifications: Notifications,
}

impl AccountsState {
    pub fn new(config: &Config, accounts: AccountService, notifications: Notifications) -> Self {
        Self {
            auth: accounts.authenticator().clone(),
            accounts,
            client: HttpSettings::from_config(config),
            notifications,
        }
    }
}

/// The admin function: users, their status and points, the action log, the analytics.
#[cfg(feature = "admin")]
#[derive(Clone, FromRef)]
pub struct AdminState {
    pub admin: fittrack_admin::AdminService,
    pub analytics: fittrack_analytics::Analytics,
    pub auth: Authenticator,
    pub client: HttpSettings,
}

#[cfg(feature = "admin")]
impl AdminState {
    pub fn new(config: &Config, admin: fittrack_admin::AdminService, auth: Authenticator) -> Self {
        Self { analytics: admin.analytics(), admin, auth, client: HttpSettings::from_config(config) }
    }
}

/// The points function: the engine, and the authenticator its callers are checked with.
#[cfg(feature = "points")]
#[derive(Clone, FromRef)]
pub struct PointsState {
    pub points: fittrack_points::PointsEngine,
    pub auth: Authenticator,
    pub client: HttpSettings,
}

#[cfg(feature = "points")]
impl PointsState {
    pub fn new(config: &Config, points: fittrack_points::PointsEngine, auth: Authenticator) -> Self {
        Self { points, auth, client: HttpSettings::from_config(config) }
    }
}

/// The connections function: tracker connections and the providers' webhooks.
#[cfg(feature = "connections")]
#[derive(Clone, FromRef)]
pub struct ConnectionsState {
    pub sync: fittrack_sync::SyncService,
    pub auth: Authenticator,
    pub client: HttpSettings,
    pub webhooks: WebhookSecrets,
}

#[cfg(feature = "connections")]
impl ConnectionsState {
    pub fn new(config: &Config, sync: fittrack_sync::SyncService, auth: Authenticator) -> Self {
        Self { sync, auth, client: HttpSettings::from_config(config), webhooks: WebhookSecrets::from_config(config) }
    }
}

/// The leaderboards function: the board reads, and the authenticator its callers are checked with.
#[cfg(feature = "leaderboards")]
#[derive(Clone, FromRef)]
pub struct LeaderboardsState {
    pub leaderboards: fittrack_leaderboards::LeaderboardService,
    pub auth: Authenticator,
    pub client: HttpSettings,
}

#[cfg(feature = "leaderboards")]
impl LeaderboardsState {
    pub fn new(config: &Config, leaderboards: fittrack_leaderboards::LeaderboardService, auth: Authenticator) -> Self {
        Self { leaderboards, auth, client: HttpSettings::from_config(config) }
    }
}

/// The drawings function: drawings, tickets, results, and their admin.
#[cfg(feature = "drawings")]
#[derive(Clone, FromRef)]
pub struct DrawingsState {
    pub drawings: fittrack_drawings::DrawingService,
    pub auth: Authenticator,
    pub client: HttpSettings,
}

#[cfg(feature = "drawings")]
impl DrawingsState {
    pub fn new(config: &Config, drawings: fittrack_drawings::DrawingService, auth: Authenticator) -> Self {
        Self { drawings, auth, client: HttpSettings::from_config(config) }
    }
}

/// `fittrack serve`: every function's routes in one server.
#[cfg(all(
    feature = "points",
    feature = "connections",
    feature = "leaderboards",
    feature = "drawings",
    feature = "admin"
))]
#[derive(Clone, FromRef)]
pub struct LocalState {
    pub accounts: AccountService,
    pub auth: Authenticator,
    pub points: fittrack_points::PointsEngine,
    pub sync: fittrack_sync::SyncService,
    pub leaderboards: fittrack_leaderboards::LeaderboardService,
    pub drawings: fittrack_drawings::DrawingService,
    pub notifications: Notifications,
    pub admin: fittrack_admin::AdminService,
    pub analytics: fittrack_analytics::Analytics,
    pub client: HttpSettings,
    pub webhooks: WebhookSecrets,
}

#[cfg(all(
    feature = "points",
    feature = "connections",
    feature = "leaderboards",
    feature = "drawings",
    feature = "admin"
))]
impl LocalState {
    pub fn new(
        config: &Config,
        accounts: AccountService,
        points: fittrack_points::PointsEngine,
        sync: fittrack_sync::SyncService,
        leaderboards: fittrack_leaderboards::LeaderboardService,
        drawings: fittrack_drawings::DrawingService,
        admin: fittrack_admin::AdminService,
    ) -> Self {
        Self {
            auth: accounts.authenticator().clone(),
            accounts,
            points,
            sync,
            leaderboards,
            notifications: drawings.notifications().clone(),
            drawings,
            analytics: admin.analytics(),
            admin,
            client: HttpSettings::from_config(config),
            webhooks: WebhookSecrets::from_config(config),
        }
    }
}
