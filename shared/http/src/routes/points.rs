//! `/api/v1/ingest/batches` (device push) and `/api/v1/points/*`.

use axum::Json;
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use fittrack_domain::activity::ActivityKind;
use fittrack_domain::{FieldError, UserId, ValidationErrors};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use fittrack_accounts::Authenticator;
use fittrack_platform::config::RateLimitedAction;
use fittrack_platform::ports::Cursor;
use fittrack_points::antigaming::{Resolution, Review, ReviewStatus};
use fittrack_points::{
    EntryKind, IngestBatch, IngestReceipt, LedgerEntry, ListedActivity, PeriodSummary, PointsEngine,
};

use crate::extract::{Admin, AdminActor, ApiJson, ApiQuery, CompleteProfile, RequireRole};
use crate::pagination::{Page, PageParams};
use crate::problem::{ApiError, ApiResult, Problem};

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    PointsEngine: FromRef<S>,
    Authenticator: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(ingest))
        .routes(routes!(balance))
        .routes(routes!(transactions))
        .routes(routes!(activities))
        .routes(routes!(summary))
        .routes(routes!(reviews))
        .routes(routes!(resolve_review))
}

/// Upload a batch of device records
///
/// Device push (Health Connect / HealthKit): the batch is validated as a whole (nothing is stored
/// if any record is invalid) and is idempotent by `batch_id`. 201 for a new batch, 200 for a
/// repeat of one already stored (nothing booked, `duplicate: true`).
#[utoipa::path(post, path = "/api/v1/ingest/batches", tag = "points",
    request_body = IngestBatch,
    responses(
        (status = 201, description = "The batch was stored and its points booked", body = IngestReceipt),
        (status = 200, description = "A repeat of a batch already stored: nothing booked", body = IngestReceipt),
        (status = 400, description = "`malformed_json`: the body is not JSON; `bad_request`: the body is unreadable",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "`profile_incomplete`: complete the profile first (missing fields in `errors`)",
            body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`batch_conflict`: this batch id was already uploaded with different records",
            body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: the body is over 1 MB", body = Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/json`", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a field or record is invalid (see `errors`, e.g. \
            `records[2].end`); `invalid_body`: the body has the wrong shape", body = Problem,
            content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many uploads; retry after `Retry-After`", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem,
            content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
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

/// The caller's points.
#[derive(Debug, Serialize, ToSchema)]
pub struct PointsBalance {
    /// Spendable points.
    pub balance: i64,
    /// Points earned while the account is under review, paid out or forfeited when it is resolved.
    pub held: i64,
    /// Whether the account has an open review (its awards are held meanwhile).
    pub under_review: bool,
    /// Every point ever earned (paid out), whatever was spent or corrected since.
    pub lifetime_earned: i64,
}

/// The caller's balance
///
/// Spendable and held points, whether the account is under review, and the points earned ever.
#[utoipa::path(get, path = "/api/v1/points/balance", tag = "points",
    responses(
        (status = 200, description = "The balance", body = PointsBalance),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "`profile_incomplete`: complete the profile first (missing fields in `errors`)",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem,
            content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn balance(
    State(points): State<PointsEngine>,
    CompleteProfile(user): CompleteProfile,
) -> ApiResult<Json<PointsBalance>> {
    let balance = points.ledger().balance(user.user_id).await?;
    Ok(Json(PointsBalance {
        balance: balance.balance,
        held: balance.held,
        under_review: balance.holds > 0,
        lifetime_earned: balance.lifetime_earned,
    }))
}

/// One change of the balance.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerEntryView {
    /// The entry's number, per user, from 1.
    pub seq: u64,
    pub kind: EntryKind,
    /// Change of the spendable balance.
    pub amount: i64,
    /// The spendable balance after this entry.
    pub balance_after: i64,
    /// Change of the held balance (awards of an account under review).
    pub held_amount: i64,
    /// The held balance after this entry.
    pub held_after: i64,
    /// What caused it, e.g. `day:2026-11-21` or `review:<id>`.
    pub cause: String,
    /// An admin's debit clamped so the balance stays at zero or above: the amount asked for
    /// (`amount` is what was taken). Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl From<LedgerEntry> for LedgerEntryView {
    fn from(entry: LedgerEntry) -> Self {
        Self {
            seq: entry.seq,
            kind: entry.kind,
            amount: entry.amount,
            balance_after: entry.balance_after,
            held_amount: entry.held_amount,
            held_after: entry.held_after,
            cause: entry.cause,
            requested: entry.requested,
            created_at: DateTime::from_timestamp(entry.created_at, 0).unwrap_or_default(),
        }
    }
}

/// The caller's ledger
///
/// Every change of the balance, newest first (`limit` 1-100, default 25). The amounts of all
/// entries sum to the balance.
#[utoipa::path(get, path = "/api/v1/points/transactions", tag = "points",
    params(PageParams),
    responses(
        (status = 200, description = "A page of ledger entries, newest first", body = Page<LedgerEntryView>),
        (status = 400, description = "`invalid_query`: a query parameter does not parse; `invalid_cursor`: \
            `cursor` is not one this list issued", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "`profile_incomplete`: complete the profile first (missing fields in `errors`)",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem,
            content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn transactions(
    State(points): State<PointsEngine>,
    CompleteProfile(user): CompleteProfile,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<LedgerEntryView>>> {
    let limit = params.limit.unwrap_or(25).clamp(1, 100);
    let (items, next) = points.ledger().entries(user.user_id, limit, params.cursor.map(Cursor)).await?;
    let items = items.into_iter().map(LedgerEntryView::from).collect();
    Ok(Json(Page::new(items, limit, next.map(|c| c.0))))
}

/// At most this many days per activities request.
const MAX_SPAN_DAYS: i64 = 31;

/// `?from=&to=&kind=&limit=&cursor=`: which activities, a page at a time.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ActivityParams {
    /// First competition day (default: 6 days before `to`); at most 31 days before `to`.
    #[serde(default)]
    from: Option<NaiveDate>,
    /// Last competition day (default: today); from 2000-01-01 to tomorrow.
    #[serde(default)]
    to: Option<NaiveDate>,
    /// Only activities of this kind.
    #[serde(default)]
    #[param(inline)]
    kind: Option<ActivityKind>,
    /// Items per page, 1-200 (default 50).
    #[serde(default)]
    limit: Option<u32>,
    /// `pagination.next_cursor` of the previous page; opaque.
    #[serde(default)]
    cursor: Option<String>,
}

fn invalid(field: &str, code: &'static str, message: &str) -> ApiError {
    ValidationErrors::single(FieldError::new(field, code, message)).into()
}

/// The caller's activities
///
/// Activities of a date range (default: the last 7 competition days), newest first, optionally
/// of one kind; each says whether it counted or lost to an overlapping record.
#[utoipa::path(get, path = "/api/v1/activities", tag = "points",
    params(ActivityParams),
    responses(
        (status = 200, description = "A page of activities, newest first", body = Page<ListedActivity>),
        (status = 400, description = "`invalid_query`: a query parameter does not parse", body = Problem,
            content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "`profile_incomplete`: complete the profile first (missing fields in `errors`)",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a date is out of range (`to`: `out_of_range`), the \
            range is reversed or over 31 days (`from`: `invalid_range`), or `cursor` is not one this list issued \
            (`cursor`: `invalid_cursor`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem,
            content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn activities(
    State(points): State<PointsEngine>,
    CompleteProfile(user): CompleteProfile,
    ApiQuery(params): ApiQuery<ActivityParams>,
) -> ApiResult<Json<Page<ListedActivity>>> {
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
    let total = matching.len();
    let items: Vec<_> = matching.into_iter().skip(offset).take(limit).collect();
    let next_cursor = (offset + items.len() < total).then(|| format!("o{}", offset + items.len()));
    Ok(Json(Page::new(items, limit as u32, next_cursor)))
}

/// Totals of today, the last 7 days and the month so far.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivitySummary {
    /// Today's competition day.
    pub today: PeriodSummary,
    /// The last 7 competition days, today included.
    pub week: PeriodSummary,
    /// The month so far, today included.
    pub month: PeriodSummary,
}

/// The caller's activity totals
///
/// Steps, active minutes, workouts (what counted) and points booked: today, the last 7 days and
/// the month so far, in competition days.
#[utoipa::path(get, path = "/api/v1/activities/summary", tag = "points",
    responses(
        (status = 200, description = "The totals", body = ActivitySummary),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "`profile_incomplete`: complete the profile first (missing fields in `errors`)",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem,
            content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn summary(
    State(points): State<PointsEngine>,
    CompleteProfile(user): CompleteProfile,
) -> ApiResult<Json<ActivitySummary>> {
    let today = points.today();
    let month_start = today.with_day(1).unwrap_or(today);
    let (day, week, month) = (
        points.summary(user.user_id, today, today).await?,
        points.summary(user.user_id, today - Days::new(6), today).await?,
        points.summary(user.user_id, month_start, today).await?,
    );
    Ok(Json(ActivitySummary { today: day, week, month }))
}

/// `?status=&limit=&cursor=`: which reviews, a page at a time.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ReviewParams {
    /// `open` (default, oldest first) or `resolved` (newest first).
    #[serde(default)]
    #[param(inline)]
    status: Option<ReviewStatus>,
    /// Items per page, 1-100 (default 25).
    #[serde(default)]
    limit: Option<u32>,
    /// `pagination.next_cursor` of the previous page; opaque.
    #[serde(default)]
    cursor: Option<String>,
}

/// An account flagged for review.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewView {
    /// Sortable; names the review in `/api/v1/admin/reviews/{id}/resolve`.
    pub id: String,
    pub user_id: UserId,
    /// `shared_device` or `activity_anomaly`.
    pub reason: String,
    /// The other accounts involved: for a shared device, those it was seen on before this one.
    pub related_users: Vec<UserId>,
    /// What the reviewer should look at, e.g. the anomalous day and how far above its tier it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub status: ReviewStatus,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// The admin who resolved it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<UserId>,
    /// The resolving admin's note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl From<Review> for ReviewView {
    fn from(review: Review) -> Self {
        Self {
            id: review.id,
            user_id: review.user_id,
            reason: review.reason,
            related_users: review.related_users,
            detail: review.detail,
            status: review.status,
            created_at: DateTime::from_timestamp(review.created_at, 0).unwrap_or_default(),
            resolution: review.resolution,
            resolved_by: review.resolved_by,
            note: review.note,
        }
    }
}

/// The review queue
///
/// Accounts flagged for review (admins only): open reviews oldest first, or resolved ones newest
/// first.
#[utoipa::path(get, path = "/api/v1/admin/reviews", tag = "admin",
    params(ReviewParams),
    responses(
        (status = 200, description = "A page of reviews", body = Page<ReviewView>),
        (status = 400, description = "`invalid_query`: a query parameter does not parse; `invalid_cursor`: \
            `cursor` is not one this list issued", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem,
            content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn reviews(
    State(points): State<PointsEngine>,
    RequireRole(_, _): RequireRole<Admin>,
    ApiQuery(params): ApiQuery<ReviewParams>,
) -> ApiResult<Json<Page<ReviewView>>> {
    let limit = params.limit.unwrap_or(25).clamp(1, 100);
    let status = params.status.unwrap_or(ReviewStatus::Open);
    let (items, next) = points.antigaming().reviews(status, limit, params.cursor.map(Cursor)).await?;
    let items = items.into_iter().map(ReviewView::from).collect();
    Ok(Json(Page::new(items, limit, next.map(|c| c.0))))
}

/// How a review is closed.
#[derive(Deserialize, ToSchema)]
struct ResolveBody {
    /// `cleared`: held points are paid out once no other review of the account is open;
    /// `confirmed`: held points are forfeited.
    resolution: Resolution,
    /// For the record; at most 1,000 characters.
    #[serde(default)]
    #[schema(max_length = 1000)]
    note: Option<String>,
}

/// Resolve a review
///
/// Closes an open review (admins only) and settles the account's held points, once: `cleared`
/// pays them out (once no other review of the account is open), `confirmed` forfeits them.
#[utoipa::path(post, path = "/api/v1/admin/reviews/{id}/resolve", tag = "admin",
    params(("id" = String, Path, description = "the review's `id`")),
    request_body = ResolveBody,
    responses(
        (status = 200, description = "The resolved review", body = ReviewView),
        (status = 400, description = "`malformed_json`: the body is not JSON; `bad_request`: the body is unreadable",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem,
            content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no open review has this id (it may be resolved already)",
            body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: the body is over 1 MB", body = Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/json`", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `note` is over 1,000 characters (`too_long`); \
            `invalid_body`: the body has the wrong shape (e.g. an unknown `resolution`)", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem,
            content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn resolve_review(
    State(points): State<PointsEngine>,
    AdminActor(actor): AdminActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResolveBody>,
) -> ApiResult<Json<ReviewView>> {
    if body.note.as_ref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(invalid("note", "too_long", "must be at most 1,000 characters"));
    }
    let review = points.antigaming().resolve(&id, body.resolution, &actor, body.note).await?;
    Ok(Json(ReviewView::from(review)))
}
