//! `/api/v1/drawings/*` and `/api/v1/admin/drawings/*`, `/api/v1/admin/sponsors/*`.
//!
//! Rules, results and the snapshot are public: anyone may verify a drawing with nothing but
//! what it published. Everything else needs a signed-in caller with a complete profile, and the
//! admin routes an admin.

use axum::Json;
use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use fittrack_accounts::Authenticator;
use fittrack_domain::drawing::{DrawingStatus, DrawingType};
use fittrack_domain::{FieldError, Role, ValidationErrors};
use fittrack_drawings::results::PublishedResults;
use fittrack_drawings::views::{
    DrawingInput, DrawingView, EntryReceipt, MailInRequest, MyTickets, PrizeInput, PublishedCommitment,
    PurchaseRequest, SponsorInput, SponsorView,
};
use fittrack_drawings::{DrawingId, DrawingService};
use fittrack_platform::ports::Cursor;

use crate::extract::{Admin, AdminActor, ApiJson, ApiQuery, CompleteProfile, RequireRole};
use crate::pagination::{Page, PageParams, checked_limit};
use crate::problem::{ApiError, ApiResult, Problem};

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    DrawingService: FromRef<S>,
    Authenticator: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(list_drawings))
        .routes(routes!(get_drawing))
        .routes(routes!(rules))
        .routes(routes!(verification_protocol))
        .routes(routes!(buy_tickets))
        .routes(routes!(free_entry))
        .routes(routes!(my_tickets))
        .routes(routes!(commitment))
        .routes(routes!(results))
        .routes(routes!(snapshot))
        .routes(routes!(create_drawing))
        .routes(routes!(update_drawing, cancel_drawing))
        .routes(routes!(schedule_drawing))
        .routes(routes!(execute_drawing))
        .routes(routes!(add_prize))
        .routes(routes!(update_prize, remove_prize))
        .routes(routes!(record_mail_in))
        .routes(routes!(list_sponsors, create_sponsor))
        .routes(routes!(update_sponsor))
}

fn drawing_id(raw: &str) -> Result<DrawingId, ApiError> {
    DrawingId::parse(raw).ok_or_else(|| Problem::not_found().into())
}

/// Each drawing of a page costs its sponsor, its sixteen gates and the caller's tickets: pages
/// stay small.
fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    checked_limit(limit, 20, 50)
}

/// `?status=&type=&limit=&cursor=`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DrawingListParams {
    /// `scheduled`, `open` (default), `closed`, `completed`, `cancelled`; `draft` for admins.
    #[serde(default)]
    pub status: Option<String>,
    /// `daily`, `weekly`, `monthly` or `annual`.
    #[serde(default, rename = "type")]
    pub drawing_type: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Drawings
///
/// Drawings of one status (open by default), soonest drawing first, with the caller's eligibility.
#[utoipa::path(get, path = "/api/v1/drawings", tag = "drawings", params(DrawingListParams),
    responses(
        (status = 200, description = "One page of drawings", body = Page<DrawingView>),
        (status = 400, description = "`invalid_query` or `invalid_cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`profile_incomplete`: complete the profile first", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a bad `status`, `type` or `limit` (drafts are for admins)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn list_drawings(
    State(drawings): State<DrawingService>,
    CompleteProfile(user): CompleteProfile,
    ApiQuery(params): ApiQuery<DrawingListParams>,
) -> ApiResult<Json<Page<DrawingView>>> {
    let limit = page_limit(params.limit)?;
    let status: DrawingStatus = params.status.as_deref().unwrap_or("open").parse().map_err(ValidationErrors::single)?;
    if status == DrawingStatus::Draft && user.role < Role::Admin {
        return Err(ValidationErrors::single(FieldError::new(
            "status",
            "invalid_status",
            "drafts are visible to admins only",
        ))
        .into());
    }
    let drawing_type =
        params.drawing_type.as_deref().map(str::parse::<DrawingType>).transpose().map_err(ValidationErrors::single)?;
    let (records, next) = drawings.list(status, drawing_type, limit, params.cursor.map(Cursor)).await?;
    let caller = drawings.caller(user.user_id).await?;
    let mut items = Vec::with_capacity(records.len());
    for record in records {
        items.push(drawings.view(record, Some((user.user_id, &caller))).await?);
    }
    Ok(Json(Page::new(items, limit, next.map(|c| c.0))))
}

/// A drawing
///
/// With its prizes, sponsor, counts, and whether the caller may enter (and why not).
#[utoipa::path(get, path = "/api/v1/drawings/{id}", tag = "drawings",
    params(("id" = String, Path, description = "the drawing's id")),
    responses(
        (status = 200, description = "The drawing", body = DrawingView),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`profile_incomplete`: complete the profile first", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such drawing", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn get_drawing(
    State(drawings): State<DrawingService>,
    CompleteProfile(user): CompleteProfile,
    Path(id): Path<String>,
) -> ApiResult<Json<DrawingView>> {
    let record = drawings.visible_drawing(&drawing_id(&id)?, user.role >= Role::Admin).await?;
    let caller = drawings.caller(user.user_id).await?;
    Ok(Json(drawings.view(record, Some((user.user_id, &caller))).await?))
}

/// The drawing protocol, as published with the code (docs/drawing-verification.md).
const VERIFICATION_PROTOCOL: &str = include_str!("../../../../docs/drawing-verification.md");

/// How to verify a drawing
///
/// `fittrack-draw-v1`, the protocol every drawing is drawn by and the official rules link to:
/// how the published snapshot and beacon decide the winners, and how to check them. Public.
#[utoipa::path(get, path = "/api/v1/drawings/verification-protocol", tag = "drawings",
    responses((status = 200, description = "The protocol (Markdown)", content_type = "text/markdown", body = String)))]
async fn verification_protocol() -> Response {
    ([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], VERIFICATION_PROTOCOL).into_response()
}

/// `?format=html|text`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RulesParams {
    /// `html` or `text`; otherwise the `Accept` header decides (HTML unless it prefers `text/plain`).
    #[serde(default)]
    pub format: Option<String>,
}

