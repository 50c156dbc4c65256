//! `/api/v1/connections*`: tracker connections, the OAuth callback and manual sync.
//!
//! The callback is reached two ways with the same meaning: the browser's redirect from the
//! provider (`GET`, answered with a redirect back into the web app) and the mobile app posting
//! the code it caught (`POST`, answered with JSON). The single-use `state` names the pending
//! authorization, and the caller must be the party that started it: the browser brings the
//! HttpOnly binding cookie that "initiate" set (`SameSite=Lax`, so it rides the provider's
//! top-level redirect, scoped to the callback's path), the app its bearer token.

use axum::Json;
use axum::extract::{FromRef, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use fittrack_accounts::Authenticator;
use fittrack_sync::{AuthorizingParty, ConnectStart, Connection, SyncService};

use crate::extract::{ApiJson, ApiQuery, CompleteProfile};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::HttpSettings;

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    SyncService: FromRef<S>,
    Authenticator: FromRef<S>,
    HttpSettings: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(initiate))
        .routes(routes!(callback_redirect, callback_json))
        .routes(routes!(sync_now))
        .routes(routes!(disconnect))
}

/// The caller's connections, and the trackers this deployment offers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionList {
    /// The caller's connected trackers.
    pub items: Vec<Connection>,
    /// The trackers that can be connected here (the `{provider}` of the other routes), sorted.
    pub available: Vec<&'static str>,
}

/// A completed authorization.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionCompleted {
    /// Always `connected`.
    pub status: &'static str,
    /// The connection, now active.
    pub connection: Connection,
}

/// A manual sync was accepted.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncQueued {
    /// Always `queued`: the sync runs in the background.
    pub status: &'static str,
}

/// Lists the caller's tracker connections.
///
/// Also names the trackers this deployment offers (`available`), connected or not. Not paginated:
/// a user has at most one connection per tracker.
#[utoipa::path(get, path = "/api/v1/connections", tag = "connections",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's connections and the trackers available", body = ConnectionList),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "`profile_incomplete`: complete the profile first (missing fields in `errors`)",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store is busy; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn list(
    State(sync): State<SyncService>,
    CompleteProfile(user): CompleteProfile,
) -> ApiResult<Json<ConnectionList>> {
    let connections = sync.connections(user.user_id).await?;
    Ok(Json(ConnectionList { items: connections, available: sync.provider_names() }))
}

/// Starts connecting a tracker.
///
/// The simulated tracker connects at once (201, `status: connected`); connecting it again
/// changes nothing. OAuth trackers answer 200 with `status: authorization_required` and the
/// provider's `authorization_url` to send the user to, and bind the calling browser with an
/// HttpOnly cookie (`fittrack_oauth_{provider}`, `SameSite=Lax`, scoped to the callback's path,
/// valid for `expires_in` seconds) that the browser's callback must bring back. The mobile app
/// ignores the cookie and posts the code it catches to the callback with its bearer token.
#[utoipa::path(post, path = "/api/v1/connections/{provider}/initiate", tag = "connections",
    params(("provider" = String, Path, description = "tracker name, e.g. `strava` (see `available` in the list)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`authorization_required`: send the user to `authorization_url`",
            body = ConnectStart,
            headers(("set-cookie" = String, description = "The browser binding `fittrack_oauth_{provider}` (HttpOnly, SameSite=Lax, Secure over HTTPS, Path = the callback, Max-Age = `expires_in`)"))),
        (status = 201, description = "`connected`: a tracker without an authorization step, connected at once",
            body = ConnectStart),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "`profile_incomplete`: complete the profile first (missing fields in `errors`)",
            body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`provider_not_available`: this deployment offers no such tracker",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store is busy; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn initiate(
    State(sync): State<SyncService>,
    CompleteProfile(user): CompleteProfile,
    Path(provider): Path<String>,
) -> ApiResult<Response> {
    let start = sync.start(user.user_id, &provider).await?;
    let response = match &start {
        ConnectStart::Connected { .. } => (StatusCode::CREATED, Json(&start)).into_response(),
        ConnectStart::AuthorizationRequired { browser_binding, expires_in, .. } => {
            let cookie = binding_cookie(&sync, &provider, browser_binding.clone(), *expires_in);
            (StatusCode::OK, [(header::SET_COOKIE, cookie.to_string())], Json(&start)).into_response()
        }
    };
    Ok(response)
}

