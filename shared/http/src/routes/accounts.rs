//! `/api/v1/auth/*`, `/api/v1/users/me` and `/api/v1/admin/users`: each handler parses its input,
//! calls one use case, and shapes the answer.

use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use fittrack_accounts::social::SocialProvider;
use fittrack_accounts::{
    Account, AccountService, Authenticator, RegisterRequest, SocialLoginRequest, SocialOutcome, TokenPair,
};
use fittrack_domain::{FieldError, Role, UserId, ValidationErrors};

use crate::extract::{Admin, ApiJson, ApiQuery, Client, CurrentUser, RequireRole};
use crate::pagination::PageParams;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::ClientPolicy;

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AccountService: FromRef<S>,
    Authenticator: FromRef<S>,
    ClientPolicy: FromRef<S>,
{
    Router::new()
        .route("/api/v1/auth/register", post(register))
        .route("/api/v1/auth/verify-email", post(verify_email))
        .route("/api/v1/auth/resend-verification", post(resend_verification))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/unlock", post(request_unlock))
        .route("/api/v1/auth/refresh", post(refresh))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/logout-all", post(logout_all))
        .route("/api/v1/auth/forgot-password", post(forgot_password))
        .route("/api/v1/auth/reset-password", post(reset_password))
        .route("/api/v1/auth/social/nonce", post(social_nonce))
        .route("/api/v1/auth/social/{provider}", post(social))
        .route("/api/v1/users/me/social/{provider}", post(link_social))
        .route("/api/v1/users/me", get(me))
        .route("/api/v1/admin/users", get(list_users))
        .route("/api/v1/admin/users/{id}/role", put(set_role))
        .route("/api/v1/admin/users/{id}/sessions", delete(revoke_sessions))
}

/// The same words whether or not the address has an account.
const MAYBE_SENT: &str = "If the address belongs to an account, we have sent it an email.";

async fn register(
    State(accounts): State<AccountService>,
    Client(client): Client,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> ApiResult<impl IntoResponse> {
    accounts.register(body, &client).await?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"status": "verification_pending", "message": "Check your inbox for a link to confirm your email address."}),
        ),
    ))
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
}

async fn verify_email(
    State(accounts): State<AccountService>,
    ApiJson(body): ApiJson<TokenBody>,
) -> ApiResult<Json<serde_json::Value>> {
    accounts.verify_email(&body.token).await?;
    Ok(Json(json!({"status": "verified"})))
}

#[derive(Deserialize)]
struct EmailBody {
    email: String,
}

async fn resend_verification(
    State(accounts): State<AccountService>,
    Client(client): Client,
    ApiJson(body): ApiJson<EmailBody>,
) -> ApiResult<impl IntoResponse> {
    accounts.resend_verification(&body.email, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"status": "accepted", "message": MAYBE_SENT}))))
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
    /// From the emailed link that signs in past a lockout.
    #[serde(default)]
    unlock_token: Option<String>,
}

async fn login(
    State(accounts): State<AccountService>,
    Client(client): Client,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(accounts.login(&body.email, body.password, body.unlock_token.as_deref(), &client).await?))
}

/// Emails a single-use link to sign in past a lockout; 202 whether or not the address has an account.
async fn request_unlock(
    State(accounts): State<AccountService>,
    Client(client): Client,
    ApiJson(body): ApiJson<EmailBody>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    accounts.request_unlock(&body.email, &client).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "accepted", "message": "If the address has an account, a sign-in link is on its way."})),
    ))
}

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: String,
}

async fn refresh(
    State(accounts): State<AccountService>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(accounts.refresh(&body.refresh_token).await?))
}

#[derive(Deserialize, Default)]
struct LogoutBody {
    #[serde(default)]
    refresh_token: Option<String>,
}

