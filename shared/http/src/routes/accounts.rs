//! `/api/v1/auth/*` and `/api/v1/users/me`: each handler parses its input,
//! calls one use case, and shapes the answer.

use axum::Json;
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use fittrack_accounts::social::SocialProvider;
use fittrack_accounts::{
    Account, AccountService, Authenticator, RegisterRequest, SocialLoginRequest, SocialOutcome, TokenPair,
};

use crate::extract::{ApiJson, Client, CurrentUser};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::HttpSettings;

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    AccountService: FromRef<S>,
    Authenticator: FromRef<S>,
    HttpSettings: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(verify_email))
        .routes(routes!(resend_verification))
        .routes(routes!(login))
        .routes(routes!(request_unlock))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(logout_all))
        .routes(routes!(forgot_password))
        .routes(routes!(reset_password))
        .routes(routes!(social_nonce))
        .routes(routes!(social))
        .routes(routes!(link_social))
        .routes(routes!(me))
}

/// The same words whether or not the address has an account.
const MAYBE_SENT: &str = "If the address belongs to an account, we have sent it an email.";

/// What became of a request that answers with no resource: a stable `status` and words for people.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusMessage {
    /// Stable: `verification_pending` (registered), `accepted` (an email is on its way if the
    /// address has an account) or `password_reset`.
    #[schema(example = "accepted")]
    pub status: &'static str,
    /// For people; its words may change, so never branch on it.
    pub message: &'static str,
}

/// The answer to a verified email address.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmailVerified {
    /// Always `verified`.
    #[schema(example = "verified")]
    pub status: &'static str,
}

/// A single-use nonce for one Google or Apple sign-in.
#[derive(Debug, Serialize, ToSchema)]
pub struct SocialNonce {
    /// Put it in the provider's authorization request, then send it back with the ID token.
    pub nonce: String,
    /// Seconds the nonce stays usable.
    #[schema(example = 600)]
    pub expires_in: i64,
}

