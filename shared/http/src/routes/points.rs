//! `/api/v1/ingest/batches` (device push) and `/api/v1/points/*`.

use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{Datelike, Days, NaiveDate};
use fittrack_domain::activity::ActivityKind;
use fittrack_domain::{FieldError, ValidationErrors};
use serde::Deserialize;
use serde_json::{Value, json};

use fittrack_accounts::Authenticator;
use fittrack_platform::config::RateLimitedAction;
use fittrack_platform::ports::Cursor;
use fittrack_points::antigaming::{Resolution, Review, ReviewStatus};
use fittrack_points::{IngestBatch, IngestReceipt, PointsEngine};

use crate::extract::{Admin, ApiJson, ApiQuery, CompleteProfile, RequireRole};
use crate::pagination::{PageParams, page};
use crate::problem::{ApiError, ApiResult};

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    PointsEngine: FromRef<S>,
    Authenticator: FromRef<S>,
{
    Router::new()
        .route("/api/v1/ingest/batches", post(ingest))
        .route("/api/v1/points/balance", get(balance))
        .route("/api/v1/points/transactions", get(transactions))
        .route("/api/v1/activities", get(activities))
        .route("/api/v1/activities/summary", get(summary))
        .route("/api/v1/admin/reviews", get(reviews))
        .route("/api/v1/admin/reviews/{id}/resolve", post(resolve_review))
}

/// 201 for a new batch, 200 for a repeat of one already stored.
async fn ingest(
    State(points): State<PointsEngine>,
    State(auth): State<Authenticator>,
    CompleteProfile(user): CompleteProfile,
    ApiJson(batch): ApiJson<IngestBatch>,
) -> ApiResult<(StatusCode, Json<IngestReceipt>)> {
    auth.rate_limit_user(RateLimitedAction::DeviceUpload, user.user_id).await?;
    let receipt = points.ingest_batch(user.user_id, &batch, None).await?;
    let status = if receipt.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(receipt)))
}

async fn balance(State(points): State<PointsEngine>, CompleteProfile(user): CompleteProfile) -> ApiResult<Json<Value>> {
    let balance = points.ledger().balance(user.user_id).await?;
    Ok(Json(json!({
        "balance": balance.balance,
        "held": balance.held,
        "under_review": balance.holds > 0,
        "lifetime_earned": balance.lifetime_earned,
    })))
}

async fn transactions(
    State(points): State<PointsEngine>,
    CompleteProfile(user): CompleteProfile,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Value>> {
    let limit = params.limit.unwrap_or(25).clamp(1, 100);
    let (items, next) = points.ledger().entries(user.user_id, limit, params.cursor.map(Cursor)).await?;
    Ok(Json(page(&items, limit, next.map(|c| c.0))))
}

/// At most this many days per activities request.
const MAX_SPAN_DAYS: i64 = 31;

#[derive(Deserialize)]
struct ActivityParams {
    #[serde(default)]
    from: Option<NaiveDate>,
    #[serde(default)]
    to: Option<NaiveDate>,
    #[serde(default)]
    kind: Option<ActivityKind>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

fn invalid(field: &str, code: &'static str, message: &str) -> ApiError {
    ValidationErrors::single(FieldError::new(field, code, message)).into()
}

/// Activities of a date range (default: the last 7 competition days), newest first, optionally
/// of one kind; each says whether it counted or lost to an overlapping record.
async fn activities(
    State(points): State<PointsEngine>,
    CompleteProfile(user): CompleteProfile,
    ApiQuery(params): ApiQuery<ActivityParams>,
) -> ApiResult<Json<Value>> {
    let today = points.today();
    let to = params.to.unwrap_or(today);
    // Dates far outside what the product stores would only reach chrono's limits.
    let plausible = |d: NaiveDate| d.year() >= 2000 && d <= today + Days::new(1);
    if !plausible(to) || params.from.is_some_and(|f| !plausible(f)) {
        return Err(invalid("to", "out_of_range", "dates must be from 2000-01-01 to tomorrow"));
    }
    let from = params.from.unwrap_or_else(|| to.checked_sub_days(Days::new(6)).unwrap_or(to));
    if from > to || (to - from).num_days() >= MAX_SPAN_DAYS {
        return Err(invalid("from", "invalid_range", "must not be after `to`, and at most 31 days before it"));
    }
    let limit = params.limit.unwrap_or(50).clamp(1, 200) as usize;
    // The cursor is the position in this range's list; opaque to clients.
    let offset = match params.cursor.as_deref() {
        Some(c) => c
            .strip_prefix("o")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| invalid("cursor", "invalid_cursor", "is not a cursor from this API"))?,
        None => 0,
    };
    let listed = points.activities(user.user_id, from, to).await?;
    let matching: Vec<_> = listed.into_iter().filter(|a| params.kind.is_none_or(|k| a.activity.kind == k)).collect();
    let items: Vec<_> = matching.iter().skip(offset).take(limit).collect();
    let next_cursor = (offset + items.len() < matching.len()).then(|| format!("o{}", offset + items.len()));
    Ok(Json(page(&items, limit as u32, next_cursor)))
}

/// Today, the last 7 days and the month so far, in competition days.
async fn summary(State(points): State<PointsEngine>, CompleteProfile(user): CompleteProfile) -> ApiResult<Json<Value>> {
    let today = points.today();
    let month_start = today.with_day(1).unwrap_or(today);
    let (day, week, month) = (
        points.summary(user.user_id, today, today).await?,
        points.summary(user.user_id, today - Days::new(6), today).await?,
        points.summary(user.user_id, month_start, today).await?,
    );
    Ok(Json(json!({"today": day, "week": week, "month": month})))
}

#[derive(Deserialize)]
struct ReviewParams {
    #[serde(default)]
    status: Option<ReviewStatus>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

/// The review queue (admins): open reviews oldest first, or resolved ones newest first.
async fn reviews(
    State(points): State<PointsEngine>,
    RequireRole(_, _): RequireRole<Admin>,
    ApiQuery(params): ApiQuery<ReviewParams>,
) -> ApiResult<Json<Value>> {
    let limit = params.limit.unwrap_or(25).clamp(1, 100);
    let status = params.status.unwrap_or(ReviewStatus::Open);
    let (items, next) = points.antigaming().reviews(status, limit, params.cursor.map(Cursor)).await?;
    Ok(Json(page(&items, limit, next.map(|c| c.0))))
}

#[derive(Deserialize)]
struct ResolveBody {
    resolution: Resolution,
    #[serde(default)]
    note: Option<String>,
}

async fn resolve_review(
    State(points): State<PointsEngine>,
    RequireRole(admin, _): RequireRole<Admin>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResolveBody>,
) -> ApiResult<Json<Review>> {
    if body.note.as_ref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(invalid("note", "too_long", "must be at most 1,000 characters"));
    }
    let review = points.antigaming().resolve(&id, body.resolution, admin.user_id, body.note).await?;
    Ok(Json(review))
}
