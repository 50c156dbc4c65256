//! `/api/v1/ingest/batches` (device push) and `/api/v1/points/*`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use fittrack_core::AccountError;
use fittrack_core::points::{IngestBatch, IngestError, IngestReceipt};
use fittrack_core::ports::Cursor;

use crate::AppState;
use crate::extract::{ApiJson, ApiQuery, CompleteProfile};
use crate::problem::{ApiError, ApiResult, Problem};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/ingest/batches", post(ingest))
        .route("/api/v1/points/balance", get(balance))
        .route("/api/v1/points/transactions", get(transactions))
}

fn ingest_problem(error: IngestError) -> ApiError {
    match error {
        IngestError::Invalid(errors) => AccountError::Validation(errors).into(),
        IngestError::Conflict => Problem::new(StatusCode::CONFLICT, "batch_conflict", "Batch id already used")
            .detail("This batch id was already uploaded with different records; use a new id for new data.")
            .into(),
        IngestError::Store(e) => AccountError::Store(e).into(),
        IngestError::Engine(e) => {
            tracing::error!(error = %e, "ingest failed");
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", "Service temporarily unavailable")
                .retry_after(std::time::Duration::from_secs(1))
                .into()
        }
    }
}

/// 201 for a new batch, 200 for a repeat of one already stored.
async fn ingest(
    State(state): State<AppState>,
    CompleteProfile(user): CompleteProfile,
    ApiJson(batch): ApiJson<IngestBatch>,
) -> ApiResult<(StatusCode, Json<IngestReceipt>)> {
    let receipt = state.points.ingest_batch(user.user_id, &batch, None).await.map_err(ingest_problem)?;
    let status = if receipt.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(receipt)))
}

async fn balance(State(state): State<AppState>, CompleteProfile(user): CompleteProfile) -> ApiResult<Json<Value>> {
    let balance =
        state.points.ledger().balance(user.user_id).await.map_err(|e| ingest_problem(IngestError::Engine(e.into())))?;
    Ok(Json(json!({"balance": balance.balance, "lifetime_earned": balance.lifetime_earned})))
}

#[derive(Deserialize)]
struct PageParams {
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

async fn transactions(
    State(state): State<AppState>,
    CompleteProfile(user): CompleteProfile,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Value>> {
    let limit = params.limit.unwrap_or(25).clamp(1, 100);
    let (items, next) =
        state.points.ledger().entries(user.user_id, limit, params.cursor.map(Cursor)).await.map_err(|e| match e {
            fittrack_core::points::LedgerError::Store(s) => ApiError::from(AccountError::Store(s)),
            other => ingest_problem(IngestError::Engine(other.into())),
        })?;
    let next_cursor = next.map(|c| c.0);
    Ok(Json(json!({
        "items": items,
        "pagination": {"limit": limit, "next_cursor": next_cursor, "has_more": next_cursor.is_some()},
    })))
}
