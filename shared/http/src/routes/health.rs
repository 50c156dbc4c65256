use axum::extract::{FromRef, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use fittrack_accounts::Authenticator;

use crate::problem::Problem;

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Authenticator: FromRef<S>,
{
    Router::new()
        .route("/health/live", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/health/ready", get(ready))
        .route("/.well-known/jwks.json", get(jwks))
}

/// Ready when the store answers.
async fn ready(State(auth): State<Authenticator>) -> Result<Json<serde_json::Value>, Problem> {
    match auth.ready().await {
        Ok(()) => Ok(Json(json!({"status": "ok", "checks": {"store": "ok"}}))),
        Err(error) => {
            tracing::error!(%error, "readiness check failed");
            Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "Not ready")
                .detail("The store does not answer."))
        }
    }
}

async fn jwks(State(auth): State<Authenticator>) -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "public, max-age=300")], Json(auth.jwks()))
}
