//! The HTTP plumbing both adapters share: the client (rustls, timeouts, no redirects), the bridge
//! that lets `oauth2` run on it, and one reading of provider status codes.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use fittrack_platform::ports::TrackerError;
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;

/// When a provider answers 429 without saying how long to wait (Strava's windows are 15 minutes).
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(transparent)]
    Reqwest(#[from] reqwest::Error),
    #[error(transparent)]
    Http(#[from] http::Error),
}

/// One client for all provider calls. Redirects are not followed: a token endpoint that
/// redirects is misconfigured, and following would hand our client secret to another host.
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("FitTrack/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Lets `oauth2` run its requests on our reqwest client. A named type with a boxed `Send` future
/// (rather than a closure) keeps the token requests usable from `Send` futures.
pub struct OAuthHttp(pub reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for OAuthHttp {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(send(&self.0, request))
    }
}

async fn send(client: &reqwest::Client, request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let response = client.request(parts.method, parts.uri.to_string()).headers(parts.headers).body(body).send().await?;
    let mut builder = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    Ok(builder.body(response.bytes().await?.to_vec())?)
}

/// Reads a provider's answer to a data request: 2xx passes, 401 asks for a refresh, 429 carries
/// the delay, 5xx and transport failures are transient.
pub async fn check(response: Result<reqwest::Response, reqwest::Error>) -> Result<reqwest::Response, TrackerError> {
    let response = response.map_err(|e| TrackerError::Unavailable(e.without_url().to_string()))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    Err(match status {
        StatusCode::UNAUTHORIZED => TrackerError::Unauthorized,
        StatusCode::TOO_MANY_REQUESTS => TrackerError::RateLimited(retry_after(&response)),
        s if s.is_server_error() => TrackerError::Unavailable(format!("provider answered {s}")),
        s => TrackerError::Protocol(format!("provider answered {s}")),
    })
}

fn retry_after(response: &reqwest::Response) -> Duration {
    response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_RETRY_AFTER, Duration::from_secs)
}

pub async fn json<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T, TrackerError> {
    response.json().await.map_err(|e| TrackerError::Protocol(e.without_url().to_string()))
}
