//! `/api/v1/fulfillments/*` (a winner's prizes) and `/api/v1/admin/fulfillments/*`.

use axum::Json;
use axum::extract::{FromRef, Path, State};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use fittrack_accounts::Authenticator;
use fittrack_domain::fulfilment::FulfilmentStatus;
use fittrack_domain::{FieldError, ValidationErrors};
use fittrack_drawings::fulfilment::{ConfirmAddress, FulfilmentView, Shipment, StatusChange};
use fittrack_drawings::{DrawingId, DrawingService};
use fittrack_platform::ports::Cursor;

use crate::extract::{Admin, AdminActor, ApiJson, ApiQuery, CurrentUser, RequireRole};
use crate::pagination::{Page, checked_limit};
use crate::problem::{ApiResult, Problem};

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    DrawingService: FromRef<S>,
    Authenticator: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(my_fulfilments))
        .routes(routes!(confirm_address))
        .routes(routes!(admin_fulfilments))
        .routes(routes!(set_status))
        .routes(routes!(ship))
}

/// My prizes
///
/// The caller's won prizes (an alternate's too, once it took one over), with what each waits for.
#[utoipa::path(get, path = "/api/v1/fulfillments", tag = "fulfillments",
    responses(
        (status = 200, description = "The caller's prizes", body = Vec<FulfilmentView>),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn my_fulfilments(
    State(drawings): State<DrawingService>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Vec<FulfilmentView>>> {
    Ok(Json(drawings.my_fulfilments(user.user_id).await?))
}

/// Confirm the shipping address
///
/// The winner only. For a prize at or above the tax-reporting threshold, also the legal name and
/// taxpayer id (`tax`). Both are stored encrypted; the taxpayer id is only ever shown masked.
#[utoipa::path(post, path = "/api/v1/fulfillments/{id}/confirm-address", tag = "fulfillments",
    params(("id" = String, Path, description = "the prize's id, e.g. `<drawing>.w0001`")),
    request_body = ConfirmAddress,
    responses(
        (status = 200, description = "Confirmed", body = FulfilmentView),
        (status = 400, description = "`malformed_json` or `bad_request`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no prize of the caller has this id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: not waiting for an address", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (e.g. `tax_details_required`) or `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn confirm_address(
    State(drawings): State<DrawingService>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ConfirmAddress>,
) -> ApiResult<Json<FulfilmentView>> {
    Ok(Json(drawings.confirm_address(user.user_id, &id, body).await?))
}

/// `?status=&drawing=&limit=&cursor=`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FulfilmentParams {
    /// A fulfilment status; `address_confirmed` (ready to ship) by default.
    #[serde(default)]
    pub status: Option<String>,
    /// One drawing's places (winners and alternates), whatever their status unless `status` is given.
    #[serde(default)]
    pub drawing: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Prizes to fulfil (admins)
#[utoipa::path(get, path = "/api/v1/admin/fulfillments", tag = "admin", params(FulfilmentParams),
    responses(
        (status = 200, description = "One page of prizes, with the winner's id, address, masked taxpayer id and history", body = Page<FulfilmentView>),
        (status = 400, description = "`invalid_query` or `invalid_cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a bad `status`, `drawing` or `limit`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn admin_fulfilments(
    State(drawings): State<DrawingService>,
    RequireRole(_, _): RequireRole<Admin>,
    ApiQuery(params): ApiQuery<FulfilmentParams>,
) -> ApiResult<Json<Page<FulfilmentView>>> {
    let limit = checked_limit(params.limit, 25, 100)?;
    let mut errors = ValidationErrors::default();
    let status = params.status.as_deref().map(str::parse::<FulfilmentStatus>).transpose().map_err(|e| {
        errors.0.push(e);
    });
    let drawing = match params.drawing.as_deref() {
        Some(raw) => match DrawingId::parse(raw) {
            Some(id) => Some(id),
            None => {
                errors.0.push(FieldError::new("drawing", "invalid_drawing", "not a drawing id"));
                None
            }
        },
        None => None,
    };
    errors.into_result()?;
    let status = status.unwrap_or_default();
    let (items, next) = drawings.admin_fulfilments(status, drawing.as_ref(), limit, params.cursor.map(Cursor)).await?;
    Ok(Json(Page::new(items, limit, next.map(|c| c.0))))
}

/// Change a prize's status (admins)
///
/// `address_invalid` (the winner gets more time to fix it), `delivered`, or `forfeited` (the
/// next alternate takes the prize over), with a note; logged with who and when.
#[utoipa::path(put, path = "/api/v1/admin/fulfillments/{id}", tag = "admin",
    params(("id" = String, Path, description = "the prize's id")),
    request_body = StatusChange,
    responses(
        (status = 200, description = "Changed", body = FulfilmentView),
        (status = 400, description = "`malformed_json` or `bad_request`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no prize has this id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: not a legal change from the prize's status", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` or `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn set_status(
    State(drawings): State<DrawingService>,
    AdminActor(actor): AdminActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StatusChange>,
) -> ApiResult<Json<FulfilmentView>> {
    Ok(Json(drawings.set_fulfilment_status(&actor, &id, body).await?))
}

/// Ship a prize (admins)
#[utoipa::path(post, path = "/api/v1/admin/fulfillments/{id}/ship", tag = "admin",
    params(("id" = String, Path, description = "the prize's id")),
    request_body = Shipment,
    responses(
        (status = 200, description = "Shipped", body = FulfilmentView),
        (status = 400, description = "`malformed_json` or `bad_request`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no prize has this id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the address is not confirmed", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` or `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn ship(
    State(drawings): State<DrawingService>,
    AdminActor(actor): AdminActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Shipment>,
) -> ApiResult<Json<FulfilmentView>> {
    Ok(Json(drawings.ship(&actor, &id, body).await?))
}
