//! Provider webhooks: each only says "this user has new data" (or "revoked us"), so each only
//! enqueues that user's sync; the data itself always comes from the provider's API with the
//! user's token. Unknown users are acknowledged and ignored, so the providers stop retrying.
//!
//! - Google Health sends the subscriber secret in `Authorization` (compared in constant time);
//!   a `{"type": "verification"}` POST must answer 201 with it and 401 without.
//! - Strava validates the subscription with `GET ?hub.mode=subscribe&hub.verify_token&hub.challenge`
//!   and posts events without a signature. So no event is trusted to change anything: every one,
//!   deauthorization included, only makes us re-read Strava with the user's token (debounced per
//!   connection); a real deauthorization then shows as refused tokens, which parks the connection.

use axum::body::Bytes;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use fittrack_sync::SyncService;

use crate::extract::ApiQuery;
use crate::problem::{ApiResult, Problem};
use crate::state::WebhookSecrets;

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    SyncService: FromRef<S>,
    WebhookSecrets: FromRef<S>,
{
    Router::new()
        .route("/api/v1/webhooks/google-health", post(google_health))
        .route("/api/v1/webhooks/strava", get(strava_subscription).post(strava_event))
}

fn matches(presented: Option<&str>, expected: Option<&SecretString>) -> bool {
    match (presented, expected) {
        (Some(presented), Some(expected)) => {
            bool::from(presented.as_bytes().ct_eq(expected.expose_secret().as_bytes()))
        }
        _ => false,
    }
}

fn unauthorized() -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "webhook_unauthorized", "Webhook credentials missing or wrong")
}

fn bad_body() -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_webhook", "Webhook body not understood")
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GoogleHealthNotification {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    /// The user, as `healthUserId` or as the resource name `users/{id}`.
    #[serde(default)]
    health_user_id: Option<String>,
    #[serde(default)]
    user: Option<String>,
}

async fn google_health(
    State(sync): State<SyncService>,
    State(webhooks): State<WebhookSecrets>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let presented = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if !matches(presented, webhooks.google_health.as_ref()) {
        return Err(unauthorized().into());
    }
    let notification: GoogleHealthNotification = serde_json::from_slice(&body).map_err(|_| bad_body())?;
    if notification.kind.as_deref() == Some("verification") {
        return Ok(StatusCode::CREATED);
    }
    let user = notification
        .health_user_id
        .or_else(|| notification.user.and_then(|u| u.strip_prefix("users/").map(str::to_owned)))
        .filter(|id| !id.is_empty())
        .ok_or_else(bad_body)?;
    sync.notify("google_health", &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct HubChallenge {
    #[serde(rename = "hub.mode")]
    mode: String,
    #[serde(rename = "hub.verify_token")]
    verify_token: String,
    #[serde(rename = "hub.challenge")]
    challenge: String,
}

async fn strava_subscription(
    State(webhooks): State<WebhookSecrets>,
    ApiQuery(hub): ApiQuery<HubChallenge>,
) -> ApiResult<Json<Value>> {
    if hub.mode != "subscribe" || !matches(Some(&hub.verify_token), webhooks.strava_verify_token.as_ref()) {
        return Err(Problem::new(StatusCode::FORBIDDEN, "webhook_unauthorized", "Verify token does not match").into());
    }
    Ok(Json(json!({"hub.challenge": hub.challenge})))
}

#[derive(Debug, Deserialize)]
struct StravaEvent {
    object_type: String,
    owner_id: u64,
    subscription_id: u64,
}

/// Strava signs nothing, so an event is a hint, never a command: it must name our subscription,
/// and at most moves that athlete's next sync forward, within a daily budget per connection
/// (see [`SyncService::notify`]). Anything else is acknowledged and ignored.
async fn strava_event(
    State(sync): State<SyncService>,
    State(webhooks): State<WebhookSecrets>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let event: StravaEvent = serde_json::from_slice(&body).map_err(|_| bad_body())?;
    if webhooks.strava_subscription_id != Some(event.subscription_id) {
        tracing::warn!("Strava event for an unknown subscription ignored");
        return Ok(StatusCode::OK);
    }
    if matches!(event.object_type.as_str(), "activity" | "athlete") {
        sync.notify("strava", &event.owner_id.to_string()).await?;
    }
    Ok(StatusCode::OK)
}
