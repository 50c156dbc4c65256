//! Tracker provider adapters on real HTTP clients (reqwest with rustls), against configurable
//! base URLs: the Google Health API and Strava, both with their OAuth flow; and the simulated
//! tracker of local runs and demos.

pub mod google_health;
pub mod http;
pub mod oauth;
mod simulated;
pub mod strava;

use std::sync::Arc;

use fittrack_platform::config::TrackerConfig;
use fittrack_platform::ports::TrackerProvider;

pub use google_health::GoogleHealth;
pub use simulated::{SimulatedTracker, simulated_day};
pub use strava::Strava;

#[derive(Debug, thiserror::Error)]
pub enum TrackersError {
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error(transparent)]
    Config(#[from] oauth::OAuthConfigError),
}

/// The trackers this configuration enables.
pub fn configured(config: &TrackerConfig) -> Result<Vec<Arc<dyn TrackerProvider>>, TrackersError> {
    let http = http::client()?;
    let mut trackers: Vec<Arc<dyn TrackerProvider>> = Vec::new();
    if config.simulated {
        trackers.push(Arc::new(SimulatedTracker));
    }
    if let Some(google) = &config.google_health {
        trackers.push(Arc::new(GoogleHealth::new(google, http.clone())?));
    }
    if let Some(strava) = &config.strava {
        trackers.push(Arc::new(Strava::new(strava, http)?));
    }
    Ok(trackers)
}
