//! `/api/v1/users/me/profile*`, `/api/v1/users/{id}/public` and `/api/v1/tiers*`.

use axum::extract::{FromRef, Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use fittrack_accounts::{Account, AccountService, Authenticator, ProfileUpdate, PublicProfile, TierSummary};
use fittrack_domain::{Role, UserId};

use crate::extract::{ApiJson, CompleteProfile, CurrentUser};
use crate::problem::{ApiResult, Problem};
use crate::state::ClientPolicy;

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AccountService: FromRef<S>,
    Authenticator: FromRef<S>,
    ClientPolicy: FromRef<S>,
{
    Router::new()
        .route("/api/v1/users/me/profile", axum::routing::put(replace_profile).patch(patch_profile))
        .route("/api/v1/users/me/profile/complete", get(profile_complete))
        .route("/api/v1/users/{id}/public", get(public_profile))
        .route("/api/v1/tiers", get(tiers))
        .route("/api/v1/tiers/{code}", get(tier))
}

async fn replace_profile(
    State(accounts): State<AccountService>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<ProfileUpdate>,
) -> ApiResult<Json<Account>> {
    Ok(Json(accounts.update_profile(user.user_id, body, true, user.role == Role::Admin).await?))
}

async fn patch_profile(
    State(accounts): State<AccountService>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<ProfileUpdate>,
) -> ApiResult<Json<Account>> {
    Ok(Json(accounts.update_profile(user.user_id, body, false, user.role == Role::Admin).await?))
}

async fn profile_complete(
    State(accounts): State<AccountService>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Value>> {
    let missing = match accounts.require_complete_profile(user.user_id).await {
        Ok(_) => Vec::new(),
        Err(fittrack_accounts::AccountError::ProfileIncomplete { missing }) => missing,
        Err(other) => return Err(other.into()),
    };
    Ok(Json(json!({"complete": missing.is_empty(), "missing": missing})))
}

async fn public_profile(
    State(accounts): State<AccountService>,
    CompleteProfile(_): CompleteProfile,
    Path(id): Path<String>,
) -> ApiResult<Json<PublicProfile>> {
    let id: UserId = id.parse().map_err(|_| Problem::not_found())?;
    Ok(Json(accounts.public_profile(id).await?))
}

async fn tiers(State(accounts): State<AccountService>, CompleteProfile(_): CompleteProfile) -> ApiResult<Json<Value>> {
    Ok(Json(json!({"items": accounts.tiers().await?})))
}

async fn tier(
    State(accounts): State<AccountService>,
    CompleteProfile(_): CompleteProfile,
    Path(code): Path<String>,
) -> ApiResult<Json<TierSummary>> {
    Ok(Json(accounts.tier(&code).await?))
}
