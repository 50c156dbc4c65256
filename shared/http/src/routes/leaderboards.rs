//! `/api/v1/leaderboards/*` and `/api/v1/users/me/ranks`.

use axum::Json;
use axum::extract::{FromRef, Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use fittrack_accounts::Authenticator;
use fittrack_leaderboards::LeaderboardService;
use fittrack_leaderboards::service::{BoardInfo, MyPlace, MyRanks, RankedRow};

use crate::extract::{ApiQuery, CompleteProfile};
use crate::pagination::PageInfo;
use crate::problem::{ApiResult, Problem};

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    LeaderboardService: FromRef<S>,
    Authenticator: FromRef<S>,
{
    OpenApiRouter::new().routes(routes!(board)).routes(routes!(my_place)).routes(routes!(my_ranks))
}

/// `?tier=&limit=&cursor=&period_start=`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BoardParams {
    /// A tier code such as `F-30-39-INT`; the caller's tier by default.
    #[serde(default)]
    pub tier: Option<String>,
    /// Rows per page, 1 to 100 (default 100).
    #[serde(default)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// `YYYY-MM-DD`: the first day of a period, for that period's standings (final once the period
    /// is over); the current period by default.
    #[serde(default)]
    pub period_start: Option<String>,
}

/// `?tier=&period_start=`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlaceParams {
    /// A tier code such as `F-30-39-INT`; the caller's tier by default.
    #[serde(default)]
    pub tier: Option<String>,
    /// `YYYY-MM-DD`: the first day of a period; the current period by default.
    #[serde(default)]
    pub period_start: Option<String>,
}

/// One page of a board.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeaderboardPage {
    pub board: BoardInfo,
    pub items: Vec<RankedRow>,
    pub pagination: PageInfo,
}

/// The top of a board
///
/// A tier's board for one period (`daily`, `weekly`, `monthly`, `all_time`; New York days), best
/// first: points earned for the days inside the period; ties go to whoever reached the score
/// first, then to more active days, then to the lower user id. Ranks are exact and unique.
/// Private profiles appear under a pseudonym, without their user id.
#[utoipa::path(get, path = "/api/v1/leaderboards/{period}", tag = "leaderboards",
    params(("period" = String, Path, description = "`daily`, `weekly`, `monthly` or `all_time`"), BoardParams),
    responses(
        (status = 200, description = "One page of the board", body = LeaderboardPage),
        (status = 400, description = "`invalid_period`, `invalid_tier`, `invalid_period_start`, `invalid_limit`, \
            `invalid_cursor` or `invalid_query`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "`profile_incomplete`: complete the profile first (missing fields in `errors`)",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem,
            content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn board(
    State(boards): State<LeaderboardService>,
    CompleteProfile(user): CompleteProfile,
    Path(period): Path<String>,
    ApiQuery(params): ApiQuery<BoardParams>,
) -> ApiResult<Json<LeaderboardPage>> {
    let board = boards.board(user.user_id, &period, params.tier.as_deref(), params.period_start.as_deref()).await?;
    let page = boards.page(user.user_id, &board, params.limit, params.cursor.as_deref()).await?;
    let limit = params.limit.unwrap_or(fittrack_leaderboards::service::DEFAULT_LIMIT);
    let pagination = PageInfo { limit, has_more: page.next_cursor.is_some(), next_cursor: page.next_cursor };
    Ok(Json(LeaderboardPage { board: page.board, items: page.items, pagination }))
}

/// The caller's place on a board
///
/// Rank, points, percentile and the ten rows above and below. Someone with no points on the board
/// yet gets `on_board: false`, not an error.
#[utoipa::path(get, path = "/api/v1/leaderboards/{period}/me", tag = "leaderboards",
    params(("period" = String, Path, description = "`daily`, `weekly`, `monthly` or `all_time`"), PlaceParams),
    responses(
        (status = 200, description = "The caller's place", body = MyPlace),
        (status = 400, description = "`invalid_period`, `invalid_tier`, `invalid_period_start` or `invalid_query`",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "`profile_incomplete`: complete the profile first (missing fields in `errors`)",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem,
            content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn my_place(
    State(boards): State<LeaderboardService>,
    CompleteProfile(user): CompleteProfile,
    Path(period): Path<String>,
    ApiQuery(params): ApiQuery<PlaceParams>,
) -> ApiResult<Json<MyPlace>> {
    let board = boards.board(user.user_id, &period, params.tier.as_deref(), params.period_start.as_deref()).await?;
    Ok(Json(boards.me(user.user_id, &board).await?))
}

/// The caller's ranks
///
/// Rank, points and percentile on the current daily, weekly, monthly and all-time boards of the
/// caller's tier: what a home screen shows.
#[utoipa::path(get, path = "/api/v1/users/me/ranks", tag = "leaderboards",
    responses(
        (status = 200, description = "The four current boards", body = MyRanks),
        (status = 401, description = "`unauthenticated`: no valid access token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "`profile_incomplete`: complete the profile first (missing fields in `errors`)",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: busy for a moment; retry shortly", body = Problem,
            content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn my_ranks(
    State(boards): State<LeaderboardService>,
    CompleteProfile(user): CompleteProfile,
) -> ApiResult<Json<MyRanks>> {
    Ok(Json(boards.my_ranks(user.user_id).await?))
}