/// The body is optional: without one, only the caller's own session ends.
async fn logout(
    State(accounts): State<AccountService>,
    CurrentUser(user): CurrentUser,
    raw: axum::body::Bytes,
) -> ApiResult<StatusCode> {
    let body: LogoutBody = if raw.iter().all(u8::is_ascii_whitespace) {
        LogoutBody::default()
    } else {
        serde_json::from_slice(&raw).map_err(|e| {
            Problem::new(StatusCode::BAD_REQUEST, "malformed_json", "Malformed JSON").detail(e.to_string())
        })?
    };
    accounts.logout(&user, body.refresh_token.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn logout_all(State(accounts): State<AccountService>, CurrentUser(user): CurrentUser) -> ApiResult<StatusCode> {
    accounts.logout_all(user.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn forgot_password(
    State(accounts): State<AccountService>,
    Client(client): Client,
    ApiJson(body): ApiJson<EmailBody>,
) -> ApiResult<impl IntoResponse> {
    accounts.forgot_password(&body.email, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"status": "accepted", "message": MAYBE_SENT}))))
}

#[derive(Deserialize)]
struct ResetBody {
    token: String,
    password: String,
}

async fn reset_password(
    State(accounts): State<AccountService>,
    Client(client): Client,
    ApiJson(body): ApiJson<ResetBody>,
) -> ApiResult<Json<serde_json::Value>> {
    accounts.reset_password(&body.token, body.password, &client).await?;
    Ok(Json(json!({"status": "password_reset", "message": "Your password was changed and every session signed out."})))
}

fn social_provider(name: &str) -> Result<SocialProvider, ApiError> {
    match name {
        "google" => Ok(SocialProvider::Google),
        "apple" => Ok(SocialProvider::Apple),
        _ => Err(Problem::not_found().detail("Supported providers: google, apple.").into()),
    }
}

/// A single-use nonce for the app's next Google or Apple authorization request.
async fn social_nonce(
    State(accounts): State<AccountService>,
    Client(client): Client,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let (nonce, expires_in) = accounts.issue_social_nonce(&client).await?;
    Ok((StatusCode::CREATED, Json(json!({"nonce": nonce, "expires_in": expires_in}))))
}

/// Adds a Google or Apple sign-in to the signed-in account.
async fn link_social(
    State(accounts): State<AccountService>,
    CurrentUser(user): CurrentUser,
    Path(provider): Path<String>,
    ApiJson(body): ApiJson<SocialLoginRequest>,
) -> ApiResult<StatusCode> {
    accounts.link_social(&user, social_provider(&provider)?, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn social(
    State(accounts): State<AccountService>,
    Path(provider): Path<String>,
    Client(client): Client,
    ApiJson(body): ApiJson<SocialLoginRequest>,
) -> ApiResult<impl IntoResponse> {
    let provider = social_provider(&provider)?;
    let (tokens, outcome) = accounts.social_login(provider, body, &client).await?;
    let status = if outcome == SocialOutcome::Created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(tokens)))
}

async fn me(State(accounts): State<AccountService>, CurrentUser(user): CurrentUser) -> ApiResult<Json<Account>> {
    Ok(Json(accounts.account(user.user_id).await?))
}

async fn list_users(
    State(accounts): State<AccountService>,
    RequireRole(admin, _): RequireRole<Admin>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<serde_json::Value>> {
    let limit = params.limit.unwrap_or(25);
    if !(1..=100).contains(&limit) {
        return Err(validation("limit", "out_of_range", "must be between 1 and 100"));
    }
    let page = accounts.list_accounts(&admin, limit, params.cursor).await?;
    Ok(Json(crate::pagination::page(&page.items, limit, page.next_cursor)))
}

#[derive(Deserialize)]
struct RoleBody {
    role: String,
}

async fn set_role(
    State(accounts): State<AccountService>,
    RequireRole(admin, _): RequireRole<Admin>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RoleBody>,
) -> ApiResult<StatusCode> {
    let user: UserId = id.parse().map_err(|_| Problem::not_found())?;
    let role: Role = body.role.parse().map_err(|e: FieldError| ApiError::from(ValidationErrors::single(e)))?;
    accounts.set_role(&admin, user, role).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session of the user at once.
async fn revoke_sessions(
    State(accounts): State<AccountService>,
    RequireRole(admin, _): RequireRole<Admin>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let user: UserId = id.parse().map_err(|_| Problem::not_found())?;
    accounts.revoke_sessions(&admin, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn validation(field: &str, code: &'static str, message: &str) -> ApiError {
    ValidationErrors::single(FieldError::new(field, code, message)).into()
}
