//! `/api/v1/connections*`: tracker connections, the OAuth callback and manual sync.
//!
//! The callback is reached two ways with the same meaning: the browser's redirect from the
//! provider (`GET`, answered with a redirect back into the web app) and the mobile app posting
//! the code it caught (`POST`, answered with JSON). The single-use `state` names the pending
//! authorization, and the caller must be the party that started it: the browser brings the
//! HttpOnly binding cookie that "initiate" set (`SameSite=Lax`, so it rides the provider's
//! top-level redirect, scoped to the callback's path), the app its bearer token.

use axum::extract::{FromRef, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use fittrack_accounts::Authenticator;
use fittrack_sync::{AuthorizingParty, ConnectStart, SyncService};

use crate::extract::{ApiJson, ApiQuery, CompleteProfile};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::ClientPolicy;

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    SyncService: FromRef<S>,
    Authenticator: FromRef<S>,
    ClientPolicy: FromRef<S>,
{
    Router::new()
        .route("/api/v1/connections", get(list))
        .route("/api/v1/connections/{provider}/initiate", post(initiate))
        .route("/api/v1/connections/{provider}/callback", get(callback_redirect).post(callback_json))
        .route("/api/v1/connections/{provider}/sync", post(sync_now))
        .route("/api/v1/connections/{provider}", delete(disconnect))
}

async fn list(State(sync): State<SyncService>, CompleteProfile(user): CompleteProfile) -> ApiResult<Json<Value>> {
    let connections = sync.connections(user.user_id).await?;
    Ok(Json(json!({"items": connections, "available": sync.provider_names()})))
}

/// The simulated tracker connects at once (201); OAuth trackers answer with the provider's
/// authorization URL to send the user to (200), and bind the browser with a cookie.
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

#[derive(Debug, Deserialize)]
struct CallbackParams {
    state: Option<String>,
    code: Option<String>,
    /// Set by the provider when the user declined (`access_denied`).
    error: Option<String>,
}

async fn complete(
    sync: &SyncService,
    provider: &str,
    params: CallbackParams,
    party: &AuthorizingParty,
) -> Result<Value, ApiError> {
    if params.error.is_some() {
        return Err(Problem::new(StatusCode::BAD_REQUEST, "authorization_declined", "Access was not granted").into());
    }
    let (Some(oauth_state), Some(code)) = (params.state.filter(|s| !s.is_empty()), params.code) else {
        return Err(
            Problem::new(StatusCode::BAD_REQUEST, "invalid_callback", "The callback needs `state` and `code`").into()
        );
    };
    let (_, connection) = sync.complete_authorization(provider, &oauth_state, &code, party).await?;
    Ok(json!({"status": "connected", "connection": connection}))
}

/// The browser comes back here from the provider; it goes on to the web app with the outcome.
async fn callback_redirect(
    State(sync): State<SyncService>,
    State(client): State<ClientPolicy>,
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
async fn callback_json(
    State(sync): State<SyncService>,
    CompleteProfile(user): CompleteProfile,
    Path(provider): Path<String>,
    ApiJson(params): ApiJson<CallbackParams>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let party = AuthorizingParty::User(user.user_id);
    Ok((StatusCode::CREATED, Json(complete(&sync, &provider, params, &party).await?)))
}

async fn sync_now(
    State(sync): State<SyncService>,
    CompleteProfile(user): CompleteProfile,
    Path(provider): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    sync.request_sync(user.user_id, &provider).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"status": "queued"}))))
}

/// Revokes the grant at the provider, then forgets the connection (activities and points stay).
async fn disconnect(
    State(sync): State<SyncService>,
    CompleteProfile(user): CompleteProfile,
    Path(provider): Path<String>,
) -> ApiResult<StatusCode> {
    sync.disconnect(user.user_id, &provider).await?;
    Ok(StatusCode::NO_CONTENT)
}