fn binding_cookie_name(provider: &str) -> String {
    format!("fittrack_oauth_{provider}")
}

/// The browser binding: readable by no script, sent only to this provider's callback, and only
/// over HTTPS where the API is served over it.
fn binding_cookie(sync: &SyncService, provider: &str, value: String, max_age_secs: i64) -> cookie::Cookie<'static> {
    let callback = url_path_and_scheme(&sync.redirect_uri(provider));
    cookie::Cookie::build((binding_cookie_name(provider), value))
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .secure(callback.1)
        .path(callback.0)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build()
}

/// The path of an absolute URL, and whether it is HTTPS.
fn url_path_and_scheme(url: &str) -> (String, bool) {
    let secure = url.starts_with("https://");
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    (path.to_owned(), secure)
}

/// What the provider hands back on its redirect: `state` and `code`, or `error`.
#[derive(Debug, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
struct CallbackParams {
    /// The single-use `state` of the authorization request, as the provider echoed it.
    state: Option<String>,
    /// The provider's authorization code.
    code: Option<String>,
    /// Set by the provider when the user declined (`access_denied`).
    error: Option<String>,
}

async fn complete(
    sync: &SyncService,
    provider: &str,
    params: CallbackParams,
    party: &AuthorizingParty,
) -> Result<ConnectionCompleted, ApiError> {
    if params.error.is_some() {
        return Err(Problem::new(StatusCode::BAD_REQUEST, "authorization_declined", "Access was not granted").into());
    }
    let (Some(oauth_state), Some(code)) = (params.state.filter(|s| !s.is_empty()), params.code) else {
        return Err(
            Problem::new(StatusCode::BAD_REQUEST, "invalid_callback", "The callback needs `state` and `code`").into()
        );
    };
    let (_, connection) = sync.complete_authorization(provider, &oauth_state, &code, party).await?;
    Ok(ConnectionCompleted { status: "connected", connection })
}

/// The browser comes back here from the provider; it goes on to the web app with the outcome.
///
/// Called by the provider's redirect, not by clients: no bearer token. The browser must bring
/// the HttpOnly binding cookie `fittrack_oauth_{provider}` that "initiate" set, so a `state`
/// started by someone else cannot complete here. Always answers 303 to
/// `{app_url}/connections?provider={provider}&result=connected`, or on failure
/// `...&result=failed&code={code}` with the problem code the JSON callback would give
/// (`authorization_declined`, `invalid_callback`, `invalid_authorization_state`,
/// `authorization_not_bound`, `authorization_refused`, `tracker_account_in_use`,
/// `no_authorization_flow`, `provider_not_available`, `tracker_unavailable`,
/// `service_unavailable`, `internal_error`). The binding cookie is cleared, except after
/// `authorization_not_bound` (a stranger's link must not end this browser's own flow).
#[utoipa::path(get, path = "/api/v1/connections/{provider}/callback", tag = "connections",
    params(
        ("provider" = String, Path, description = "tracker name, e.g. `strava`"),
        CallbackParams,
    ),
    responses(
        (status = 303, description = "On to the web app with the outcome in the query (`result=connected`, or `result=failed&code=...`)",
            headers(
                ("location" = String, description = "`{app_url}/connections?provider={provider}&result=connected`, or `...&result=failed&code={problem code}`"),
                ("cache-control" = String, description = "`no-store`"),
                ("set-cookie" = String, description = "Clears the binding cookie `fittrack_oauth_{provider}` (absent after `authorization_not_bound`)"),
            )),
        (status = 400, description = "`invalid_query`: the query string cannot be read", body = Problem,
            content_type = "application/problem+json"),
    ))]