/// Registers an account and emails a link to verify its address.
///
/// An address that already has an account gets a notice by email instead; the caller sees the
/// same answer either way. Sign-in works once the address is verified.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "`verification_pending`: check the inbox for the verification link",
            body = StatusMessage),
        (status = 400, description = "`malformed_json`: the body is not valid JSON; `bad_request`: the body could not be read",
            body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: the body is over 1 MB", body = Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: the body is not sent as `application/json`",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: one or more fields are invalid, e.g. a weak password or an ineligible age or state (all of them in `errors`); `invalid_body`: a field is missing or of the wrong type",
            body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many requests from this address; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store or email queue is busy; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn register(
    State(accounts): State<AccountService>,
    Client(client): Client,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<StatusMessage>)> {
    accounts.register(body, &client).await?;
    Ok((
        StatusCode::CREATED,
        Json(StatusMessage {
            status: "verification_pending",
            message: "Check your inbox for a link to confirm your email address.",
        }),
    ))
}

/// A single-use token from an emailed link.
#[derive(Deserialize, ToSchema)]
struct TokenBody {
    /// The `token` query parameter of the emailed link.
    token: String,
}

/// Verifies an email address with the token from the emailed link.
///
/// The token works once, and stops working after a password reset.
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth",
    request_body = TokenBody,
    responses(
        (status = 200, description = "`verified`: the address is verified; sign in now", body = EmailVerified),
        (status = 400, description = "`invalid_token`: the link was already used, has expired or is not ours; `malformed_json`: the body is not valid JSON; `bad_request`: the body could not be read",
            body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: the body is over 1 MB", body = Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: the body is not sent as `application/json`",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`: `token` is missing or not a string", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store is busy; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn verify_email(
    State(accounts): State<AccountService>,
    ApiJson(body): ApiJson<TokenBody>,
) -> ApiResult<Json<EmailVerified>> {
    accounts.verify_email(&body.token).await?;
    Ok(Json(EmailVerified { status: "verified" }))
}

/// An email address.
#[derive(Deserialize, ToSchema)]
struct EmailBody {
    #[schema(example = "ada@example.com")]
    email: String,
}

/// Emails a new verification link if the address has an unverified account.
///
/// Answers 202 whether or not the address has an account, so it reveals nothing.
#[utoipa::path(post, path = "/api/v1/auth/resend-verification", tag = "auth",
    request_body = EmailBody,
    responses(
        (status = 202, description = "`accepted`: a link is on its way if the address has an unverified account",
            body = StatusMessage),
        (status = 400, description = "`malformed_json`: the body is not valid JSON; `bad_request`: the body could not be read",
            body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: the body is over 1 MB", body = Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: the body is not sent as `application/json`",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `email` is not an email address (see `errors`); `invalid_body`: `email` is missing or not a string",
            body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many requests from this address; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store or email queue is busy; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn resend_verification(
    State(accounts): State<AccountService>,
    Client(client): Client,
    ApiJson(body): ApiJson<EmailBody>,
) -> ApiResult<(StatusCode, Json<StatusMessage>)> {
    accounts.resend_verification(&body.email, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(StatusMessage { status: "accepted", message: MAYBE_SENT })))
}

/// Email and password, and optionally the token of an emailed unlock link.
#[derive(Deserialize, ToSchema)]
struct LoginBody {
    #[schema(example = "ada@example.com")]
    email: String,
    password: String,
    /// From the emailed link that signs in past a lockout.
    #[serde(default)]
    unlock_token: Option<String>,
}

/// Signs in with email and password and opens a session.
///
/// Wrong passwords are counted per address; too many lock it for a while (423). The owner can
/// sign in past a lock with the single-use `unlock_token` from `POST /api/v1/auth/unlock`.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in: the session's tokens", body = TokenPair),
        (status = 400, description = "`invalid_token`: the unlock link was already used, has expired or is not this address's; `malformed_json`: the body is not valid JSON; `bad_request`: the body could not be read",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_credentials`: the email or password is wrong", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "`email_not_verified`: follow the emailed link first (or ask for a new one)",
            body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: the body is over 1 MB", body = Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: the body is not sent as `application/json`",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `email` is not an email address (see `errors`); `invalid_body`: a field is missing or of the wrong type",
            body = Problem, content_type = "application/problem+json"),
        (status = 423, description = "`account_locked`: too many wrong passwords; retry after `Retry-After`, reset the password, or use an unlock link",
            body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many requests from this address, or too many sign-ins to this address at once; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store is busy; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn login(
    State(accounts): State<AccountService>,
    Client(client): Client,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(accounts.login(&body.email, body.password, body.unlock_token.as_deref(), &client).await?))
}

/// Emails a single-use link to sign in past a lockout.
///
/// Answers 202 whether or not the address has an account.
#[utoipa::path(post, path = "/api/v1/auth/unlock", tag = "auth",
    request_body = EmailBody,
    responses(
        (status = 202, description = "`accepted`: a sign-in link is on its way if the address has an account",
            body = StatusMessage),
        (status = 400, description = "`malformed_json`: the body is not valid JSON; `bad_request`: the body could not be read",
            body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: the body is over 1 MB", body = Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: the body is not sent as `application/json`",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `email` is not an email address (see `errors`); `invalid_body`: `email` is missing or not a string",
            body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many requests from this address; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store or email queue is busy; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn request_unlock(
    State(accounts): State<AccountService>,
    Client(client): Client,
    ApiJson(body): ApiJson<EmailBody>,
) -> ApiResult<(StatusCode, Json<StatusMessage>)> {
    accounts.request_unlock(&body.email, &client).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(StatusMessage {
            status: "accepted",
            message: "If the address has an account, a sign-in link is on its way.",
        }),
    ))
}

/// A refresh token to exchange.
#[derive(Deserialize, ToSchema)]
struct RefreshBody {
    refresh_token: String,
}

/// Exchanges a refresh token for a new pair of tokens.
///
/// Each refresh token works once. Presenting one that was already exchanged means a copy was
/// stolen, so the whole session ends (`refresh_token_reused`).
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "The session's new tokens", body = TokenPair),
        (status = 400, description = "`malformed_json`: the body is not valid JSON; `bad_request`: the body could not be read",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_refresh_token`: unknown, expired, or its session ended; `refresh_token_reused`: already exchanged, so the session was ended; sign in again",
            body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: the body is over 1 MB", body = Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: the body is not sent as `application/json`",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`: `refresh_token` is missing or not a string", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store is busy; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn refresh(
    State(accounts): State<AccountService>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(accounts.refresh(&body.refresh_token).await?))
}

