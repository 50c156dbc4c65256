//! HTTP glue shared by the Lambda functions and `fittrack serve`.
//!
//! - [`problem`]: the one mapping from application errors to RFC 7807 responses.
//! - [`extract`]: JSON bodies with problem rejections, the authenticated caller, the client address.
//! - [`pagination`]: `?limit=&cursor=` in, `{items, pagination}` out, on every list.
//! - [`middleware`]: request ids, JSON access logs, security headers, panics as 500s, body limit.
//! - [`routes`]: one router per resource group; [`app`] merges them with the middleware.

pub mod extract;
pub mod middleware;
pub mod pagination;
pub mod problem;
pub mod routes;

use axum::Router;
use fittrack_core::AccountService;
use fittrack_core::points::PointsEngine;
use fittrack_core::sync::SyncService;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub accounts: AccountService,
    pub points: PointsEngine,
    /// Tracker connections; `fittrack serve` has them, the Lambda functions of this release not yet.
    pub sync: Option<SyncService>,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
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

/// Every route of every function, as `fittrack serve` mounts them.
pub fn app(state: AppState) -> Router {
    let routes = routes::accounts::router()
        .merge(routes::profiles::router())
        .merge(routes::points::router())
        .merge(routes::connections::router())
        .merge(routes::health::router());
    middleware::wrap(routes.with_state(state))
}
