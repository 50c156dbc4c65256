//! The API contract, generated from the handlers and types themselves.
//!
//! Every handler carries `#[utoipa::path]` (request, answers, problem codes, security) and is
//! registered with `utoipa_axum::routes!`, so serving a route and documenting it are one act.
//! `document()` collects every router into the OpenAPI 3.1 document; `docs/openapi.json` is that
//! document, written by the test `openapi_document_is_current` (which fails when the file is
//! stale). `fittrack serve` and, on AWS, the accounts function (API Gateway routes both paths
//! there) serve it at `/openapi.json` with a rendered reference at `/docs`, unless
//! `FITTRACK_API_DOCS=false`.

use std::fmt::Write as _;
use std::sync::LazyLock;

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::problem::Problem;

/// The security scheme name handlers use in `security((BEARER = []))`.
pub const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "FitTrack API",
        version = "1",
        description = "Fitness rewards: accounts, tracker connections, points. Errors are RFC 7807 \
            problems (`application/problem+json`) with a stable `code`; timestamps are RFC 3339 UTC; \
            lists are pages of `{items, pagination}` driven by `?limit=&cursor=`."
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem)),
    tags(
        (name = "auth", description = "Registration, sign-in, sessions and recovery"),
        (name = "users", description = "The signed-in user, profiles and tiers"),
        (name = "admin", description = "Administration (admins only)"),
        (name = "points", description = "Device uploads, balance, ledger and activities"),
        (name = "connections", description = "Tracker connections and their OAuth flow"),
        (name = "leaderboards", description = "Exact ranks per tier: daily, weekly, monthly and all-time"),
        (name = "webhooks", description = "Calls from tracker providers"),
        (name = "health", description = "Probes and public keys"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT (Ed25519), 15 minutes; from /api/v1/auth/login".into());
        components.add_security_scheme(BEARER, SecurityScheme::Http(scheme));
    }
}

/// The document of every route of every function, from the routers themselves.
#[cfg(all(feature = "points", feature = "connections"))]
pub fn document() -> utoipa::openapi::OpenApi {
    utoipa_axum::router::OpenApiRouter::with_openapi(ApiDoc::openapi()).merge(crate::all_routes()).into_openapi()
}

/// `docs/openapi.json`, as `/openapi.json` serves it.
pub const SERVED_DOCUMENT: &str = include_str!("../../../docs/openapi.json");

/// Adds `/openapi.json` and `/docs` to `routes` when `enabled`.
pub fn mount<S: Clone + Send + Sync + 'static>(routes: Router<S>, enabled: bool) -> Router<S> {
    if !enabled {
        return routes;
    }
    routes.route("/openapi.json", get(openapi_json)).route("/docs", get(reference))
}

async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "public, max-age=300")], SERVED_DOCUMENT)
}

async fn reference() -> Html<&'static str> {
    static PAGE: LazyLock<String> = LazyLock::new(|| render(SERVED_DOCUMENT));
    Html(PAGE.as_str())
}

/// A plain HTML reference of the document: no script and no style, so it renders under the API's
/// `default-src 'none'` content security policy.
fn render(document: &str) -> String {
    let doc: serde_json::Value = serde_json::from_str(document).unwrap_or_default();
    let text = |v: &serde_json::Value| escape(v.as_str().unwrap_or_default());
    let mut page = String::from("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    let _ = write!(page, "<title>{}</title></head><body>", text(&doc["info"]["title"]));
    let _ = write!(page, "<h1>{}</h1><p>{}</p>", text(&doc["info"]["title"]), text(&doc["info"]["description"]));
    page.push_str("<p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a> (OpenAPI 3.1).</p>");
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let _ = write!(page, "<h2>{} {}</h2>", escape(&method.to_uppercase()), escape(path));
            let _ =
                write!(page, "<p><strong>{}</strong></p><p>{}</p><ul>", text(&op["summary"]), text(&op["description"]));
            for (status, answer) in op["responses"].as_object().into_iter().flatten() {
                let _ = write!(page, "<li>{}: {}</li>", escape(status), text(&answer["description"]));
            }
            page.push_str("</ul>");
        }
    }
    page.push_str("</body></html>");
    page
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use tower::ServiceExt;

    use super::*;

    async fn status_of(router: Router, path: &str) -> u16 {
        let request = axum::http::Request::get(path).body(axum::body::Body::empty()).unwrap();
        router.oneshot(request).await.unwrap().status().as_u16()
    }

    #[tokio::test]
    async fn the_reference_can_be_turned_off() {
        assert_eq!(status_of(mount(Router::new(), true), "/openapi.json").await, 200);
        assert_eq!(status_of(mount(Router::new(), true), "/docs").await, 200);
        assert_eq!(status_of(mount(Router::new(), false), "/openapi.json").await, 404);
        assert_eq!(status_of(mount(Router::new(), false), "/docs").await, 404);
    }

    #[test]
    fn the_reference_escapes_what_it_shows() {
        let page = render(r#"{"info": {"title": "<x>"}, "paths": {"/a": {"get": {"summary": "a & b"}}}}"#);
        assert!(page.contains("&lt;x&gt;") && page.contains("a &amp; b") && page.contains("GET /a"));
    }
}
