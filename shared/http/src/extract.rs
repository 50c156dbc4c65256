//! Extractors whose rejections are problem responses.

use std::net::SocketAddr;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use fittrack_accounts::{AccountError, AuthenticatedUser, Authenticator, ClientInfo};
use fittrack_domain::Role;

use crate::problem::{ApiError, Problem};
use crate::state::HttpSettings;

/// A JSON body: malformed JSON is 400, a body of the wrong shape 422, a missing JSON content
/// type 415, and a body over the limit 413.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_problem(rejection).into()),
        }
    }
}

fn json_problem(rejection: JsonRejection) -> Problem {
    match rejection {
        JsonRejection::JsonSyntaxError(e) => {
            Problem::new(StatusCode::BAD_REQUEST, "malformed_json", "Malformed JSON").detail(e.body_text())
        }
        JsonRejection::JsonDataError(e) => {
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", "Request body has the wrong shape")
                .detail(e.body_text())
        }
        JsonRejection::MissingJsonContentType(_) => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Expected Content-Type: application/json",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "Request body too large")
                .detail("The limit is 1 MB.")
        }
        other => {
            Problem::new(StatusCode::BAD_REQUEST, "bad_request", "Unreadable request body").detail(other.body_text())
        }
    }
}

/// Query parameters with a problem rejection.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => {
                let rejection: QueryRejection = rejection;
                Err(Problem::new(StatusCode::BAD_REQUEST, "invalid_query", "Invalid query parameters")
                    .detail(rejection.body_text())
                    .into())
            }
        }
    }
}

/// The signed-in caller: a valid access token whose session is still live. Routes that need a
/// role take [`RequireRole`] instead; both go through the same check.
pub struct CurrentUser(pub AuthenticatedUser);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser
where
    Authenticator: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AccountError::Unauthenticated)?;
        let user = Authenticator::from_ref(state).authenticate(token).await?;
        tracing::Span::current().record("user_id", tracing::field::display(user.user_id));
        Ok(Self(user))
    }
}

/// A signed-in caller whose profile places them in a tier: the gate in front of every feature
/// route (everything but auth, profile, health and `/users/me`).
pub struct CompleteProfile(pub AuthenticatedUser);

impl<S: Send + Sync> FromRequestParts<S> for CompleteProfile
where
    Authenticator: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        Authenticator::from_ref(state).require_complete_profile(user.user_id).await?;
        Ok(Self(user))
    }
}

/// The minimum role a route needs, as a type.
pub trait MinimumRole {
    const ROLE: Role;
}

pub struct Admin;
impl MinimumRole for Admin {
    const ROLE: Role = Role::Admin;
}

/// A caller with at least role `R`; others get 403.
pub struct RequireRole<R: MinimumRole>(pub AuthenticatedUser, pub std::marker::PhantomData<R>);

impl<S: Send + Sync, R: MinimumRole> FromRequestParts<S> for RequireRole<R>
where
    Authenticator: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        if user.role < R::ROLE {
            return Err(AccountError::Forbidden.into());
        }
        Ok(Self(user, std::marker::PhantomData))
    }
}

/// An admin making a change: the caller (403 unless an admin) and the request id every action
/// log entry carries (the middleware has set `X-Request-Id` before any handler runs).
pub struct AdminActor(pub fittrack_audit::Actor);

impl<S: Send + Sync> FromRequestParts<S> for AdminActor
where
    Authenticator: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let RequireRole(admin, _) = RequireRole::<Admin>::from_request_parts(parts, state).await?;
        let request_id = parts
            .headers
            .get(&crate::middleware::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok(Self(fittrack_audit::Actor::new(admin.user_id, request_id)))
    }
}

/// The address of the client: on Lambda the API Gateway source IP, locally the TCP peer, and
/// `X-Forwarded-For` (its last entry, the one our proxy added) only when configured.
pub struct Client(pub ClientInfo);

impl<S: Send + Sync> FromRequestParts<S> for Client
where
    HttpSettings: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let policy = HttpSettings::from_ref(state);
        Ok(Self(ClientInfo { address: client_address(parts, policy.trust_forwarded_for) }))
    }
}

fn client_address(parts: &Parts, trust_forwarded_for: bool) -> Option<String> {
    if trust_forwarded_for {
        let forwarded = parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        if let Some(last) = forwarded.and_then(|v| v.rsplit(',').next()).map(str::trim).filter(|a| !a.is_empty()) {
            return Some(last.to_owned());
        }
    }
    #[cfg(feature = "lambda")]
    if let Some(address) = lambda_source_ip(parts) {
        return Some(address);
    }
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| peer.ip().to_string())
}

#[cfg(feature = "lambda")]
fn lambda_source_ip(parts: &Parts) -> Option<String> {
    use lambda_http::request::RequestContext;
    match parts.extensions.get::<RequestContext>()? {
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}