async fn callback_redirect(
    State(sync): State<SyncService>,
    State(client): State<HttpSettings>,
    Path(provider): Path<String>,
    headers: axum::http::HeaderMap,
    ApiQuery(params): ApiQuery<CallbackParams>,
) -> Response {
    let name = binding_cookie_name(&provider);
    let binding = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned());
    let outcome = match complete(&sync, &provider, params, &AuthorizingParty::Browser { binding }).await {
        Ok(_) => "result=connected".to_owned(),
        Err(error) => format!("result=failed&code={}", error.code()),
    };
    // A stranger's link opened in the middle of this browser's own flow must not end that flow.
    let spent = !outcome.ends_with("authorization_not_bound");
    let provider: String = provider.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    let location = format!("{}/connections?provider={provider}&{outcome}", client.app_url);
    let mut response =
        (StatusCode::SEE_OTHER, [(header::LOCATION, location), (header::CACHE_CONTROL, "no-store".to_owned())])
            .into_response();
    if spent {
        // The binding has served its one flow.
        let spent = binding_cookie(&sync, &provider, String::new(), 0);
        if let Ok(value) = spent.to_string().parse() {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
    response
}

/// The app posts the code it caught, signed in as the user who started the authorization.
///
/// The body is what the provider put in its redirect (`state` and `code`, or `error`). The
/// authorization must have been started ("initiate") by the same user; `state` is single-use.
#[utoipa::path(post, path = "/api/v1/connections/{provider}/callback", tag = "connections",
    params(("provider" = String, Path, description = "tracker name, e.g. `strava`")),
    request_body = CallbackParams,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Connected", body = ConnectionCompleted),
        (status = 400, description = "`authorization_declined`: the user did not grant access (`error` set); \
            `invalid_callback`: `state` or `code` missing; `invalid_authorization_state`: `state` unknown, used or expired \
            (start again); `authorization_refused`: the tracker refused the code; `malformed_json`: the body is not JSON",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "`profile_incomplete`: complete the profile first (missing fields in `errors`); \
            `authorization_not_bound`: the authorization was started by another user",
            body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`provider_not_available`: this deployment offers no such tracker",
            body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no_authorization_flow`: this tracker connects without authorization (use initiate); \
            `tracker_account_in_use`: the tracker account is linked to another FitTrack account",
            body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: the body is over 1 MB", body = Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/json`", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`: the body has the wrong shape", body = Problem,
            content_type = "application/problem+json"),
        (status = 502, description = "`tracker_unavailable`: the tracker could not be reached; nothing changed",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`tracker_unavailable`: the tracker is busy; `service_unavailable`: the store is busy \
            (retry after `Retry-After`)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn callback_json(
    State(sync): State<SyncService>,
    CompleteProfile(user): CompleteProfile,
    Path(provider): Path<String>,
    ApiJson(params): ApiJson<CallbackParams>,
) -> ApiResult<(StatusCode, Json<ConnectionCompleted>)> {
    let party = AuthorizingParty::User(user.user_id);
    Ok((StatusCode::CREATED, Json(complete(&sync, &provider, params, &party).await?)))
}

/// Syncs a connected tracker now.
///
/// Queues a sync of the caller's connection to `provider`; it runs in the background, and its
/// activities then show in the points routes. Rate limited per user.
#[utoipa::path(post, path = "/api/v1/connections/{provider}/sync", tag = "connections",
    params(("provider" = String, Path, description = "tracker name, e.g. `strava`")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued", body = SyncQueued),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "`profile_incomplete`: complete the profile first (missing fields in `errors`)",
            body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_connected`: the caller has not connected this tracker", body = Problem,
            content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many manual syncs; retry after `Retry-After`", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store or queue is busy; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn sync_now(
    State(sync): State<SyncService>,
    CompleteProfile(user): CompleteProfile,
    Path(provider): Path<String>,
) -> ApiResult<(StatusCode, Json<SyncQueued>)> {
    sync.request_sync(user.user_id, &provider).await?;
    Ok((StatusCode::ACCEPTED, Json(SyncQueued { status: "queued" })))
}

/// Disconnects a tracker.
///
/// Revokes the grant at the provider, then forgets the connection (activities and points stay).
/// If the provider cannot be reached the connection stays, so the call can be repeated.
#[utoipa::path(delete, path = "/api/v1/connections/{provider}", tag = "connections",
    params(("provider" = String, Path, description = "tracker name, e.g. `strava`")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Disconnected"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "`profile_incomplete`: complete the profile first (missing fields in `errors`)",
            body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_connected`: the caller has not connected this tracker", body = Problem,
            content_type = "application/problem+json"),
        (status = 502, description = "`tracker_unavailable`: the tracker could not be reached to revoke the grant; nothing changed",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`tracker_unavailable`: the tracker is busy; `service_unavailable`: the store is busy \
            (retry after `Retry-After`)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn disconnect(
    State(sync): State<SyncService>,
    CompleteProfile(user): CompleteProfile,
    Path(provider): Path<String>,
) -> ApiResult<StatusCode> {
    sync.disconnect(user.user_id, &provider).await?;
    Ok(StatusCode::NO_CONTENT)
}
