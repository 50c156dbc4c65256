//! The tracker provider port: where activity records come from (Google Health, Strava, the
//! simulated tracker of local runs). Device uploads arrive through the ingest endpoint instead.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use fittrack_domain::UserId;
use fittrack_domain::activity::Activity;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackerError {
    /// The user's grant is gone (revoked or expired beyond refresh): the connection needs the user.
    #[error("tracker authorization no longer valid")]
    Unauthorized,
    #[error("tracker rate limit; retry after {0:?}")]
    RateLimited(Duration),
    #[error("tracker unavailable: {0}")]
    Unavailable(String),
}

/// # Contract
/// - `fetch` MUST return the records that ended in `[from, to)`, each with a stable `source_id`,
///   so fetching an overlapping window again yields the same records (and changes nothing).
#[async_trait]
pub trait TrackerProvider: Send + Sync {
    /// The provider's name in routes and records, e.g. `simulated`.
    fn name(&self) -> &'static str;
    async fn fetch(&self, user: UserId, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Activity>, TrackerError>;
}
