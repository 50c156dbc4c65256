//! The OAuth 2.0 authorization-code flow (RFC 6749) with PKCE (RFC 7636) and `state`, on the
//! `oauth2` crate and our reqwest client. Revocation differs per provider, so each adapter does
//! its own.

use std::borrow::Cow;

use chrono::Utc;
use oauth2::basic::{BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse, BasicTokenType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardRevocableToken, StandardTokenIntrospectionResponse, StandardTokenResponse, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use fittrack_platform::config::OAuthClientConfig;
use fittrack_platform::ports::{AuthorizationRequest, ProviderTokens, TrackerError};

/// Extra fields of a token response that name the user at the provider (Strava sends the athlete).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProviderTokenFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub athlete: Option<Athlete>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Athlete {
    pub id: u64,
}

impl ExtraTokenFields for ProviderTokenFields {}

type TokenBody = StandardTokenResponse<ProviderTokenFields, BasicTokenType>;

type Client = oauth2::Client<
    BasicErrorResponse,
    TokenBody,
    StandardTokenIntrospectionResponse<ProviderTokenFields, BasicTokenType>,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

#[derive(Debug, thiserror::Error)]
pub enum OAuthConfigError {
    #[error("{0}: not a valid URL")]
    Url(&'static str),
}

/// One provider's OAuth client.
pub struct OAuthClient {
    client: Client,
    scopes: Vec<String>,
    /// Extra authorization parameters (Google needs `access_type=offline` for a refresh token).
    extra: Vec<(&'static str, &'static str)>,
    http: crate::http::OAuthHttp,
}

impl OAuthClient {
    pub fn new(
        config: &OAuthClientConfig,
        scopes: Vec<String>,
        extra: Vec<(&'static str, &'static str)>,
        http: reqwest::Client,
    ) -> Result<Self, OAuthConfigError> {
        let client = oauth2::Client::new(ClientId::new(config.client_id.clone()))
            .set_client_secret(ClientSecret::new(config.client_secret.expose_secret().to_owned()))
            // Both providers take the client credentials in the form body.
            .set_auth_type(AuthType::RequestBody)
            .set_auth_uri(AuthUrl::new(config.auth_url.clone()).map_err(|_| OAuthConfigError::Url("auth URL"))?)
            .set_token_uri(TokenUrl::new(config.token_url.clone()).map_err(|_| OAuthConfigError::Url("token URL"))?);
        Ok(Self { client, scopes, extra, http: crate::http::OAuthHttp(http) })
    }

    pub fn authorize(&self, redirect_uri: &str) -> AuthorizationRequest {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self
            .client
            // 256 bits, as for every other secret we hand out (the crate's default is 128).
            .authorize_url(|| CsrfToken::new_random_len(32))
            .set_pkce_challenge(challenge)
            .add_scopes(self.scopes.iter().cloned().map(Scope::new));
        if let Ok(redirect) = RedirectUrl::new(redirect_uri.to_owned()) {
            request = request.set_redirect_uri(Cow::Owned(redirect));
        }
        for (name, value) in &self.extra {
            request = request.add_extra_param(*name, *value);
        }
        let (url, state) = request.url();
        AuthorizationRequest {
            url: url.to_string(),
            state: SecretString::from(state.secret().clone()),
            pkce_verifier: SecretString::from(verifier.secret().clone()),
        }
    }

    pub async fn exchange_code(
        &self,
        code: &str,
        pkce_verifier: &str,
        redirect_uri: &str,
    ) -> Result<ProviderTokens, TrackerError> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| TrackerError::Protocol(e.to_string()))?;
        let body = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .set_redirect_uri(Cow::Owned(redirect))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        Ok(tokens(&body))
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<ProviderTokens, TrackerError> {
        let refresh = RefreshToken::new(refresh_token.to_owned());
        let body = self.client.exchange_refresh_token(&refresh).request_async(&self.http).await.map_err(token_error)?;
        Ok(tokens(&body))
    }
}

fn tokens(body: &TokenBody) -> ProviderTokens {
    ProviderTokens {
        access_token: SecretString::from(body.access_token().secret().clone()),
        refresh_token: body.refresh_token().map(|t| SecretString::from(t.secret().clone())),
        expires_at: body
            .expires_in()
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .and_then(|d| Utc::now().checked_add_signed(d)),
        provider_user_id: body.extra_fields().athlete.as_ref().map(|a| a.id.to_string()),
    }
}

/// `invalid_grant` means the user's grant is gone; anything else is the provider's trouble.
fn token_error(error: RequestTokenError<crate::http::HttpError, BasicErrorResponse>) -> TrackerError {
    match error {
        RequestTokenError::ServerResponse(response) => match response.error() {
            BasicErrorResponseType::InvalidGrant => TrackerError::Unauthorized,
            other => TrackerError::Protocol(format!("token endpoint refused: {other}")),
        },
        RequestTokenError::Request(e) => TrackerError::Unavailable(e.to_string()),
        RequestTokenError::Parse(_, _) => TrackerError::Protocol("unreadable token response".into()),
        RequestTokenError::Other(message) => TrackerError::Unavailable(message),
    }
}
