//! `/api/v1/admin/users*` and `/api/v1/admin/actions`: finding users, their whole picture, their
//! status, role, sessions and points, and the action log. Admins only; every change is logged.

use axum::Json;
use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use fittrack_accounts::{Account, Authenticator};
use fittrack_admin::AdminService;
use fittrack_admin::adjust::AdjustmentReceipt;
use fittrack_admin::search::{AdminUserSummary, UserFilter};
use fittrack_analytics::report::{ActivityReport, DrawingGroup, Overview, RegistrationCount, check_span};
use fittrack_analytics::{Analytics, Bucket};
use fittrack_audit::{ActionEntry, ActionFilter, ActionKind};
use fittrack_domain::{AccountStatus, FieldError, Role, UserId, ValidationErrors};
use fittrack_platform::ports::Cursor;
use fittrack_sync::Connection;

use crate::extract::{Admin, AdminActor, ApiJson, ApiQuery, RequireRole};
use crate::pagination::{Page, PageParams, checked_limit};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::routes::points::{LedgerEntryView, PointsBalance, ReviewView};

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    AdminService: FromRef<S>,
    Analytics: FromRef<S>,
    Authenticator: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(search_users))
        .routes(routes!(user_detail))
        .routes(routes!(set_status))
        .routes(routes!(set_role))
        .routes(routes!(revoke_sessions))
        .routes(routes!(adjust_points))
        .routes(routes!(user_actions))
        .routes(routes!(actions))
        .routes(routes!(overview))
        .routes(routes!(registrations))
        .routes(routes!(activity))
        .routes(routes!(drawing_figures))
}

fn user_id(raw: &str) -> Result<UserId, ApiError> {
    raw.parse().map_err(|_| Problem::not_found().into())
}

/// `?email=&display_name=&status=&tier=&limit=&cursor=`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserSearchParams {
    /// The whole email address (matched through its lookup hash; emails stay encrypted).
    #[serde(default)]
    pub email: Option<String>,
    /// The start of the display name, any case.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `active`, `suspended` or `banned`.
    #[serde(default)]
    #[param(value_type = Option<AccountStatus>)]
    pub status: Option<String>,
    /// A tier code, e.g. `F-30-39-INT`.
    #[serde(default)]
    pub tier: Option<String>,
    /// 1 to 100, 25 by default.
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Find users (admins)
///
/// Each filter is answered by its own index, never a scan: `email` by the email's lookup hash,
/// `display_name` by a prefix index, `status` and `tier` by theirs (newest first for `status`,
/// and with no filter). Given several, one index answers and the others filter its page, which
/// may then hold fewer than `limit` users and still have a next one. No email or date of birth
/// in the list.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", params(UserSearchParams),
    responses(
        (status = 200, description = "A page of users", body = Page<AdminUserSummary>),
        (status = 400, description = "`invalid_query` or `invalid_cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `limit`, `status`, `tier` or an empty `display_name` (see `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn search_users(
    State(admin): State<AdminService>,
    RequireRole(_, _): RequireRole<Admin>,
    ApiQuery(params): ApiQuery<UserSearchParams>,
) -> ApiResult<Json<Page<AdminUserSummary>>> {
    let limit = checked_limit(params.limit, 25, 100)?;
    let status = match params.status.as_deref() {
        Some(raw) => Some(raw.parse::<AccountStatus>().map_err(ValidationErrors::single)?),
        None => None,
    };
    let filter = UserFilter { email: params.email, display_name: params.display_name, status, tier: params.tier };
    let page = admin.search(&filter, limit, params.cursor.map(Cursor)).await?;
    Ok(Json(Page::new(page.items, limit, page.next.map(|c| c.0))))
}

/// One user as an admin sees them.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserDetail {
    /// Email and date of birth included: an admin's view, never logged.
    pub account: Account,
    pub balance: PointsBalance,
    /// The latest ledger entries, newest first.
    pub recent_transactions: Vec<LedgerEntryView>,
    pub connections: Vec<Connection>,
    /// Every review of the account, open and resolved.
    pub reviews: Vec<ReviewView>,
}

