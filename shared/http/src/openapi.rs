//! The API contract, generated from the handlers and types themselves (utoipa), served at
//! `/openapi.json` with a rendered reference at `/docs`.

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(info(title = "FitTrack API", version = "1"))]
pub struct ApiDoc;

/// The document of every route.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Adds `/openapi.json` and `/docs` to `routes`.
pub fn mount<S: Clone + Send + Sync + 'static>(routes: Router<S>) -> Router<S> {
    routes.route("/openapi.json", get(openapi_json)).route("/docs", get(docs))
}

async fn openapi_json() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "public, max-age=300")], axum::Json(document()))
}

async fn docs() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
