//! `/api/v1/connections*`: tracker connections and manual sync.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use fittrack_core::AccountError;
use fittrack_core::sync::{SyncError, SyncService};

use crate::AppState;
use crate::extract::CompleteProfile;
use crate::problem::{ApiError, ApiResult, Problem};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/connections", get(list))
        .route("/api/v1/connections/{provider}/initiate", post(initiate))
        .route("/api/v1/connections/{provider}/sync", post(sync_now))
        .route("/api/v1/connections/{provider}", delete(disconnect))
}

fn service(state: &AppState) -> Result<&SyncService, ApiError> {
    state.sync.as_ref().ok_or_else(|| Problem::not_found().into())
}

fn sync_problem(error: SyncError) -> ApiError {
    match error {
        SyncError::UnknownProvider => {
            Problem::new(StatusCode::NOT_FOUND, "provider_not_available", "Tracker not available")
                .detail("This deployment offers: simulated.")
                .into()
        }
        SyncError::NotConnected => Problem::new(StatusCode::NOT_FOUND, "not_connected", "Tracker not connected").into(),
        SyncError::RateLimited(decision) => AccountError::RateLimited(decision).into(),
        SyncError::Store(e) => AccountError::Store(e).into(),
        SyncError::Queue(e) => AccountError::Queue(e).into(),
        other => {
            tracing::error!(error = %other, "sync request failed");
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", "Service temporarily unavailable")
                .into()
        }
    }
}

async fn list(State(state): State<AppState>, CompleteProfile(user): CompleteProfile) -> ApiResult<Json<Value>> {
    let connections = service(&state)?.connections(user.user_id).await.map_err(sync_problem)?;
    Ok(Json(json!({"items": connections})))
}

/// Trackers with an OAuth flow answer with the provider's authorization URL (coming with those
/// adapters); the simulated tracker connects at once.
async fn initiate(
    State(state): State<AppState>,
    CompleteProfile(user): CompleteProfile,
    Path(provider): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let connection = service(&state)?.connect(user.user_id, &provider).await.map_err(sync_problem)?;
    Ok((StatusCode::CREATED, Json(json!({"status": "connected", "connection": connection}))))
}

async fn sync_now(
    State(state): State<AppState>,
    CompleteProfile(user): CompleteProfile,
    Path(provider): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    service(&state)?.request_sync(user.user_id, &provider).await.map_err(sync_problem)?;
    Ok((StatusCode::ACCEPTED, Json(json!({"status": "queued"}))))
}

async fn disconnect(
    State(state): State<AppState>,
    CompleteProfile(user): CompleteProfile,
    Path(provider): Path<String>,
) -> ApiResult<StatusCode> {
    service(&state)?.disconnect(user.user_id, &provider).await.map_err(sync_problem)?;
    Ok(StatusCode::NO_CONTENT)
}
