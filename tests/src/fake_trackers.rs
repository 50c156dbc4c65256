//! Local fakes of the Google Health API and Strava, speaking their documented formats: the OAuth
//! endpoints (authorize with PKCE S256 and state, token exchange and refresh with RFC 6749
//! errors, revocation), paged data endpoints, and switches for the failures a sync must survive:
//! expired access tokens (401, then refresh), revoked grants (`invalid_grant`) and rate limits
//! (429 with `Retry-After`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use fittrack_platform::config::{OAuthClientConfig, TrackerConfig};

pub const CLIENT_ID: &str = "fittrack-test-client";
pub const CLIENT_SECRET: &str = "fittrack-test-secret";
pub const STRAVA_ATHLETE: u64 = 4242;
pub const HEALTH_USER: &str = "health-user-7";
pub const GOOGLE_WEBHOOK_SECRET: &str = "google-webhook-secret";
/// Our push subscription at the fake Strava.
pub const STRAVA_SUBSCRIPTION_ID: u64 = 120_475;
pub const STRAVA_VERIFY_TOKEN: &str = "strava-verify-token";

#[derive(Default)]
struct Grant {
    refresh_token: String,
    revoked: bool,
}

#[derive(Default)]
pub struct FakeState {
    /// code → (PKCE challenge, redirect_uri)
    codes: HashMap<String, (String, String)>,
    /// live access tokens
    access: HashMap<String, bool>,
    grants: Vec<Grant>,
    next: u32,
    /// Answer the next data request with 429 and this many seconds.
    pub rate_limit_next: Option<u64>,
    pub refreshes: u32,
    pub revocations: u32,
    pub data_requests: u32,
    /// Google data points and Strava activities to serve.
    pub steps: Vec<(DateTime<Utc>, u32)>,
    pub exercises: Vec<(DateTime<Utc>, i64, &'static str)>,
    pub strava_activities: Vec<(u64, DateTime<Utc>, i64, &'static str)>,
}

#[derive(Clone)]
pub struct FakeTrackers {
    pub base: String,
    pub state: Arc<Mutex<FakeState>>,
}

impl FakeTrackers {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let router = Router::new()
            .route("/{provider}/authorize", get(authorize))
            .route("/{provider}/token", post(token))
            .route("/google/revoke", post(google_revoke))
            .route("/strava/deauthorize", post(strava_deauthorize))
            .route("/google/v4/users/me/identity", get(identity))
            .route("/google/v4/users/me/dataTypes/{data_type}/dataPoints", get(data_points))
            .route("/strava/api/athlete/activities", get(strava_activities))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.ok() });
        Self { base: format!("http://{addr}"), state }
    }

    fn client(&self, provider: &str, api: &str, revoke: &str) -> OAuthClientConfig {
        OAuthClientConfig {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.to_owned().into(),
            auth_url: format!("{}/{provider}/authorize", self.base),
            token_url: format!("{}/{provider}/token", self.base),
            revoke_url: format!("{}/{revoke}", self.base),
            api_url: format!("{}/{api}", self.base),
        }
    }

    /// Tracker configuration pointing both OAuth providers at this fake.
    pub fn config(&self) -> TrackerConfig {
        TrackerConfig {
            google_health: Some(self.client("google", "google/v4", "google/revoke")),
            strava: Some(self.client("strava", "strava/api", "strava/deauthorize")),
            google_health_webhook_secret: Some(GOOGLE_WEBHOOK_SECRET.to_owned().into()),
            strava_webhook_verify_token: Some(STRAVA_VERIFY_TOKEN.to_owned().into()),
            strava_subscription_id: Some(STRAVA_SUBSCRIPTION_ID),
            simulated: false,
        }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut FakeState) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// Every access token issued so far stops working (as at expiry).
    pub fn expire_access_tokens(&self) {
        self.with(|s| s.access.values_mut().for_each(|live| *live = false));
    }

    /// The user revoked us at the provider: refresh tokens are refused too.
    pub fn revoke_all_grants(&self) {
        self.with(|s| {
            s.grants.iter_mut().for_each(|g| g.revoked = true);
            s.access.clear();
        });
    }

    pub fn access_tokens(&self) -> Vec<String> {
        self.with(|s| s.access.keys().cloned().collect())
    }
}

