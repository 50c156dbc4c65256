//! `/health/*` probes and `/.well-known/jwks.json`.

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use fittrack_accounts::Authenticator;

use crate::problem::Problem;

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Authenticator: FromRef<S>,
{
    OpenApiRouter::new().routes(routes!(live)).routes(routes!(ready)).routes(routes!(jwks))
}

/// A probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthStatus {
    /// Always `ok` (a failing probe answers with a problem instead).
    pub status: &'static str,
    /// Each dependency checked, and its state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<HealthChecks>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthChecks {
    pub store: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health/live", tag = "health",
    responses((status = 200, description = "Alive", body = HealthStatus)))]
async fn live() -> Json<HealthStatus> {
    Json(HealthStatus { status: "ok", checks: None })
}

/// Readiness: the store answers.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses(
        (status = 200, description = "Ready", body = HealthStatus),
        (status = 503, description = "`not_ready`: the store does not answer", body = Problem,
            content_type = "application/problem+json"),
    ))]
async fn ready(State(auth): State<Authenticator>) -> Result<Json<HealthStatus>, Problem> {
    match auth.ready().await {
        Ok(()) => Ok(Json(HealthStatus { status: "ok", checks: Some(HealthChecks { store: "ok" }) })),
        Err(error) => {
            tracing::error!(%error, "readiness check failed");
            Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "Not ready")
                .detail("The store does not answer."))
        }
    }
}

/// The public keys that verify access tokens (RFC 7517), for services that check them offline.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "health",
    responses((status = 200, description = "A JWK set of Ed25519 keys", body = Object)))]
async fn jwks(State(auth): State<Authenticator>) -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "public, max-age=300")], Json(auth.jwks()))
}
