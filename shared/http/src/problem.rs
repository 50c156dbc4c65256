//! RFC 7807 problem details. Every error a client can see is built here, with a stable `code`;
//! the cause of a 500 is logged, never sent.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use fittrack_core::AccountError;
use fittrack_core::ports::{QueueError, StoreError};
use fittrack_core::social::SocialError;
use fittrack_domain::FieldError;

#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip)]
    retry_after: Option<Duration>,
    #[serde(skip)]
    headers: Vec<(header::HeaderName, String)>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, title: &'static str) -> Self {
        Self {
            kind: format!("https://fittrack.dev/problems/{code}"),
            title,
            status: status.as_u16(),
            code,
            detail: None,
            errors: Vec::new(),
            retry_after: None,
            headers: Vec::new(),
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    fn header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found")
    }

    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "Internal server error")
            .detail("Something went wrong on our side. Quote the x-request-id header if you contact support.")
    }
}

impl IntoResponse for Problem {
    fn into_response(mut self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.retry_after;
        let headers = std::mem::take(&mut self.headers);
        let mut response = (status, Json(&self)).into_response();
        let h = response.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(after) = retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(after.as_secs().max(1)));
        }
        for (name, value) in headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                h.insert(name, value);
            }
        }
        response
    }
}

/// The error type of every handler (boxed: handlers' `Result`s stay small).
#[derive(Debug)]
pub struct ApiError(pub Box<Problem>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (*self.0).into_response()
    }
}

impl ApiError {
    /// The stable problem code, e.g. for a redirect that carries the outcome.
    pub fn code(&self) -> &'static str {
        self.0.code
    }
}

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        Self(Box::new(p))
    }
}

fn store_problem(error: &StoreError) -> Problem {
    match error {
        StoreError::InvalidCursor => {
            Problem::new(StatusCode::BAD_REQUEST, "invalid_cursor", "Invalid pagination cursor")
        }
        StoreError::Contention | StoreError::Unavailable(_) => {
            tracing::error!(%error, "store unavailable");
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", "Service temporarily unavailable")
                .retry_after(Duration::from_secs(1))
        }
        StoreError::ConditionFailed
        | StoreError::TransactionCancelled { .. }
        | StoreError::Invalid(_)
        | StoreError::Corrupt(_) => {
            tracing::error!(%error, "unexpected store error");
            Problem::internal()
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> Self {
        use AccountError as E;
        let p = match error {
            E::Validation(errors) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "Invalid input")
                    .detail("One or more fields are invalid; see `errors`.")
                    .errors(errors.0)
            }
            E::InvalidCredentials => {
                Problem::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "Email or password is wrong")
            }
            E::EmailNotVerified => {
                Problem::new(StatusCode::FORBIDDEN, "email_not_verified", "Email address not verified")
                    .detail("Follow the link we emailed you, or ask for a new one at /api/v1/auth/resend-verification.")
            }
            E::AccountLocked { retry_after } => {
                Problem::new(StatusCode::LOCKED, "account_locked", "Account temporarily locked")
                    .detail("Too many wrong passwords. Try again later or reset your password.")
                    .retry_after(retry_after)
            }
            E::RateLimited(decision) => {
                Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many requests")
                    .retry_after(decision.reset_after)
                    .header(header::HeaderName::from_static("ratelimit-limit"), decision.limit.to_string())
                    .header(header::HeaderName::from_static("ratelimit-remaining"), decision.remaining.to_string())
                    .header(
                        header::HeaderName::from_static("ratelimit-reset"),
                        decision.reset_after.as_secs().to_string(),
                    )
            }
            E::InvalidToken => Problem::new(StatusCode::BAD_REQUEST, "invalid_token", "Link invalid or expired")
                .detail("The link was already used, has expired, or was not issued by us. Ask for a new one."),
            E::InvalidRefreshToken => {
                Problem::new(StatusCode::UNAUTHORIZED, "invalid_refresh_token", "Refresh token invalid")
            }
            E::RefreshTokenReused => {
                Problem::new(StatusCode::UNAUTHORIZED, "refresh_token_reused", "Refresh token reused")
                    .detail("This token was already exchanged, so the session was ended for safety. Sign in again.")
            }
            E::Unauthenticated => Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", "Authentication required")
                .header(header::WWW_AUTHENTICATE, "Bearer"),
            E::Forbidden => Problem::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            E::Social(SocialError::NotConfigured) => Problem::new(
                StatusCode::NOT_FOUND,
                "provider_not_configured",
                "Sign-in with this provider is not available",
            ),
            E::Social(SocialError::Rejected(reason)) => {
                Problem::new(StatusCode::UNAUTHORIZED, "invalid_id_token", "ID token rejected").detail(reason)
            }
            E::Social(SocialError::KeysUnavailable(reason)) => {
                tracing::error!(%reason, "provider keys unavailable");
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "provider_unavailable", "Sign-in provider unavailable")
                    .retry_after(Duration::from_secs(5))
            }
            E::ProfileIncomplete { missing } => {
                Problem::new(StatusCode::FORBIDDEN, "profile_incomplete", "Profile incomplete")
                    .detail("Complete your profile at PUT /api/v1/users/me/profile to use this feature.")
                    .errors(
                        missing
                            .into_iter()
                            .map(|f| FieldError::new(f, "required", "is required for a competition tier"))
                            .collect(),
                    )
            }
            E::NotFound => Problem::not_found(),
            E::AlreadyExists => Problem::new(StatusCode::CONFLICT, "conflict", "Already exists"),
            E::LinkRequired => Problem::new(
                StatusCode::CONFLICT,
                "account_link_required",
                "This address has a FitTrack account with a password",
            )
            .detail("Sign in with your password, then link this sign-in method from your account."),
            E::Store(e) => store_problem(&e),
            e @ (E::Queue(QueueError::TooLarge(_)) | E::Internal(_)) => {
                tracing::error!(error = %e, "internal error");
                Problem::internal()
            }
            E::Queue(e) => {
                tracing::error!(error = %e, "queue unavailable");
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", "Service temporarily unavailable")
                    .retry_after(Duration::from_secs(1))
            }
        };
        Self(Box::new(p))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
