//! RFC 7807 problem details: the one mapping from every capability's errors to what a client
//! sees. Each error type has its `From` impl here, so handlers use `?`; each failure has one
//! status and one stable `code` whichever capability reports it. The cause of a 500 is logged,
//! never sent. A new error variant gets its problem here (and its code in the OpenAPI document).

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use fittrack_accounts::AccountError;
use fittrack_accounts::social::SocialError;
use fittrack_domain::{FieldError, ValidationErrors};
use fittrack_platform::ports::{QueueError, StoreError};

/// An RFC 7807 problem: every error answer, as `application/problem+json`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    /// Stable and machine-readable: clients branch on this, never on `title` or `detail`.
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip)]
    #[schema(ignore)]
    retry_after: Option<Duration>,
    #[serde(skip)]
    #[schema(ignore)]
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

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        store_problem(&error).into()
    }
}

impl From<QueueError> for ApiError {
    fn from(error: QueueError) -> Self {
        queue_problem(&error).into()
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        validation_problem(errors).into()
    }
}

fn validation_problem(errors: ValidationErrors) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "Invalid input")
        .detail("One or more fields are invalid; see `errors`.")
        .errors(errors.0)
}

/// Busy for a moment (contention, a dependency down): worth retrying shortly.
fn unavailable() -> Problem {
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", "Service temporarily unavailable")
        .retry_after(Duration::from_secs(1))
}

fn queue_problem(error: &QueueError) -> Problem {
    match error {
        QueueError::TooLarge(_) | QueueError::Unserialisable(_) => {
            tracing::error!(%error, "internal error");
            Problem::internal()
        }
        QueueError::Unavailable(_) => {
            tracing::error!(%error, "queue unavailable");
            unavailable()
        }
    }
}

fn store_problem(error: &StoreError) -> Problem {
    match error {
        StoreError::InvalidCursor => {
            Problem::new(StatusCode::BAD_REQUEST, "invalid_cursor", "Invalid pagination cursor")
        }
        StoreError::Contention | StoreError::Unavailable(_) => {
            tracing::error!(%error, "store unavailable");
            unavailable()
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
            E::Validation(errors) => validation_problem(errors),
            E::InvalidCredentials => {
                Problem::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "Email or password is wrong")
            }
            E::EmailNotVerified => {
                Problem::new(StatusCode::FORBIDDEN, "email_not_verified", "Email address not verified")
                    .detail("Follow the link we emailed you, or ask for a new one at /api/v1/auth/resend-verification.")
            }
            E::AccountDisabled(status) => {
                let code = if status == fittrack_domain::AccountStatus::Banned {
                    "account_banned"
                } else {
                    "account_suspended"
                };
                Problem::new(StatusCode::FORBIDDEN, code, "Account disabled").detail(
                    "An administrator has disabled this account. Contact support if you think this is a mistake.",
                )
            }
            E::AccountLocked { retry_after } => {
                Problem::new(StatusCode::LOCKED, "account_locked", "Account temporarily locked")
                    .detail("Too many wrong passwords. Try again later or reset your password.")
                    .retry_after(retry_after)
            }
            E::RateLimited(decision) => rate_limited(decision),
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
            E::Queue(e) => queue_problem(&e),
            e @ E::Internal(_) => {
                tracing::error!(error = %e, "internal error");
                Problem::internal()
            }
        };
        Self(Box::new(p))
    }
}

pub(crate) fn insufficient_points() -> Problem {
    Problem::new(StatusCode::CONFLICT, "insufficient_points", "Not enough points")
        .detail("Your spendable balance is below the cost. Held points cannot be spent.")
}

fn rate_limited(decision: fittrack_platform::ratelimit::RateDecision) -> Problem {
    Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many requests")
        .retry_after(decision.reset_after)
        .header(header::HeaderName::from_static("ratelimit-limit"), decision.limit.to_string())
        .header(header::HeaderName::from_static("ratelimit-remaining"), decision.remaining.to_string())
        .header(header::HeaderName::from_static("ratelimit-reset"), decision.reset_after.as_secs().to_string())
}

