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

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use fittrack_sync::SyncService;

use crate::extract::ApiQuery;
use crate::problem::{ApiResult, Problem};
use crate::state::WebhookSecrets;

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    SyncService: FromRef<S>,
    WebhookSecrets: FromRef<S>,
{
    OpenApiRouter::new().routes(routes!(google_health)).routes(routes!(strava_subscription, strava_event))
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

/// A Google Health notification (other fields are ignored).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct GoogleHealthNotification {
    /// `verification` for the subscription check; anything else is a data notification.
    #[serde(rename = "type", default)]
    kind: Option<String>,
    /// The user, as `healthUserId` or as the resource name `users/{id}`.
    #[serde(default)]
    health_user_id: Option<String>,
    /// The user as the resource name `users/{id}`, when `healthUserId` is absent.
    #[serde(default)]
    user: Option<String>,
}

/// Google Health notifications: a user has new data.
///
/// Called by Google Health, not by clients: no bearer token. Instead the `Authorization` header
/// must be exactly the subscriber secret configured for this deployment
/// (`FITTRACK_GOOGLE_HEALTH_WEBHOOK_SECRET`; no `Bearer` prefix unless the secret has one),
/// compared in constant time; without it, or when no secret is configured, every call answers
/// 401. The subscription check (`{"type": "verification"}`) answers 201 with the right secret.
/// A notification names the user (`healthUserId`, or `user` as `users/{id}`) and only queues that
/// user's sync, read from the provider's API with the user's own token; unknown users are
/// acknowledged and ignored.
#[utoipa::path(post, path = "/api/v1/webhooks/google-health", tag = "webhooks",
    request_body = GoogleHealthNotification,
    responses(
        (status = 201, description = "Verification accepted (`type: verification` with the right secret)"),
        (status = 204, description = "Notification accepted (or ignored for an unknown user)"),
        (status = 400, description = "`invalid_webhook`: the body is not JSON or names no user", body = Problem,
            content_type = "application/problem+json"),
        (status = 401, description = "`webhook_unauthorized`: `Authorization` missing or not the subscriber secret \
            (also when no secret is configured)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`provider_not_available`: Google Health is not offered by this deployment",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store is busy; retry later", body = Problem,
            content_type = "application/problem+json"),
    ))]
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

/// Strava's subscription validation request.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct HubChallenge {
    /// Must be `subscribe`.
    #[serde(rename = "hub.mode")]
    mode: String,
    /// The verify token given when creating the subscription.
    #[serde(rename = "hub.verify_token")]
    verify_token: String,
    /// Echoed back.
    #[serde(rename = "hub.challenge")]
    challenge: String,
}

/// The challenge echoed back to Strava.
#[derive(Debug, Serialize, ToSchema)]
pub struct HubChallengeEcho {
    /// The `hub.challenge` of the request.
    #[serde(rename = "hub.challenge")]
    pub challenge: String,
}

/// Strava subscription validation: echoes the challenge.
///
/// Called by Strava when the push subscription is created, not by clients: no bearer token.
/// `hub.mode` must be `subscribe` and `hub.verify_token` the verify token configured for this
/// deployment (`FITTRACK_STRAVA_WEBHOOK_VERIFY_TOKEN`, compared in constant time); otherwise 403.
#[utoipa::path(get, path = "/api/v1/webhooks/strava", tag = "webhooks",
    params(HubChallenge),
    responses(
        (status = 200, description = "Validated: `{\"hub.challenge\": ...}`", body = HubChallengeEcho),
        (status = 400, description = "`invalid_query`: a `hub.*` parameter is missing", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "`webhook_unauthorized`: `hub.mode` is not `subscribe`, or the verify token \
            does not match (or none is configured)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn strava_subscription(
    State(webhooks): State<WebhookSecrets>,
    ApiQuery(hub): ApiQuery<HubChallenge>,
) -> ApiResult<Json<HubChallengeEcho>> {
    if hub.mode != "subscribe" || !matches(Some(&hub.verify_token), webhooks.strava_verify_token.as_ref()) {
        return Err(Problem::new(StatusCode::FORBIDDEN, "webhook_unauthorized", "Verify token does not match").into());
    }
    Ok(Json(HubChallengeEcho { challenge: hub.challenge }))
}

/// A Strava push event (the fields read; the others are ignored).
#[derive(Debug, Deserialize, ToSchema)]
struct StravaEvent {
    /// `activity` or `athlete`; events on other objects are ignored.
    object_type: String,
    /// The Strava athlete the event is about.
    owner_id: u64,
    /// Must be this deployment's subscription (`FITTRACK_STRAVA_SUBSCRIPTION_ID`).
    subscription_id: u64,
}

/// Strava push events: an athlete's data changed.
///
/// Called by Strava, not by clients: no bearer token, and Strava signs nothing. So an event is a
/// hint, never a command: it must name our subscription (`FITTRACK_STRAVA_SUBSCRIPTION_ID`), and
/// at most moves that athlete's next sync forward, within a daily budget per connection; the data
/// is then read from Strava with the athlete's own token, and a real deauthorization shows as
/// refused tokens. Anything else is acknowledged (200) and ignored, so Strava stops retrying.
#[utoipa::path(post, path = "/api/v1/webhooks/strava", tag = "webhooks",
    request_body = StravaEvent,
    responses(
        (status = 200, description = "Acknowledged (acted on or ignored)"),
        (status = 400, description = "`invalid_webhook`: the body is not a Strava event", body = Problem,
            content_type = "application/problem+json"),
        (status = 404, description = "`provider_not_available`: Strava is not offered by this deployment",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store is busy; Strava retries", body = Problem,
            content_type = "application/problem+json"),
    ))]
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
