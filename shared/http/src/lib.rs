//! HTTP glue shared by the Lambda functions and `fittrack serve`.
//!
//! - [`state`]: what each function serves from; handlers and extractors take only the parts they
//!   need (`FromRef`), so a function builds only what its routes use.
//! - [`problem`]: the one mapping from every capability's errors to RFC 7807 responses.
//! - [`extract`]: JSON bodies with problem rejections, the authenticated caller, the client address.
//! - [`pagination`]: `?limit=&cursor=` in, one typed [`pagination::Page`] out, on every list.
//! - [`middleware`]: request ids, JSON access logs, security headers, panics as 500s, body limit.
//! - [`routes`]: one router per resource group; [`openapi`]: the API contract generated from them.
//!
//! Adding a route: put the handler in its capability's router under [`routes`], annotate it with
//! `#[utoipa::path]` and list it in [`openapi::ApiDoc`]; a new error gets its `From` impl in
//! [`problem`]. See docs/architecture.md.

pub mod extract;
#[cfg(feature = "lambda-test-events")]
pub mod lambda_events;
pub mod middleware;
pub mod openapi;
pub mod pagination;
pub mod problem;
pub mod routes;
pub mod state;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

#[cfg(feature = "connections")]
pub use state::ConnectionsState;
#[cfg(all(feature = "points", feature = "connections"))]
pub use state::LocalState;
#[cfg(feature = "points")]
pub use state::PointsState;
pub use state::{AccountsState, HttpSettings, WebhookSecrets};

/// The accounts function: auth, users and profiles, tiers, admin users, JWKS and health; and the
/// API reference (API Gateway routes `/openapi.json` and `/docs` here).
pub fn accounts_app(state: AccountsState) -> Router {
    let routes = routes::accounts::router().merge(routes::profiles::router()).merge(routes::health::router());
    finish(routes, state.client.api_docs, state)
}

/// The points function: device ingestion, balance and ledger, reviews, and health.
#[cfg(feature = "points")]
pub fn points_app(state: PointsState) -> Router {
    finish(routes::points::router().merge(routes::health::router()), false, state)
}

/// The connections function: tracker connections, OAuth callbacks, provider webhooks, health.
#[cfg(feature = "connections")]
pub fn connections_app(state: ConnectionsState) -> Router {
    let routes = routes::connections::router().merge(routes::webhooks::router()).merge(routes::health::router());
    finish(routes, false, state)
}

/// Every route of every function, as `fittrack serve` mounts them.
#[cfg(all(feature = "points", feature = "connections"))]
pub fn app(state: LocalState) -> Router {
    let routes = routes::accounts::router()
        .merge(routes::profiles::router())
        .merge(routes::points::router())
        .merge(routes::connections::router())
        .merge(routes::webhooks::router())
        .merge(routes::health::router());
    finish(routes, state.client.api_docs, state)
}

fn finish<S: Clone + Send + Sync + 'static>(routes: OpenApiRouter<S>, api_docs: bool, state: S) -> Router {
    let (routes, _) = routes.split_for_parts();
    middleware::wrap(openapi::mount(routes, api_docs).with_state(state))
}