type Shared = State<Arc<Mutex<FakeState>>>;

fn oauth_error(code: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": code}))).into_response()
}

async fn authorize(Query(q): Query<HashMap<String, String>>, State(state): Shared) -> Response {
    let required = ["client_id", "redirect_uri", "state", "code_challenge", "response_type"];
    if required.iter().any(|k| !q.contains_key(*k))
        || q["client_id"] != CLIENT_ID
        || q.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return oauth_error("invalid_request");
    }
    let mut s = state.lock().unwrap();
    s.next += 1;
    let code = format!("code-{}", s.next);
    s.codes.insert(code.clone(), (q["code_challenge"].clone(), q["redirect_uri"].clone()));
    let separator = if q["redirect_uri"].contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{}{separator}code={code}&state={}", q["redirect_uri"], q["state"])).into_response()
}

fn issue(s: &mut FakeState, provider: &str, refresh_token: Option<String>) -> Value {
    s.next += 1;
    let access = format!("{provider}-access-{}", s.next);
    s.access.insert(access.clone(), true);
    let refresh = refresh_token.unwrap_or_else(|| {
        let token = format!("{provider}-refresh-{}", s.next);
        s.grants.push(Grant { refresh_token: token.clone(), revoked: false });
        token
    });
    let mut body = json!({"access_token": access, "token_type": "Bearer", "expires_in": 3600,
        "refresh_token": refresh, "scope": "activity"});
    if provider == "strava" {
        body["expires_at"] = json!(Utc::now().timestamp() + 3600);
        body["athlete"] = json!({"id": STRAVA_ATHLETE, "firstname": "Test"});
    }
    body
}

async fn token(Path(provider): Path<String>, State(state): Shared, Form(f): Form<HashMap<String, String>>) -> Response {
    if f.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || f.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
    {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_client"}))).into_response();
    }
    let mut s = state.lock().unwrap();
    match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some((challenge, redirect)) = f.get("code").and_then(|c| s.codes.remove(c)) else {
                return oauth_error("invalid_grant");
            };
            let verifier = f.get("code_verifier").cloned().unwrap_or_default();
            let computed = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
            if computed != challenge || f.get("redirect_uri") != Some(&redirect) {
                return oauth_error("invalid_grant");
            }
            Json(issue(&mut s, &provider, None)).into_response()
        }
        Some("refresh_token") => {
            let presented = f.get("refresh_token").cloned().unwrap_or_default();
            if !s.grants.iter().any(|g| g.refresh_token == presented && !g.revoked) {
                return oauth_error("invalid_grant");
            }
            s.refreshes += 1;
            let mut body = issue(&mut s, &provider, Some(presented));
            if provider == "google" {
                // Google does not resend the refresh token on refresh.
                body.as_object_mut().unwrap().remove("refresh_token");
            }
            Json(body).into_response()
        }
        _ => oauth_error("unsupported_grant_type"),
    }
}

async fn google_revoke(State(state): Shared, Form(f): Form<HashMap<String, String>>) -> StatusCode {
    let mut s = state.lock().unwrap();
    let token = f.get("token").cloned().unwrap_or_default();
    s.revocations += 1;
    for grant in s.grants.iter_mut().filter(|g| g.refresh_token == token) {
        grant.revoked = true;
    }
    StatusCode::OK
}

async fn strava_deauthorize(State(state): Shared, headers: HeaderMap) -> Response {
    let mut s = state.lock().unwrap();
    let Some(token) = bearer(&headers) else { return StatusCode::UNAUTHORIZED.into_response() };
    s.revocations += 1;
    s.access.remove(&token);
    s.grants.iter_mut().for_each(|g| g.revoked = true);
    Json(json!({"access_token": token})).into_response()
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::to_owned)
}

/// The gate every data request passes (a live token, and the rate limit switch); `Some` is the
/// refusal.
fn refuse(s: &mut FakeState, headers: &HeaderMap) -> Option<Response> {
    s.data_requests += 1;
    if let Some(after) = s.rate_limit_next.take() {
        let body = Json(json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}));
        return Some((StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, after.to_string())], body).into_response());
    }
    match bearer(headers).and_then(|t| s.access.get(&t).copied()) {
        Some(true) => None,
        _ => Some(
            (StatusCode::UNAUTHORIZED, Json(json!({"error": {"code": 401, "status": "UNAUTHENTICATED"}})))
                .into_response(),
        ),
    }
}