/// Official rules
///
/// The drawing's official rules, fixed when it was scheduled: as HTML, or as plain text with
/// `?format=text` or `Accept: text/plain`. Public.
#[utoipa::path(get, path = "/api/v1/drawings/{id}/rules", tag = "drawings",
    params(("id" = String, Path, description = "the drawing's id"), RulesParams),
    responses(
        (status = 200, description = "The official rules", content((String = "text/html"), (String = "text/plain"))),
        (status = 400, description = "`invalid_query`: `format` is neither html nor text", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such drawing, or not scheduled yet", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ))]
async fn rules(
    State(drawings): State<DrawingService>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<RulesParams>,
) -> ApiResult<Response> {
    let text = match params.format.as_deref() {
        Some("text") => true,
        Some("html") => false,
        Some(_) => {
            return Err(Problem::new(StatusCode::BAD_REQUEST, "invalid_query", "Invalid query parameters")
                .detail("`format` is `html` or `text`.")
                .into());
        }
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/plain") && !accept.contains("text/html")),
    };
    let rules = drawings.rules(&drawing_id(&id)?).await?;
    let (content_type, body) =
        if text { ("text/plain; charset=utf-8", rules.text) } else { ("text/html; charset=utf-8", rules.html) };
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

/// Buy tickets
///
/// Spends `quantity` × the ticket cost of spendable points (never held points) on tickets, in one
/// transaction. Send an `Idempotency-Key` header (1 to 64 letters, digits, `-`, `_`): a retry
/// with the same key answers the same and debits nothing more.
#[utoipa::path(post, path = "/api/v1/drawings/{id}/tickets", tag = "drawings",
    params(("id" = String, Path, description = "the drawing's id"),
        ("Idempotency-Key" = String, Header, description = "unique per purchase; a retry sends the same")),
    request_body = PurchaseRequest,
    responses(
        (status = 201, description = "The tickets are yours", body = EntryReceipt),
        (status = 400, description = "`idempotency_key_required`, `malformed_json` or `bad_request`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`not_eligible` (reasons in `errors`) or `profile_incomplete`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such drawing", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`drawing_not_open`, `drawing_closed`, `ticket_limit_reached` or `insufficient_points`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (quantity), `invalid_body` or `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry with the same key", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn buy_tickets(
    State(drawings): State<DrawingService>,
    CompleteProfile(user): CompleteProfile,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PurchaseRequest>,
) -> ApiResult<(StatusCode, Json<EntryReceipt>)> {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    let receipt = drawings.buy(user.user_id, &drawing_id(&id)?, body.quantity, key).await?;
    Ok((StatusCode::CREATED, Json(receipt)))
}

/// Free entry
///
/// No purchase necessary: the drawing's free-entry tickets, with the same odds per ticket, once
/// per person per (New York) day while entries are open.
#[utoipa::path(post, path = "/api/v1/drawings/{id}/free-entry", tag = "drawings",
    params(("id" = String, Path, description = "the drawing's id")),
    responses(
        (status = 201, description = "The tickets are yours", body = EntryReceipt),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`not_eligible` (reasons in `errors`) or `profile_incomplete`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such drawing", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`free_entry_used_today`, `drawing_not_open`, `drawing_closed` or `ticket_limit_reached`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn free_entry(
    State(drawings): State<DrawingService>,
    CompleteProfile(user): CompleteProfile,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<EntryReceipt>)> {
    Ok((StatusCode::CREATED, Json(drawings.free_entry(user.user_id, &drawing_id(&id)?).await?)))
}

/// My tickets
///
/// The caller's tickets in a drawing and how they were obtained; after close, their ticket
/// numbers and their entrant id (what the snapshot and results list instead of them).
#[utoipa::path(get, path = "/api/v1/drawings/{id}/my-tickets", tag = "drawings",
    params(("id" = String, Path, description = "the drawing's id")),
    responses(
        (status = 200, description = "The caller's tickets", body = MyTickets),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`profile_incomplete`: complete the profile first", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such drawing", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn my_tickets(
    State(drawings): State<DrawingService>,
    CompleteProfile(user): CompleteProfile,
    Path(id): Path<String>,
) -> ApiResult<Json<MyTickets>> {
    Ok(Json(drawings.my_tickets(user.user_id, &drawing_id(&id)?).await?))
}

/// What closed entries committed to
///
/// Published at close, before the randomness exists: the snapshot's hash, N, the drawing and
/// close times, and the beacon round (or commit-reveal commitment) that will decide it. Anyone
/// may record it then; the results must match it. Public, and final once published.
#[utoipa::path(get, path = "/api/v1/drawings/{id}/commitment", tag = "drawings",
    params(("id" = String, Path, description = "the drawing's id")),
    responses(
        (status = 200, description = "The commitment", body = PublishedCommitment),
        (status = 404, description = "`not_found`: no such drawing", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`snapshot_not_published`: entries are not closed yet", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ))]
async fn commitment(State(drawings): State<DrawingService>, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(immutable(Json(drawings.commitment(&drawing_id(&id)?).await?)))
}

/// Once published, a commitment, results or snapshot never changes: caches may keep it.
fn immutable(body: impl IntoResponse) -> Response {
    ([(header::CACHE_CONTROL, "public, max-age=31536000, immutable")], body).into_response()
}

/// Results
///
/// The published results (`fittrack-draw-v1`): N, the snapshot's hash, the beacon (commitment and
/// reveal), the seed, the winners and alternates with place, ticket and entrant id. Public:
/// `fittrack verify-drawing` recomputes them from this and the snapshot alone.
#[utoipa::path(get, path = "/api/v1/drawings/{id}/results", tag = "drawings",
    params(("id" = String, Path, description = "the drawing's id")),
    responses(
        (status = 200, description = "The results", body = PublishedResults),
        (status = 404, description = "`not_found`: no such drawing", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`results_not_published`: not drawn yet", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ))]
async fn results(State(drawings): State<DrawingService>, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(immutable(Json(drawings.results(&drawing_id(&id)?).await?)))
}

/// Snapshot
///
/// The snapshot file frozen at close: `<first>,<count>,<entrant>` per line, in ticket order. Its
/// SHA-256 is the published `snapshot_hash`. Public.
#[utoipa::path(get, path = "/api/v1/drawings/{id}/snapshot", tag = "drawings",
    params(("id" = String, Path, description = "the drawing's id")),
    responses(
        (status = 200, description = "The snapshot file", content_type = "text/plain", body = String),
        (status = 404, description = "`not_found`: no such drawing", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`snapshot_not_published`: entries are not closed yet", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ))]
async fn snapshot(State(drawings): State<DrawingService>, Path(id): Path<String>) -> ApiResult<Response> {
    let file = drawings.snapshot_file(&drawing_id(&id)?).await?;
    Ok(immutable(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], file)))
}

/// Create a drawing (admins)
///
/// A draft, with its prizes if given. Entries close 5 minutes before the drawing by default.
#[utoipa::path(post, path = "/api/v1/admin/drawings", tag = "admin",
    request_body = DrawingInput,
    responses(
        (status = 201, description = "The draft", body = DrawingView),
        (status = 400, description = "`malformed_json` or `bad_request`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (see `errors`) or `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn create_drawing(
    State(drawings): State<DrawingService>,
    AdminActor(actor): AdminActor,
    ApiJson(body): ApiJson<DrawingInput>,
) -> ApiResult<(StatusCode, Json<DrawingView>)> {
    let record = drawings.create_drawing(&actor, body).await?;
    Ok((StatusCode::CREATED, Json(drawings.view(record, None).await?)))
}

/// Update a draft drawing (admins)
///
/// Replaces every setting, prizes included. Only drafts change.
#[utoipa::path(put, path = "/api/v1/admin/drawings/{id}", tag = "admin",
    params(("id" = String, Path, description = "the drawing's id")),
    request_body = DrawingInput,
    responses(
        (status = 200, description = "The draft", body = DrawingView),
        (status = 400, description = "`malformed_json` or `bad_request`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such drawing", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`drawing_not_editable`: past draft", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (see `errors`) or `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: changed by someone else or busy; read it again", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn update_drawing(
    State(drawings): State<DrawingService>,
    AdminActor(actor): AdminActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DrawingInput>,
) -> ApiResult<Json<DrawingView>> {
    let record = drawings.update_drawing(&actor, &drawing_id(&id)?, body).await?;
    Ok(Json(drawings.view(record, None).await?))
}

/// Cancel a drawing (admins)
///
/// From any status before completed. Every ticket bought comes back as points, exactly once,
/// even if this is retried or races purchases. Retrying a cancel is safe.
#[utoipa::path(delete, path = "/api/v1/admin/drawings/{id}", tag = "admin",
    params(("id" = String, Path, description = "the drawing's id")),
    responses(
        (status = 200, description = "Cancelled, every purchase refunded", body = DrawingView),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such drawing", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: a completed drawing is final", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy; retry (refunds already made stay made)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn cancel_drawing(
    State(drawings): State<DrawingService>,
    AdminActor(actor): AdminActor,
    Path(id): Path<String>,
) -> ApiResult<Json<DrawingView>> {
    let record = drawings.cancel(&actor, &drawing_id(&id)?).await?;
    Ok(Json(drawings.view(record, None).await?))
}

/// Schedule a drawing (admins)
///
/// Needs at least one prize, an active sponsor with an address, and a future drawing time. Fixes
/// the official rules and the excluded states; entries open at `opens_at` (now if unset).
#[utoipa::path(post, path = "/api/v1/admin/drawings/{id}/schedule", tag = "admin",
    params(("id" = String, Path, description = "the drawing's id")),
    responses(
        (status = 200, description = "Scheduled", body = DrawingView),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such drawing", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition` (the reasons in `detail`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn schedule_drawing(
    State(drawings): State<DrawingService>,
    AdminActor(actor): AdminActor,
    Path(id): Path<String>,
) -> ApiResult<Json<DrawingView>> {
    let record = drawings.schedule(&actor, &drawing_id(&id)?).await?;
    Ok(Json(drawings.view(record, None).await?))
}

/// Draw now (admins)
///
/// For a closed drawing whose beacon round exists: what the scheduler would do on its next run.
#[utoipa::path(post, path = "/api/v1/admin/drawings/{id}/execute", tag = "admin",
    params(("id" = String, Path, description = "the drawing's id")),
    responses(
        (status = 200, description = "Drawn; the results are published", body = DrawingView),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such drawing", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition` (not closed) or `beacon_round_pending`", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`beacon_unavailable` or `beacon_invalid`: nothing was drawn", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn execute_drawing(
    State(drawings): State<DrawingService>,
    AdminActor(actor): AdminActor,
    Path(id): Path<String>,
) -> ApiResult<Json<DrawingView>> {
    let record = drawings.execute(&actor, &drawing_id(&id)?).await?;
    Ok(Json(drawings.view(record, None).await?))
}

/// Add a prize (admins)
///
/// To a draft drawing; it takes the next places.
#[utoipa::path(post, path = "/api/v1/admin/drawings/{id}/prizes", tag = "admin",
    params(("id" = String, Path, description = "the drawing's id")),
    request_body = PrizeInput,
    responses(
        (status = 201, description = "The drawing with the prize", body = DrawingView),
        (status = 400, description = "`malformed_json` or `bad_request`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such drawing", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`drawing_not_editable`: past draft", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (see `errors`) or `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn add_prize(
    State(drawings): State<DrawingService>,
    AdminActor(actor): AdminActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PrizeInput>,
) -> ApiResult<(StatusCode, Json<DrawingView>)> {
    let record = drawings.add_prize(&actor, &drawing_id(&id)?, body).await?;
    Ok((StatusCode::CREATED, Json(drawings.view(record, None).await?)))
}

/// Replace a prize (admins)
#[utoipa::path(put, path = "/api/v1/admin/drawings/{id}/prizes/{prize_id}", tag = "admin",
    params(("id" = String, Path, description = "the drawing's id"), ("prize_id" = String, Path, description = "the prize's id")),
    request_body = PrizeInput,
    responses(
        (status = 200, description = "The drawing with the prize replaced", body = DrawingView),
        (status = 400, description = "`malformed_json` or `bad_request`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such drawing or prize", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`drawing_not_editable`: past draft", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (see `errors`) or `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn update_prize(
    State(drawings): State<DrawingService>,
    AdminActor(actor): AdminActor,
    Path((id, prize_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<PrizeInput>,
) -> ApiResult<Json<DrawingView>> {
    let record = drawings.update_prize(&actor, &drawing_id(&id)?, &prize_id, body).await?;
    Ok(Json(drawings.view(record, None).await?))
}

/// Remove a prize (admins)
#[utoipa::path(delete, path = "/api/v1/admin/drawings/{id}/prizes/{prize_id}", tag = "admin",
    params(("id" = String, Path, description = "the drawing's id"), ("prize_id" = String, Path, description = "the prize's id")),
    responses(
        (status = 200, description = "The drawing without the prize", body = DrawingView),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such drawing or prize", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`drawing_not_editable`: past draft", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn remove_prize(
    State(drawings): State<DrawingService>,
    AdminActor(actor): AdminActor,
    Path((id, prize_id)): Path<(String, String)>,
) -> ApiResult<Json<DrawingView>> {
    let record = drawings.remove_prize(&actor, &drawing_id(&id)?, &prize_id).await?;
    Ok(Json(drawings.view(record, None).await?))
}

/// Record a mail-in entry (admins)
///
/// For a registered user, as the official rules describe: the free-entry tickets, once per
/// person per postmark day, under the same eligibility and per-person maximum.
#[utoipa::path(post, path = "/api/v1/admin/drawings/{id}/mail-in-entries", tag = "admin",
    params(("id" = String, Path, description = "the drawing's id")),
    request_body = MailInRequest,
    responses(
        (status = 201, description = "Recorded", body = EntryReceipt),
        (status = 400, description = "`malformed_json` or `bad_request`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (not an admin) or `not_eligible` (the entrant; reasons in `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found` (drawing) or `user_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mail_in_already_recorded`, `drawing_not_open`, `drawing_closed` or `ticket_limit_reached`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (postmark) or `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn record_mail_in(
    State(drawings): State<DrawingService>,
    AdminActor(actor): AdminActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MailInRequest>,
) -> ApiResult<(StatusCode, Json<EntryReceipt>)> {
    let receipt = drawings.record_mail_in(&actor, &drawing_id(&id)?, body).await?;
    Ok((StatusCode::CREATED, Json(receipt)))
}

/// Sponsors (admins)
#[utoipa::path(get, path = "/api/v1/admin/sponsors", tag = "admin", params(PageParams),
    responses(
        (status = 200, description = "One page of sponsors, by name", body = Page<SponsorView>),
        (status = 400, description = "`invalid_query` or `invalid_cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `limit` out of range", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn list_sponsors(
    State(drawings): State<DrawingService>,
    RequireRole(_, _): RequireRole<Admin>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<SponsorView>>> {
    let limit = page_limit(params.limit)?;
    let (items, next) = drawings.sponsors(limit, params.cursor.map(Cursor)).await?;
    Ok(Json(Page::new(items, limit, next.map(|c| c.0))))
}

/// Add a sponsor (admins)
#[utoipa::path(post, path = "/api/v1/admin/sponsors", tag = "admin",
    request_body = SponsorInput,
    responses(
        (status = 201, description = "The sponsor", body = SponsorView),
        (status = 400, description = "`malformed_json` or `bad_request`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (see `errors`) or `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn create_sponsor(
    State(drawings): State<DrawingService>,
    AdminActor(actor): AdminActor,
    ApiJson(body): ApiJson<SponsorInput>,
) -> ApiResult<(StatusCode, Json<SponsorView>)> {
    Ok((StatusCode::CREATED, Json(drawings.create_sponsor(&actor, body).await?)))
}

/// Update a sponsor (admins)
#[utoipa::path(put, path = "/api/v1/admin/sponsors/{id}", tag = "admin",
    params(("id" = String, Path, description = "the sponsor's id")),
    request_body = SponsorInput,
    responses(
        (status = 200, description = "The sponsor", body = SponsorView),
        (status = 400, description = "`malformed_json` or `bad_request`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such sponsor", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (see `errors`) or `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn update_sponsor(
    State(drawings): State<DrawingService>,
    AdminActor(actor): AdminActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SponsorInput>,
) -> ApiResult<Json<SponsorView>> {
    Ok(Json(drawings.update_sponsor(&actor, &id, body).await?))
}
