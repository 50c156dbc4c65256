//! `/api/v1/notifications`, `/api/v1/users/me/notification-preferences` and the one-click
//! unsubscribe `/api/v1/email/unsubscribe` (RFC 8058). Only the owner reaches a notification:
//! another user's id answers 404, as one that does not exist.

use axum::Json;
use axum::extract::{FromRef, Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use fittrack_accounts::Authenticator;
use fittrack_notifications::preferences::{EmailPreferences, PreferencesChange};
use fittrack_notifications::{EmailCategory, NotificationView, Notifications};
use fittrack_platform::ports::Cursor;

use crate::extract::{ApiJson, ApiQuery, CurrentUser};
use crate::pagination::{Page, checked_limit};
use crate::problem::{ApiResult, Problem};

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Notifications: FromRef<S>,
    Authenticator: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(unread_count))
        .routes(routes!(read_all))
        .routes(routes!(get_one))
        .routes(routes!(mark_read))
        .routes(routes!(preferences, set_preferences))
        .routes(routes!(unsubscribe_page, unsubscribe))
}

const NOT_FOUND: &str = "`not_found`: the caller has no notification with this id";

/// `?is_read=&limit=&cursor=`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationParams {
    /// `false`: unread only; `true`: read only; absent: all.
    #[serde(default)]
    pub is_read: Option<bool>,
    /// 1 to 100, 25 by default.
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub cursor: Option<String>,
}