#[cfg(feature = "points")]
mod points {
    use axum::http::StatusCode;
    use fittrack_points::antigaming::ReviewError;
    use fittrack_points::{EngineError, IngestError, LedgerError};

    use super::{ApiError, Problem, insufficient_points, store_problem, unavailable};

    impl From<LedgerError> for ApiError {
        fn from(error: LedgerError) -> Self {
            match error {
                LedgerError::Store(e) => store_problem(&e).into(),
                LedgerError::Insufficient => insufficient_points().into(),
                LedgerError::Busy | LedgerError::Stale => {
                    tracing::warn!(%error, "balance busy");
                    unavailable().into()
                }
            }
        }
    }

    impl From<EngineError> for ApiError {
        fn from(error: EngineError) -> Self {
            match error {
                EngineError::Ledger(e) => e.into(),
                EngineError::Store(e) => store_problem(&e).into(),
            }
        }
    }

    impl From<IngestError> for ApiError {
        fn from(error: IngestError) -> Self {
            match error {
                IngestError::Invalid(errors) => errors.into(),
                IngestError::Conflict => Problem::new(StatusCode::CONFLICT, "batch_conflict", "Batch id already used")
                    .detail("This batch id was already uploaded with different records; use a new id for new data.")
                    .into(),
                IngestError::Store(e) => store_problem(&e).into(),
                IngestError::Engine(e) => e.into(),
            }
        }
    }

    impl From<ReviewError> for ApiError {
        fn from(error: ReviewError) -> Self {
            match error {
                ReviewError::NotFound => Problem::not_found().detail("No open review has this id.").into(),
                ReviewError::Store(e) => store_problem(&e).into(),
                ReviewError::Ledger(e) => e.into(),
            }
        }
    }
}

#[cfg(feature = "leaderboards")]
mod leaderboards {
    use axum::http::StatusCode;
    use fittrack_leaderboards::LeaderboardError;

    use super::{ApiError, Problem, store_problem};

    impl From<LeaderboardError> for ApiError {
        fn from(error: LeaderboardError) -> Self {
            let code = match &error {
                LeaderboardError::Store(e) => return store_problem(e).into(),
                LeaderboardError::InvalidPeriod => "invalid_period",
                LeaderboardError::InvalidTier => "invalid_tier",
                LeaderboardError::InvalidPeriodStart(_) => "invalid_period_start",
                LeaderboardError::InvalidLimit => "invalid_limit",
                LeaderboardError::InvalidCursor => "invalid_cursor",
                LeaderboardError::NoTier => "tier_required",
            };
            Problem::new(StatusCode::BAD_REQUEST, code, "Invalid leaderboard request").detail(error.to_string()).into()
        }
    }
}

#[cfg(feature = "drawings")]
mod drawings {
    use axum::http::StatusCode;
    use fittrack_domain::FieldError;
    use fittrack_drawings::DrawingError;
    use fittrack_platform::ports::BeaconError;

    use super::{
        ApiError, Problem, insufficient_points, queue_problem, store_problem, unavailable, validation_problem,
    };