async fn identity(State(state): Shared, headers: HeaderMap) -> Response {
    let mut s = state.lock().unwrap();
    if let Some(r) = refuse(&mut s, &headers) {
        return r;
    }
    Json(json!({"name": "users/me/identity", "healthUserId": HEALTH_USER, "legacyUserId": "ABC123"})).into_response()
}

fn interval(start: DateTime<Utc>, minutes: i64) -> Value {
    json!({"startTime": start.to_rfc3339(), "startUtcOffset": "-18000s",
        "endTime": (start + Duration::minutes(minutes)).to_rfc3339(), "endUtcOffset": "-18000s"})
}

/// Pages of two points, so every sync exercises `nextPageToken`.
async fn data_points(
    Path(data_type): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    State(state): Shared,
    headers: HeaderMap,
) -> Response {
    let mut s = state.lock().unwrap();
    if let Some(r) = refuse(&mut s, &headers) {
        return r;
    }
    let field = data_type.replace('-', "_");
    if !q.get("filter").is_some_and(|f| f.starts_with(&format!("{field}.interval.start_time >= \""))) {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": {"code": 400, "status": "INVALID_ARGUMENT"}})))
            .into_response();
    }
    let points: Vec<Value> = match data_type.as_str() {
        "steps" => s
            .steps
            .iter()
            .map(|(at, n)| json!({"dataSource": {"platform": "FITBIT"}, "steps": {"interval": interval(*at, 1), "count": n.to_string()}}))
            .collect(),
        "active-minutes" => s
            .steps
            .iter()
            .map(|(at, _)| json!({"activeMinutes": {"interval": interval(*at, 1), "activeMinutesByActivityLevel": [
                {"activityLevel": "MODERATE", "activeMinutes": "1"}]}}))
            .collect(),
        "exercise" => s
            .exercises
            .iter()
            .map(|(at, minutes, kind)| json!({"name": format!("users/{HEALTH_USER}/dataTypes/exercise/dataPoints/{}", at.timestamp()),
                "exercise": {"interval": interval(*at, *minutes), "exerciseType": kind, "displayName": kind,
                "activeDuration": format!("{}s", minutes * 60)}}))
            .collect(),
        _ => Vec::new(),
    };
    let offset: usize = q.get("pageToken").and_then(|t| t.parse().ok()).unwrap_or(0);
    let page: Vec<Value> = points.iter().skip(offset).take(2).cloned().collect();
    let mut body = json!({"dataPoints": page});
    if offset + 2 < points.len() {
        body["nextPageToken"] = json!((offset + 2).to_string());
    }
    Json(body).into_response()
}

async fn strava_activities(
    Query(q): Query<HashMap<String, String>>,
    State(state): Shared,
    headers: HeaderMap,
) -> Response {
    let mut s = state.lock().unwrap();
    if let Some(r) = refuse(&mut s, &headers) {
        return r;
    }
    let num = |k: &str| q.get(k).and_then(|v| v.parse::<i64>().ok());
    let (after, before) = (num("after").unwrap_or(0), num("before").unwrap_or(i64::MAX));
    let (page, per_page) = (num("page").unwrap_or(1).max(1), num("per_page").unwrap_or(30).max(1));
    let matching: Vec<Value> = s
        .strava_activities
        .iter()
        .filter(|(_, at, _, _)| at.timestamp() > after && at.timestamp() < before)
        .map(|(id, at, seconds, sport)| {
            json!({"id": id, "name": "Morning", "sport_type": sport, "type": sport,
            "start_date": at.to_rfc3339(), "start_date_local": at.to_rfc3339(), "elapsed_time": seconds,
            "moving_time": seconds - 60, "distance": 5000.0, "athlete": {"id": STRAVA_ATHLETE}})
        })
        .collect();
    let start = usize::try_from((page - 1) * per_page).unwrap_or(usize::MAX);
    let items: Vec<Value> = matching.into_iter().skip(start).take(usize::try_from(per_page).unwrap_or(30)).collect();
    Json(items).into_response()
}
