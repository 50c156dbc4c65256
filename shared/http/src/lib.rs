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
//! `#[utoipa::path]` and register it with `routes!`; a new error gets its `From` impl in
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

#[cfg(feature = "admin")]
pub use state::AdminState;
#[cfg(feature = "connections")]
pub use state::ConnectionsState;
#[cfg(feature = "drawings")]
pub use state::DrawingsState;
#[cfg(feature = "leaderboards")]
pub use state::LeaderboardsState;
#[cfg(all(
    feature = "points",
    feature = "connections",
    feature = "leaderboards",
    feature = "drawings",
    feature = "admin"
))]
pub use state::LocalState;
#[cfg(feature = "points")]
pub use state::PointsState;
pub use state::{AccountsState, HttpSettings, WebhookSecrets};

/// The accounts function's routes: auth, users and profiles, tiers, notifications and email
/// preferences, JWKS and health.
pub fn accounts_routes() -> OpenApiRouter<AccountsState> {
    routes::accounts::router()
        .merge(routes::profiles::router())
        .merge(routes::notifications::router())
        .merge(routes::health::router())
}

/// The admin function's routes: users, their status and points, the action log, health.
#[cfg(feature = "admin")]
pub fn admin_routes() -> OpenApiRouter<AdminState> {
    routes::admin::router().merge(routes::health::router())
}

/// The admin function.
#[cfg(feature = "admin")]
pub fn admin_app(state: AdminState) -> Router {
    finish(admin_routes(), false, state)
}

/// The accounts function; it also serves the API reference (API Gateway routes `/openapi.json`
/// and `/docs` here).
pub fn accounts_app(state: AccountsState) -> Router {
    let api_docs = state.client.api_docs;
    finish(accounts_routes(), api_docs, state)
}

/// The points function's routes: device ingestion, balance and ledger, reviews, and health.
#[cfg(feature = "points")]
pub fn points_routes() -> OpenApiRouter<PointsState> {
    routes::points::router().merge(routes::health::router())
}

/// The points function.
#[cfg(feature = "points")]
pub fn points_app(state: PointsState) -> Router {
    finish(points_routes(), false, state)
}

/// The connections function's routes: tracker connections, OAuth callbacks, provider webhooks, health.
#[cfg(feature = "connections")]
pub fn connections_routes() -> OpenApiRouter<ConnectionsState> {
    routes::connections::router().merge(routes::webhooks::router()).merge(routes::health::router())
}

/// The connections function.
#[cfg(feature = "connections")]
pub fn connections_app(state: ConnectionsState) -> Router {
    finish(connections_routes(), false, state)
}

/// The leaderboards function's routes: boards, the caller's places, and health.
#[cfg(feature = "leaderboards")]
pub fn leaderboards_routes() -> OpenApiRouter<LeaderboardsState> {
    routes::leaderboards::router().merge(routes::health::router())
}

/// The leaderboards function.
#[cfg(feature = "leaderboards")]
pub fn leaderboards_app(state: LeaderboardsState) -> Router {
    finish(leaderboards_routes(), false, state)
}

/// The drawings function's routes: drawings, tickets, results and snapshot, their admin, health.
#[cfg(feature = "drawings")]
pub fn drawings_routes() -> OpenApiRouter<DrawingsState> {
    routes::drawings::router().merge(routes::fulfilments::router()).merge(routes::health::router())
}

/// The drawings function.
#[cfg(feature = "drawings")]
pub fn drawings_app(state: DrawingsState) -> Router {
    finish(drawings_routes(), false, state)
}

/// Every route of every function: what `fittrack serve` mounts and what the API document lists.
#[cfg(all(
    feature = "points",
    feature = "connections",
    feature = "leaderboards",
    feature = "drawings",
    feature = "admin"
))]
pub fn all_routes() -> OpenApiRouter<LocalState> {
    routes::accounts::router()
        .merge(routes::profiles::router())
        .merge(routes::notifications::router())
        .merge(routes::admin::router())
        .merge(routes::points::router())
        .merge(routes::connections::router())
        .merge(routes::webhooks::router())
        .merge(routes::leaderboards::router())
        .merge(routes::drawings::router())
        .merge(routes::fulfilments::router())
        .merge(routes::health::router())
}

/// `fittrack serve`: every route of every function in one server.
#[cfg(all(
    feature = "points",
    feature = "connections",
    feature = "leaderboards",
    feature = "drawings",
    feature = "admin"
))]
pub fn app(state: LocalState) -> Router {
    let api_docs = state.client.api_docs;
    finish(all_routes(), api_docs, state)
}

fn finish<S: Clone + Send + Sync + 'static>(routes: OpenApiRouter<S>, api_docs: bool, state: S) -> Router {
    // The document is served from `docs/openapi.json` (see [`openapi`]); the router is what runs.
    let (routes, _) = routes.split_for_parts();
    middleware::wrap(openapi::mount(routes, api_docs).with_state(state))
}

#[cfg(all(
    test,
    feature = "points",
    feature = "connections",
    feature = "leaderboards",
    feature = "drawings",
    feature = "admin"
))]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn operations(api: &utoipa::openapi::OpenApi) -> BTreeSet<String> {
        let json = serde_json::to_value(api).unwrap();
        let mut found = BTreeSet::new();
        for (path, item) in json["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                found.insert(format!("{method} {path}"));
            }
        }
        found
    }

    /// Each function serves only documented operations, and together they serve all of them.
    #[test]
    fn the_functions_serve_the_document_between_them() {
        let document = operations(&openapi::document());
        let accounts = operations(&accounts_routes().into_openapi());
        let points = operations(&points_routes().into_openapi());
        let connections = operations(&connections_routes().into_openapi());
        let leaderboards = operations(&leaderboards_routes().into_openapi());
        let drawings = operations(&drawings_routes().into_openapi());
        let admin = operations(&admin_routes().into_openapi());
        for function in [&accounts, &points, &connections, &leaderboards, &drawings, &admin] {
            assert!(function.is_subset(&document), "{:?}", function.difference(&document).collect::<Vec<_>>());
        }
        let served: BTreeSet<String> = accounts
            .iter()
            .chain(&points)
            .chain(&connections)
            .chain(&leaderboards)
            .chain(&drawings)
            .chain(&admin)
            .cloned()
            .collect();
        assert_eq!(served, document, "an operation no function serves, or one the document lacks");
        assert!(document.len() >= 40);
    }
}