    impl From<DrawingError> for ApiError {
        fn from(error: DrawingError) -> Self {
            use DrawingError as E;
            let detail = error.to_string();
            let conflict = |code, title| Problem::new(StatusCode::CONFLICT, code, title).detail(detail.clone());
            let problem = match error {
                E::NotFound => Problem::not_found(),
                E::UnknownUser => Problem::new(StatusCode::NOT_FOUND, "user_not_found", "No such user"),
                E::Invalid(errors) => validation_problem(errors),
                E::InvalidTransition { .. } => conflict("invalid_transition", "Not a legal change of this drawing"),
                E::FulfilmentTransition { .. } => conflict("invalid_transition", "Not a legal change of this prize"),
                E::NotEditable(_) => conflict("drawing_not_editable", "Only a draft drawing can be edited"),
                E::NotOpen => conflict("drawing_not_open", "Entries have not opened yet"),
                E::Closed => conflict("drawing_closed", "Entries are closed"),
                E::NotEligible(reasons) => {
                    Problem::new(StatusCode::FORBIDDEN, "not_eligible", "Not eligible for this drawing")
                        .detail(reasons.iter().map(|r| r.message.as_str()).collect::<Vec<_>>().join("; "))
                        .errors(
                            reasons.into_iter().map(|r| FieldError::new("eligibility", r.code, r.message)).collect(),
                        )
                }
                E::TicketLimitReached { .. } => conflict("ticket_limit_reached", "Ticket limit reached"),
                E::FreeEntryUsedToday => conflict("free_entry_used_today", "Today's free entry is taken"),
                E::MailInAlreadyRecorded => conflict("mail_in_already_recorded", "Mail-in entry already recorded"),
                E::InsufficientPoints => insufficient_points(),
                E::IdempotencyKeyRequired => {
                    Problem::new(StatusCode::BAD_REQUEST, "idempotency_key_required", "Idempotency-Key header required")
                        .detail(detail)
                }
                E::IdempotencyKeyReused => Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency_key_reused",
                    "Idempotency-Key already used for another request",
                )
                .detail(detail),
                E::NotDrawn => conflict("results_not_published", "Results not published yet"),
                E::NoSnapshot => conflict("snapshot_not_published", "Snapshot not published yet"),
                E::BeaconPending => conflict("beacon_round_pending", "The beacon round does not exist yet"),
                E::Beacon(BeaconError::Invalid(reason)) => {
                    tracing::error!(%reason, "beacon answer does not verify");
                    Problem::new(StatusCode::BAD_GATEWAY, "beacon_invalid", "The beacon's answer does not verify")
                        .detail("Nothing was drawn. The drawing waits for a beacon answer that verifies.")
                }
                E::Beacon(error) => {
                    tracing::warn!(%error, "beacon unavailable");
                    Problem::new(
                        StatusCode::BAD_GATEWAY,
                        "beacon_unavailable",
                        "The randomness beacon could not be reached",
                    )
                    .detail("Nothing was drawn; try again shortly.")
                }
                E::Busy => unavailable(),
                E::Store(e) => store_problem(&e),
                E::Queue(e) => queue_problem(&e),
                e @ (E::Corrupt(_) | E::Rules(_)) => {
                    tracing::error!(error = %e, "drawing failure");
                    Problem::internal()
                }
            };
            problem.into()
        }
    }
}

#[cfg(feature = "connections")]
mod sync {
    use axum::http::StatusCode;
    use fittrack_platform::ports::TrackerError;
    use fittrack_sync::SyncError;

    use super::{ApiError, Problem, queue_problem, rate_limited, store_problem, unavailable};

