//! `/api/v1/users/me/profile*`, `/api/v1/users/{id}/public` and `/api/v1/tiers*`.

use axum::Json;
use axum::extract::{FromRef, Path, State};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use fittrack_accounts::{Account, AccountService, Authenticator, ProfileUpdate, PublicProfile, TierSummary};
use fittrack_domain::{Role, UserId};

use crate::extract::{ApiJson, CompleteProfile, CurrentUser};
use crate::problem::{ApiResult, Problem};
use crate::state::HttpSettings;

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    AccountService: FromRef<S>,
    Authenticator: FromRef<S>,
    HttpSettings: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(replace_profile, patch_profile))
        .routes(routes!(profile_complete))
        .routes(routes!(public_profile))
        .routes(routes!(tiers))
        .routes(routes!(tier))
}

/// Whether the profile places the user in a tier, and what it still lacks.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileCompleteness {
    /// `true` once feature routes stop answering 403 `profile_incomplete`.
    pub complete: bool,
    /// The fields still to set: `date_of_birth`, `sex`, `fitness_level`; empty when complete.
    #[schema(example = json!(["sex", "fitness_level"]))]
    pub missing: Vec<&'static str>,
}

/// Every competition tier (not paginated: there are 30).
#[derive(Debug, Serialize, ToSchema)]
pub struct TierList {
    pub items: Vec<TierSummary>,
}

/// Replaces the competition profile; the tier follows.
///
/// Every field but `date_of_birth` is required. `date_of_birth` can only be set on an account
/// without one. `sex` and `fitness_level`, once set, change at most once every 30 days.
#[utoipa::path(put, path = "/api/v1/users/me/profile", tag = "users",
    request_body = ProfileUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated account, with its new tier", body = Account),
        (status = 400, description = "`malformed_json`: the body is not valid JSON; `bad_request`: the body could not be read",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: the account no longer exists", body = Problem,
            content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: the body is over 1 MB", body = Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: the body is not sent as `application/json`",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: fields missing (`required`), invalid (`invalid_choice`, an ineligible age), a date of birth that is already set (`immutable`) or a tier field changed within 30 days (`changed_recently`), all in `errors`; `invalid_body`: a field is of the wrong type",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store is busy (or the profile is being changed concurrently); retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn replace_profile(
    State(accounts): State<AccountService>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<ProfileUpdate>,
) -> ApiResult<Json<Account>> {
    Ok(Json(accounts.update_profile(user.user_id, body, true, user.role == Role::Admin).await?))
}

/// Changes some fields of the competition profile; the tier follows.
///
/// Only the fields given change. `date_of_birth` can only be set on an account without one.
/// `sex` and `fitness_level`, once set, change at most once every 30 days.
#[utoipa::path(patch, path = "/api/v1/users/me/profile", tag = "users",
    request_body = ProfileUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated account, with its new tier", body = Account),
        (status = 400, description = "`malformed_json`: the body is not valid JSON; `bad_request`: the body could not be read",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: the account no longer exists", body = Problem,
            content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: the body is over 1 MB", body = Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: the body is not sent as `application/json`",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: fields invalid (`invalid_choice`, an ineligible age), a date of birth that is already set (`immutable`) or a tier field changed within 30 days (`changed_recently`), all in `errors`; `invalid_body`: a field is of the wrong type",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store is busy (or the profile is being changed concurrently); retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn patch_profile(
    State(accounts): State<AccountService>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<ProfileUpdate>,
) -> ApiResult<Json<Account>> {
    Ok(Json(accounts.update_profile(user.user_id, body, false, user.role == Role::Admin).await?))
}

/// Whether the caller's profile is complete enough to place them in a tier.
///
/// Feature routes answer 403 `profile_incomplete` until it is; `missing` names what to set.
#[utoipa::path(get, path = "/api/v1/users/me/profile/complete", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Whether the profile is complete, and what it lacks", body = ProfileCompleteness),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: the account no longer exists", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store is busy; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn profile_complete(
    State(accounts): State<AccountService>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<ProfileCompleteness>> {
    let missing = match accounts.require_complete_profile(user.user_id).await {
        Ok(_) => Vec::new(),
        Err(fittrack_accounts::AccountError::ProfileIncomplete { missing }) => missing,
        Err(other) => return Err(other.into()),
    };
    Ok(Json(ProfileCompleteness { complete: missing.is_empty(), missing }))
}

/// Another user's public profile: display name and tier.
///
/// Only users who made their profile public have one; for others the answer is 404.
#[utoipa::path(get, path = "/api/v1/users/{id}/public", tag = "users",
    params(("id" = String, Path, description = "the user's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user's public profile", body = PublicProfile),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "`profile_incomplete`: complete the profile first (missing fields in `errors`)",
            body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such user, or their profile is not public", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store is busy; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn public_profile(
    State(accounts): State<AccountService>,
    CompleteProfile(_): CompleteProfile,
    Path(id): Path<String>,
) -> ApiResult<Json<PublicProfile>> {
    let id: UserId = id.parse().map_err(|_| Problem::not_found())?;
    Ok(Json(accounts.public_profile(id).await?))
}

/// All 30 competition tiers with their user counts.
#[utoipa::path(get, path = "/api/v1/tiers", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every tier", body = TierList),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "`profile_incomplete`: complete the profile first (missing fields in `errors`)",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store is busy; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn tiers(
    State(accounts): State<AccountService>,
    CompleteProfile(_): CompleteProfile,
) -> ApiResult<Json<TierList>> {
    Ok(Json(TierList { items: accounts.tiers().await? }))
}

/// One competition tier with its user count.
#[utoipa::path(get, path = "/api/v1/tiers/{code}", tag = "users",
    params(("code" = String, Path, description = "the tier's code, as `code` in the tier list")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tier", body = TierSummary),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "`profile_incomplete`: complete the profile first (missing fields in `errors`)",
            body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no tier has this code", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the store is busy; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn tier(
    State(accounts): State<AccountService>,
    CompleteProfile(_): CompleteProfile,
    Path(code): Path<String>,
) -> ApiResult<Json<TierSummary>> {
    Ok(Json(accounts.tier(&code).await?))
}
