//! HTTP glue shared by the Lambda functions and `fittrack serve`.
//!
//! - [`problem`]: the one mapping from application errors to RFC 7807 responses.
//! - [`extract`]: JSON bodies with problem rejections, the authenticated caller, the client address.
//! - [`pagination`]: `?limit=&cursor=` in, `{items, pagination}` out, on every list.
//! - [`middleware`]: request ids, JSON access logs, security headers, panics as 500s, body limit.
//! - [`routes`]: one router per resource group; [`app`] merges them with the middleware.

pub mod extract;
#[cfg(feature = "lambda-test-events")]
pub mod lambda_events;
pub mod middleware;
pub mod pagination;
pub mod problem;
pub mod routes;

use axum::Router;
use secrecy::SecretString;

use fittrack_core::points::PointsEngine;
use fittrack_core::sync::SyncService;
use fittrack_core::{AccountService, Config};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub accounts: AccountService,
    pub points: PointsEngine,
    /// Tracker connections: in `fittrack serve` and the connections function.
    pub sync: Option<SyncService>,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// The web app, where a browser returns after connecting a tracker.
    pub app_url: String,
    pub webhooks: WebhookSecrets,
}

/// What the providers' webhook calls must present.
#[derive(Clone, Default)]
pub struct WebhookSecrets {
    pub google_health: Option<SecretString>,
    pub strava_verify_token: Option<SecretString>,
    /// Events of any other Strava subscription are ignored.
    pub strava_subscription_id: Option<u64>,
}

impl AppState {
    pub fn new(config: &Config, accounts: AccountService, points: PointsEngine) -> Self {
        Self {
            accounts,
            points,
            sync: None,
            trust_forwarded_for: config.trust_forwarded_for,
            app_url: config.app_url.clone(),
            webhooks: WebhookSecrets {
                google_health: config.trackers.google_health_webhook_secret.clone(),
                strava_verify_token: config.trackers.strava_webhook_verify_token.clone(),
                strava_subscription_id: config.trackers.strava_subscription_id,
            },
        }
    }

    pub fn with_sync(self, sync: SyncService) -> Self {
        Self { sync: Some(sync), ..self }
    }
}

/// The accounts function: auth, users and profiles, tiers, admin users, JWKS and health.
pub fn accounts_app(state: AppState) -> Router {
    let routes = routes::accounts::router().merge(routes::profiles::router()).merge(routes::health::router());
    middleware::wrap(routes.with_state(state))
}

/// The points function: device ingestion, balance and ledger, and health.
pub fn points_app(state: AppState) -> Router {
    middleware::wrap(routes::points::router().merge(routes::health::router()).with_state(state))
}

/// The connections function: tracker connections, OAuth callbacks, provider webhooks, health.
pub fn connections_app(state: AppState) -> Router {
    let routes = routes::connections::router().merge(routes::webhooks::router()).merge(routes::health::router());
    middleware::wrap(routes.with_state(state))
}

/// Every route of every function, as `fittrack serve` mounts them.
pub fn app(state: AppState) -> Router {
    let routes = routes::accounts::router()
        .merge(routes::profiles::router())
        .merge(routes::points::router())
        .merge(routes::connections::router())
        .merge(routes::webhooks::router())
        .merge(routes::health::router());
    middleware::wrap(routes.with_state(state))
}