    impl From<SyncError> for ApiError {
        fn from(error: SyncError) -> Self {
            let problem = match error {
                SyncError::UnknownProvider => {
                    Problem::new(StatusCode::NOT_FOUND, "provider_not_available", "Tracker not available")
                        .detail("GET /api/v1/connections lists the trackers this deployment offers (`available`).")
                }
                SyncError::NotConnected => {
                    Problem::new(StatusCode::NOT_FOUND, "not_connected", "Tracker not connected")
                }
                SyncError::WrongFlow => Problem::new(
                    StatusCode::CONFLICT,
                    "no_authorization_flow",
                    "This tracker connects without authorization",
                ),
                SyncError::InvalidState => Problem::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_authorization_state",
                    "Authorization request unknown or expired",
                )
                .detail("Start connecting the tracker again."),
                SyncError::AuthorizationNotBound => Problem::new(
                    StatusCode::FORBIDDEN,
                    "authorization_not_bound",
                    "This authorization was started by someone else",
                )
                .detail("Connect trackers from your own account: start connecting again from the FitTrack app."),
                SyncError::TrackerAccountInUse => Problem::new(
                    StatusCode::CONFLICT,
                    "tracker_account_in_use",
                    "This tracker account is linked to another FitTrack account",
                )
                .detail("A tracker account can feed one FitTrack account at a time. Disconnect it there first."),
                SyncError::Tracker(TrackerError::Unauthorized) => Problem::new(
                    StatusCode::BAD_REQUEST,
                    "authorization_refused",
                    "The tracker refused the authorization",
                )
                .detail("The code was invalid, expired or already used. Start connecting the tracker again."),
                SyncError::Tracker(TrackerError::RateLimited(after)) => {
                    Problem::new(StatusCode::SERVICE_UNAVAILABLE, "tracker_unavailable", "The tracker is busy")
                        .retry_after(after)
                }
                SyncError::Tracker(error) => {
                    tracing::warn!(%error, "tracker call failed");
                    Problem::new(StatusCode::BAD_GATEWAY, "tracker_unavailable", "The tracker could not be reached")
                        .detail("Nothing was changed; try again shortly.")
                }
                SyncError::RateLimited(decision) => rate_limited(decision),
                SyncError::Store(e) => store_problem(&e),
                SyncError::Queue(e) => queue_problem(&e),
                SyncError::Engine(error) => {
                    tracing::error!(%error, "sync request failed");
                    unavailable()
                }
            };
            problem.into()
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(feature = "admin")]
mod admin {
    use axum::http::StatusCode;
    use fittrack_admin::AdminError;

    use super::{ApiError, Problem, store_problem, unavailable, validation_problem};

    impl From<AdminError> for ApiError {
        fn from(error: AdminError) -> Self {
            use AdminError as E;
            let detail = error.to_string();
            let problem = match error {
                E::NotFound => Problem::not_found(),
                E::Invalid(errors) => validation_problem(errors),
                E::InvalidTransition { .. } => {
                    Problem::new(StatusCode::CONFLICT, "invalid_status_transition", "Status change not allowed")
                        .detail(detail)
                }
                E::OwnAccount => Problem::new(StatusCode::FORBIDDEN, "own_account", "Not on your own account")
                    .detail("Another admin has to change an admin's own status or role."),
                E::Conflict => Problem::new(StatusCode::CONFLICT, "conflict", "Changed meanwhile")
                    .detail("Another admin changed this account first. Reload it and decide again."),
                E::IdempotencyKeyRequired => {
                    Problem::new(StatusCode::BAD_REQUEST, "idempotency_key_required", "Idempotency-Key header required")
                        .detail("Send a unique Idempotency-Key header so a retry cannot adjust twice.")
                }
                E::IdempotencyKeyReused => Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency_key_reused",
                    "Idempotency-Key already used for another request",
                )
                .detail(detail),
                E::Busy => unavailable(),
                E::Store(e) => store_problem(&e),
            };
            problem.into()
        }
    }
}

mod notifications {
    use axum::http::StatusCode;
    use fittrack_notifications::NotificationError;

    use super::{ApiError, Problem, queue_problem, store_problem};

    impl From<NotificationError> for ApiError {
        fn from(error: NotificationError) -> Self {
            use NotificationError as E;
            let problem = match error {
                E::NotFound => Problem::not_found(),
                E::InvalidUnsubscribeLink => {
                    Problem::new(StatusCode::BAD_REQUEST, "invalid_unsubscribe_link", "Unsubscribe link not valid")
                        .detail("Use the link of an email we sent you, or change your choices in the app.")
                }
                E::Store(e) => store_problem(&e),
                E::Queue(e) => queue_problem(&e),
            };
            problem.into()
        }
    }
}