/// The optional body of a sign-out.
#[derive(Deserialize, Default, ToSchema)]
struct LogoutBody {
    /// The refresh token of another of the caller's sessions, to end that one too.
    #[serde(default)]
    refresh_token: Option<String>,
}

/// Signs out: ends the caller's session.
///
/// The body is optional: without one, only the caller's own session ends; with a
/// `refresh_token` of another of the caller's sessions, that one ends too.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    request_body(content = Option<LogoutBody>, description = "Optional; an empty body ends the caller's session only"),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 400, description = "`malformed_json`: the body is not valid JSON or has the wrong shape",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MB"),
        (status = 503, description = "`service_unavailable`: the store is busy; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
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

/// Signs out everywhere: ends every session of the caller.
#[utoipa::path(post, path = "/api/v1/auth/logout-all", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Every session ended, this one included"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store is busy; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn logout_all(State(accounts): State<AccountService>, CurrentUser(user): CurrentUser) -> ApiResult<StatusCode> {
    accounts.logout_all(user.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Emails a link to reset the password if the address has an account.
///
/// Answers 202 whether or not the address has an account.
#[utoipa::path(post, path = "/api/v1/auth/forgot-password", tag = "auth",
    request_body = EmailBody,
    responses(
        (status = 202, description = "`accepted`: a reset link is on its way if the address has an account",
            body = StatusMessage),
        (status = 400, description = "`malformed_json`: the body is not valid JSON; `bad_request`: the body could not be read",
            body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: the body is over 1 MB", body = Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: the body is not sent as `application/json`",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `email` is not an email address (see `errors`); `invalid_body`: `email` is missing or not a string",
            body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many requests from this address; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store or email queue is busy; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn forgot_password(
    State(accounts): State<AccountService>,
    Client(client): Client,
    ApiJson(body): ApiJson<EmailBody>,
) -> ApiResult<(StatusCode, Json<StatusMessage>)> {
    accounts.forgot_password(&body.email, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(StatusMessage { status: "accepted", message: MAYBE_SENT })))
}

/// The token of an emailed reset link and the new password.
#[derive(Deserialize, ToSchema)]
struct ResetBody {
    /// The `token` query parameter of the emailed link.
    token: String,
    /// 12 to 128 characters, and hard to guess.
    password: String,
}

/// Sets a new password with the token from the emailed reset link.
///
/// Every session ends, the lockout is cleared, every earlier emailed link stops working, and the
/// address counts as verified. A password the policy refuses leaves the link usable.
#[utoipa::path(post, path = "/api/v1/auth/reset-password", tag = "auth",
    request_body = ResetBody,
    responses(
        (status = 200, description = "`password_reset`: the password changed and every session ended",
            body = StatusMessage),
        (status = 400, description = "`invalid_token`: the link was already used, has expired or is not ours; `malformed_json`: the body is not valid JSON; `bad_request`: the body could not be read",
            body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: the body is over 1 MB", body = Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: the body is not sent as `application/json`",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: the password is too short, too long or too easy to guess (see `errors`); `invalid_body`: a field is missing or of the wrong type",
            body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many requests from this address; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store or email queue is busy; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn reset_password(
    State(accounts): State<AccountService>,
    Client(client): Client,
    ApiJson(body): ApiJson<ResetBody>,
) -> ApiResult<Json<StatusMessage>> {
    accounts.reset_password(&body.token, body.password, &client).await?;
    Ok(Json(StatusMessage {
        status: "password_reset",
        message: "Your password was changed and every session signed out.",
    }))
}

fn social_provider(name: &str) -> Result<SocialProvider, ApiError> {
    match name {
        "google" => Ok(SocialProvider::Google),
        "apple" => Ok(SocialProvider::Apple),
        _ => Err(Problem::not_found().detail("Supported providers: google, apple.").into()),
    }
}

/// Issues a single-use nonce for the app's next Google or Apple authorization request.
///
/// The ID token the provider returns must carry it; `POST /api/v1/auth/social/{provider}` (or the
/// linking route) spends it.
#[utoipa::path(post, path = "/api/v1/auth/social/nonce", tag = "auth",
    responses(
        (status = 201, description = "A fresh nonce", body = SocialNonce),
        (status = 429, description = "`rate_limited`: too many requests from this address; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store is busy; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn social_nonce(
    State(accounts): State<AccountService>,
    Client(client): Client,
) -> ApiResult<(StatusCode, Json<SocialNonce>)> {
    let (nonce, expires_in) = accounts.issue_social_nonce(&client).await?;
    Ok((StatusCode::CREATED, Json(SocialNonce { nonce, expires_in })))
}

/// Adds a Google or Apple sign-in to the signed-in account.
///
/// An account with a password must give it again (`password`), so a stolen access token alone
/// cannot add a lasting way in. The provider identity must not be linked to any account yet.
#[utoipa::path(post, path = "/api/v1/users/me/social/{provider}", tag = "users",
    params(("provider" = String, Path, description = "`google` or `apple`")),
    request_body = SocialLoginRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Linked: the account can now sign in with the provider"),
        (status = 400, description = "`malformed_json`: the body is not valid JSON; `bad_request`: the body could not be read",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token; `invalid_credentials`: the account's password is missing or wrong; `invalid_id_token`: the ID token or nonce does not verify",
            body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such provider (or the account is gone); `provider_not_configured`: sign-in with this provider is not available here",
            body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: this provider identity is already linked to an account",
            body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: the body is over 1 MB", body = Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: the body is not sent as `application/json`",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`: a field is missing or of the wrong type", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store is busy; `provider_unavailable`: the provider's keys cannot be fetched; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn link_social(
    State(accounts): State<AccountService>,
    CurrentUser(user): CurrentUser,
    Path(provider): Path<String>,
    ApiJson(body): ApiJson<SocialLoginRequest>,
) -> ApiResult<StatusCode> {
    accounts.link_social(&user, social_provider(&provider)?, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Signs in with a Google or Apple ID token, creating the account on first use.
///
/// An identity linked before signs in. Otherwise an account with the same provider-verified
/// address is linked, unless it has a password (409 `account_link_required`: sign in with the
/// password, then link at `POST /api/v1/users/me/social/{provider}`). Otherwise a new, verified
/// account is created from `display_name`, `date_of_birth` and `state`, which a first sign-in
/// must send (201).
#[utoipa::path(post, path = "/api/v1/auth/social/{provider}", tag = "auth",
    params(("provider" = String, Path, description = "`google` or `apple`")),
    request_body = SocialLoginRequest,
    responses(
        (status = 200, description = "Signed in to an existing account", body = TokenPair),
        (status = 201, description = "A new account was created and signed in", body = TokenPair),
        (status = 400, description = "`malformed_json`: the body is not valid JSON; `bad_request`: the body could not be read",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_id_token`: the ID token or nonce does not verify, or the provider verified no email address",
            body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such provider; `provider_not_configured`: sign-in with this provider is not available here",
            body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`account_link_required`: the address has an account with a password; sign in with it, then link; `conflict`: a concurrent sign-up of the same address won, try again",
            body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: the body is over 1 MB", body = Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: the body is not sent as `application/json`",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a first sign-in lacks valid registration details (see `errors`); `invalid_body`: a field is missing or of the wrong type",
            body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many requests from this address; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store is busy; `provider_unavailable`: the provider's keys cannot be fetched; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn social(
    State(accounts): State<AccountService>,
    Path(provider): Path<String>,
    Client(client): Client,
    ApiJson(body): ApiJson<SocialLoginRequest>,
) -> ApiResult<(StatusCode, Json<TokenPair>)> {
    let provider = social_provider(&provider)?;
    let (tokens, outcome) = accounts.social_login(provider, body, &client).await?;
    let status = if outcome == SocialOutcome::Created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(tokens)))
}

/// The signed-in user's account.
///
/// Includes the profile (`profile.complete` says whether it places the user in a tier) and the tier.
#[utoipa::path(get, path = "/api/v1/users/me", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's account", body = Account),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: the account no longer exists", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store is busy; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn me(State(accounts): State<AccountService>, CurrentUser(user): CurrentUser) -> ApiResult<Json<Account>> {
    Ok(Json(accounts.account(user.user_id).await?))
}