/// A user's whole picture (admins)
#[utoipa::path(get, path = "/api/v1/admin/users/{id}", tag = "admin",
    params(("id" = String, Path, description = "the user's id")),
    responses(
        (status = 200, description = "The user", body = AdminUserDetail),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no user has this id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn user_detail(
    State(admin): State<AdminService>,
    RequireRole(_, _): RequireRole<Admin>,
    Path(id): Path<String>,
) -> ApiResult<Json<AdminUserDetail>> {
    let detail = admin.detail(user_id(&id)?).await?;
    Ok(Json(AdminUserDetail {
        account: detail.account,
        balance: PointsBalance {
            balance: detail.balance.balance,
            held: detail.balance.held,
            under_review: detail.balance.holds > 0,
            lifetime_earned: detail.balance.lifetime_earned,
        },
        recent_transactions: detail.recent_transactions.into_iter().map(LedgerEntryView::from).collect(),
        connections: detail.connections,
        reviews: detail.reviews.into_iter().map(ReviewView::from).collect(),
    }))
}

/// The status to give, and why (kept in the action log; not shown to the user).
#[derive(Debug, Deserialize, ToSchema)]
pub struct StatusBody {
    #[schema(value_type = AccountStatus)]
    pub status: String,
    /// 1 to 1,000 characters.
    pub reason: String,
}

/// Change a user's status (admins)
///
/// `active → suspended | banned`, `suspended → active | banned`, `banned → active`. Suspension
/// and ban end every session at once and block sign-in and refresh; a ban withdraws the user's
/// tickets from drawings still open (refunding their points) and disqualifies them from prizes
/// not yet claimed (see docs/decisions.md). The user is notified and emailed. Asking for the
/// status the account has changes nothing. Admins cannot change their own status.
#[utoipa::path(put, path = "/api/v1/admin/users/{id}/status", tag = "admin",
    params(("id" = String, Path, description = "the user's id")),
    request_body = StatusBody,
    responses(
        (status = 200, description = "The user with their status", body = AdminUserSummary),
        (status = 400, description = "`malformed_json` or `bad_request`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: not an admin; `own_account`: an admin's own status", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no user has this id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_status_transition`: not allowed from the current status; `conflict`: another admin changed it first", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `status` or `reason` (see `errors`); `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn set_status(
    State(admin): State<AdminService>,
    AdminActor(actor): AdminActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StatusBody>,
) -> ApiResult<Json<AdminUserSummary>> {
    let user = user_id(&id)?;
    let status: AccountStatus = body.status.parse().map_err(ValidationErrors::single)?;
    Ok(Json(admin.set_status(&actor, user, status, &body.reason).await?))
}

/// The role to give.
#[derive(Deserialize, ToSchema)]
struct RoleBody {
    #[schema(value_type = Role)]
    role: String,
}

/// Change a user's role (admins)
///
/// A lower role applies from the user's next request; a higher one from their next token
/// refresh. Admins cannot change their own role.
#[utoipa::path(put, path = "/api/v1/admin/users/{id}/role", tag = "admin",
    params(("id" = String, Path, description = "the user's id")),
    request_body = RoleBody,
    responses(
        (status = 204, description = "The role changed (or already was this one)"),
        (status = 400, description = "`malformed_json` or `bad_request`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: not an admin; `own_account`: an admin's own role", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no user has this id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: another admin changed the role first", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: the body is over 1 MB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `role` is not a role; `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn set_role(
    State(admin): State<AdminService>,
    AdminActor(actor): AdminActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RoleBody>,
) -> ApiResult<StatusCode> {
    let user = user_id(&id)?;
    let role: Role = body.role.parse().map_err(|e: FieldError| ApiError::from(ValidationErrors::single(e)))?;
    admin.set_role(&actor, user, role).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End every session of a user (admins)
///
/// Their access tokens stop working from the next request.
#[utoipa::path(delete, path = "/api/v1/admin/users/{id}/sessions", tag = "admin",
    params(("id" = String, Path, description = "the user's id")),
    responses(
        (status = 204, description = "Every session of the user ended"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no user has this id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn revoke_sessions(
    State(admin): State<AdminService>,
    AdminActor(actor): AdminActor,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    admin.revoke_sessions(&actor, user_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Points to add (positive) or take (negative), and why (shown to the user).
#[derive(Debug, Deserialize, ToSchema)]
pub struct AdjustBody {
    /// Non-zero, at most 1,000,000 either way.
    pub amount: i64,
    /// 1 to 1,000 characters; the user sees it in their notification.
    pub reason: String,
}

/// Adjust a user's points (admins)
///
/// Books an `adjustment` ledger entry. A debit never takes the balance below zero: it is clamped
/// (`clamped_by`, and the entry's `requested`). Needs an `Idempotency-Key`: the same key answers
/// the same receipt and adjusts once; with another amount it is refused.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/adjust-points", tag = "admin",
    params(
        ("id" = String, Path, description = "the user's id"),
        ("Idempotency-Key" = String, Header, description = "unique per adjustment; at most 128 printable characters"),
    ),
    request_body = AdjustBody,
    responses(
        (status = 201, description = "Adjusted (or the receipt of the first request with this key)", body = AdjustmentReceipt),
        (status = 400, description = "`idempotency_key_required`; `malformed_json` or `bad_request`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no user has this id", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `amount`, `reason` or the key; `idempotency_key_reused`: the key adjusted another amount; `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn adjust_points(
    State(admin): State<AdminService>,
    AdminActor(actor): AdminActor,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AdjustBody>,
) -> ApiResult<(StatusCode, Json<AdjustmentReceipt>)> {
    let user = user_id(&id)?;
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    let receipt = admin.adjust_points(&actor, user, key, body.amount, &body.reason).await?;
    Ok((StatusCode::CREATED, Json(receipt)))
}

/// The actions taken about a user (admins)
///
/// Newest first: status, role, sessions, adjustments, reviews, mail-in entries and prizes.
#[utoipa::path(get, path = "/api/v1/admin/users/{id}/actions", tag = "admin",
    params(("id" = String, Path, description = "the user's id"), PageParams),
    responses(
        (status = 200, description = "A page of the log", body = Page<ActionEntry>),
        (status = 400, description = "`invalid_query` or `invalid_cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: the id is not a user id", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `limit` out of range", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn user_actions(
    State(admin): State<AdminService>,
    RequireRole(_, _): RequireRole<Admin>,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<ActionEntry>>> {
    let limit = checked_limit(params.limit, 25, 100)?;
    let page = admin.log().about_user(user_id(&id)?, limit, params.cursor.map(Cursor)).await?;
    Ok(Json(Page::new(page.entries, limit, page.next.map(|c| c.0))))
}

/// `?admin=&action=&limit=&cursor=`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActionParams {
    /// One admin's actions.
    #[serde(default)]
    pub admin: Option<String>,
    /// One kind of action.
    #[serde(default)]
    #[param(value_type = Option<ActionKind>)]
    pub action: Option<String>,
    /// 1 to 100, 25 by default.
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub cursor: Option<String>,
}

/// The admin action log (admins)
///
/// Every admin action, newest first; `admin` and `action` narrow it (with both, a page may hold
/// fewer than `limit` entries and still have a next one). Append-only: nothing changes or
/// removes an entry.
#[utoipa::path(get, path = "/api/v1/admin/actions", tag = "admin", params(ActionParams),
    responses(
        (status = 200, description = "A page of the log", body = Page<ActionEntry>),
        (status = 400, description = "`invalid_query` or `invalid_cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `admin`, `action` or `limit` (see `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn actions(
    State(admin): State<AdminService>,
    RequireRole(_, _): RequireRole<Admin>,
    ApiQuery(params): ApiQuery<ActionParams>,
) -> ApiResult<Json<Page<ActionEntry>>> {
    let limit = checked_limit(params.limit, 25, 100)?;
    let mut errors = ValidationErrors::default();
    let by = params.admin.as_deref().and_then(|raw| match raw.parse::<UserId>() {
        Ok(id) => Some(id),
        Err(_) => {
            errors.0.push(FieldError::new("admin", "invalid_id", "not a user id"));
            None
        }
    });
    let action = params.action.as_deref().and_then(|raw| match raw.parse::<ActionKind>() {
        Ok(kind) => Some(kind),
        Err(()) => {
            errors.0.push(FieldError::new("action", "invalid_action", "not an action kind"));
            None
        }
    });
    errors.into_result()?;
    let page = admin.log().list(ActionFilter { admin: by, action }, limit, params.cursor.map(Cursor)).await?;
    Ok(Json(Page::new(page.entries, limit, page.next.map(|c| c.0))))
}

/// Today at a glance (admins)
///
/// Total users, distinct users active today and this month, drawings open, points earned and
/// spent today (competition day, America/New_York). Read from counters kept as events happen:
/// about 32 small items, never a scan.
#[utoipa::path(get, path = "/api/v1/admin/analytics/overview", tag = "admin",
    responses(
        (status = 200, description = "The figures", body = Overview),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn overview(
    State(analytics): State<Analytics>,
    RequireRole(_, _): RequireRole<Admin>,
) -> ApiResult<Json<Overview>> {
    Ok(Json(analytics.overview().await?))
}

/// `?from=&to=`: competition days, `YYYY-MM-DD`, both included; the last 30 days by default.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SpanParams {
    /// `day`, `week` (ISO, from Monday) or `month`; registrations only, `day` by default.
    #[serde(default)]
    pub bucket: Option<String>,
    #[serde(default)]
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    #[serde(default)]
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
}

fn span(params: &SpanParams, today: chrono::NaiveDate) -> Result<(chrono::NaiveDate, chrono::NaiveDate), ApiError> {
    let mut errors = ValidationErrors::default();
    let mut day = |field: &'static str, raw: Option<&str>, default: chrono::NaiveDate| match raw {
        None => default,
        Some(raw) => raw
            .parse::<chrono::NaiveDate>()
            .ok()
            .filter(|d| (2000..=2200).contains(&chrono::Datelike::year(d)))
            .unwrap_or_else(|| {
                errors.0.push(FieldError::new(field, "invalid_date", "a date as YYYY-MM-DD, from 2000 to 2200"));
                default
            }),
    };
    let to = day("to", params.to.as_deref(), today);
    let from = day("from", params.from.as_deref(), to - chrono::Duration::days(29));
    errors.into_result()?;
    check_span(from, to)?;
    Ok((from, to))
}

/// Registrations over time (admins)
///
/// One count per bucket from `from` to `to`, empty buckets included.
#[utoipa::path(get, path = "/api/v1/admin/analytics/registrations", tag = "admin", params(SpanParams),
    responses(
        (status = 200, description = "Registrations per bucket", body = Vec<RegistrationCount>),
        (status = 400, description = "`invalid_query`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `bucket`, `from` or `to` (see `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn registrations(
    State(analytics): State<Analytics>,
    RequireRole(_, _): RequireRole<Admin>,
    ApiQuery(params): ApiQuery<SpanParams>,
) -> ApiResult<Json<Vec<RegistrationCount>>> {
    let bucket = match params.bucket.as_deref().unwrap_or("day") {
        "day" => Bucket::Day,
        "week" => Bucket::Week,
        "month" => Bucket::Month,
        _ => {
            return Err(
                ValidationErrors::single(FieldError::new("bucket", "invalid_bucket", "day, week or month")).into()
            );
        }
    };
    let (from, to) = span(&params, analytics.today())?;
    Ok(Json(analytics.registrations(bucket, from, to).await?))
}

/// Activity by kind (admins)
///
/// Activity points of each kind from `from` to `to`, and their average per active user-day.
#[utoipa::path(get, path = "/api/v1/admin/analytics/activity", tag = "admin", params(SpanParams),
    responses(
        (status = 200, description = "Activity by kind", body = ActivityReport),
        (status = 400, description = "`invalid_query`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `from` or `to` (see `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn activity(
    State(analytics): State<Analytics>,
    RequireRole(_, _): RequireRole<Admin>,
    ApiQuery(params): ApiQuery<SpanParams>,
) -> ApiResult<Json<ActivityReport>> {
    let (from, to) = span(&params, analytics.today())?;
    Ok(Json(analytics.activity(from, to).await?))
}

/// Drawings by type and status (admins)
///
/// How many drawings each group holds and, from their snapshots, entrants, tickets, the share of
/// users who enter one and the tickets per participant.
#[utoipa::path(get, path = "/api/v1/admin/analytics/drawings", tag = "admin",
    responses(
        (status = 200, description = "The groups", body = Vec<DrawingGroup>),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn drawing_figures(
    State(analytics): State<Analytics>,
    RequireRole(_, _): RequireRole<Admin>,
) -> ApiResult<Json<Vec<DrawingGroup>>> {
    Ok(Json(analytics.drawings().await?))
}