/// The caller's notifications
///
/// Newest first. With `is_read=true` a page may hold fewer than `limit` and still have a next one.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(NotificationParams),
    responses(
        (status = 200, description = "A page of notifications", body = Page<NotificationView>),
        (status = 400, description = "`invalid_query` or `invalid_cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `limit` out of range", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn list(
    State(notifications): State<Notifications>,
    CurrentUser(user): CurrentUser,
    ApiQuery(params): ApiQuery<NotificationParams>,
) -> ApiResult<Json<Page<NotificationView>>> {
    let limit = checked_limit(params.limit, 25, 100)?;
    let page = notifications.list(user.user_id, params.is_read, limit, params.cursor.map(Cursor)).await?;
    Ok(Json(Page::new(page.items, limit, page.next.map(|c| c.0))))
}

/// How many notifications are unread.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    pub unread: u64,
}

/// The caller's unread count
///
/// One read: the count is kept in step with the notifications, exactly.
#[utoipa::path(get, path = "/api/v1/notifications/unread-count", tag = "notifications",
    responses(
        (status = 200, description = "The unread count", body = UnreadCount),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn unread_count(
    State(notifications): State<Notifications>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<UnreadCount>> {
    Ok(Json(UnreadCount { unread: notifications.unread_count(user.user_id).await? }))
}

/// How many notifications a request marked read.
#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedRead {
    pub marked: u32,
}

/// Mark every notification read
#[utoipa::path(post, path = "/api/v1/notifications/read-all", tag = "notifications",
    responses(
        (status = 200, description = "How many this request marked", body = MarkedRead),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn read_all(
    State(notifications): State<Notifications>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<MarkedRead>> {
    Ok(Json(MarkedRead { marked: notifications.mark_all_read(user.user_id).await? }))
}

/// One notification
#[utoipa::path(get, path = "/api/v1/notifications/{id}", tag = "notifications",
    params(("id" = String, Path, description = "the notification's id")),
    responses(
        (status = 200, description = "The notification", body = NotificationView),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = NOT_FOUND, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn get_one(
    State(notifications): State<Notifications>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<NotificationView>> {
    Ok(Json(notifications.get(user.user_id, &id).await?))
}

/// Mark one notification read
///
/// Idempotent: marking it again changes nothing.
#[utoipa::path(put, path = "/api/v1/notifications/{id}/read", tag = "notifications",
    params(("id" = String, Path, description = "the notification's id")),
    responses(
        (status = 200, description = "The notification, read", body = NotificationView),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = NOT_FOUND, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn mark_read(
    State(notifications): State<Notifications>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<NotificationView>> {
    Ok(Json(notifications.mark_read(user.user_id, &id).await?))
}

/// The caller's email choices.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPreferences {
    /// Optional emails, each on unless turned off (every notification still shows in the app).
    pub email: EmailPreferences,
    /// Emails that are always sent: security, winner claims, account status.
    pub always_sent: Vec<&'static str>,
}

fn preferences_view(email: EmailPreferences) -> NotificationPreferences {
    NotificationPreferences { email, always_sent: vec!["security", "winner_claims", "account_status"] }
}

/// The caller's notification preferences
#[utoipa::path(get, path = "/api/v1/users/me/notification-preferences", tag = "notifications",
    responses(
        (status = 200, description = "The caller's email choices", body = NotificationPreferences),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn preferences(
    State(notifications): State<Notifications>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<NotificationPreferences>> {
    Ok(Json(preferences_view(notifications.preferences(user.user_id).await?)))
}

/// Change the caller's notification preferences
///
/// The fields left out keep their value.
#[utoipa::path(put, path = "/api/v1/users/me/notification-preferences", tag = "notifications",
    request_body = PreferencesChange,
    responses(
        (status = 200, description = "The caller's email choices", body = NotificationPreferences),
        (status = 400, description = "`malformed_json` or `bad_request`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`: an unknown field or not a boolean", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn set_preferences(
    State(notifications): State<Notifications>,
    CurrentUser(user): CurrentUser,
    ApiJson(change): ApiJson<PreferencesChange>,
) -> ApiResult<Json<NotificationPreferences>> {
    Ok(Json(preferences_view(notifications.set_preferences(user.user_id, change).await?)))
}

/// `?token=`: the token of an unsubscribe link.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnsubscribeParams {
    pub token: String,
}

fn category_words(category: EmailCategory) -> &'static str {
    match category {
        EmailCategory::PrizeUpdates => "prize shipping and delivery emails",
        EmailCategory::PointsUpdates => "emails about points adjustments",
        EmailCategory::Essential => "essential emails",
    }
}

fn html(body: String) -> impl IntoResponse {
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>FitTrack email</title></head>\
         <body>{body}</body></html>"
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page)
}

/// The unsubscribe page
///
/// What a browser shows for the link in an email's footer: a button that unsubscribes (a GET
/// never changes anything, so link scanners cannot unsubscribe anyone).
#[utoipa::path(get, path = "/api/v1/email/unsubscribe", tag = "notifications", params(UnsubscribeParams),
    responses(
        (status = 200, description = "A page with the unsubscribe button", content_type = "text/html", body = String),
        (status = 400, description = "`invalid_unsubscribe_link` or `invalid_query`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn unsubscribe_page(
    State(notifications): State<Notifications>,
    ApiQuery(params): ApiQuery<UnsubscribeParams>,
) -> ApiResult<impl IntoResponse> {
    let (_, category) = notifications.check_token(&params.token)?;
    Ok(html(format!(
        "<p>Stop {}?</p><form method=\"post\"><button type=\"submit\">Unsubscribe</button></form>\
         <p>Emails about security, prizes you won and your account are always sent.</p>",
        category_words(category)
    )))
}

/// One-click unsubscribe (RFC 8058)
///
/// What mail clients POST (`List-Unsubscribe=One-Click`) when someone presses their unsubscribe
/// button, and what the page's button posts. Needs no sign-in: the link names the user and
/// category and is signed for them only. Repeating it changes nothing more.
#[utoipa::path(post, path = "/api/v1/email/unsubscribe", tag = "notifications", params(UnsubscribeParams),
    responses(
        (status = 200, description = "Unsubscribed", content_type = "text/html", body = String),
        (status = 400, description = "`invalid_unsubscribe_link` or `invalid_query`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem, content_type = "application/problem+json"),
    ))]
async fn unsubscribe(
    State(notifications): State<Notifications>,
    ApiQuery(params): ApiQuery<UnsubscribeParams>,
) -> ApiResult<impl IntoResponse> {
    let (_, category) = notifications.unsubscribe(&params.token).await?;
    Ok((
        StatusCode::OK,
        html(format!(
            "<p>Done: you will not get {} any more.</p><p>You can turn them back on in the app's settings.</p>",
            category_words(category)
        )),
    ))
}
