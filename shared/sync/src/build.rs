//! Building the sync service from configuration and adapters: the one place the connections and
//! sync functions, `fittrack serve` and the tests get it from.

use std::sync::Arc;

use secrecy::ExposeSecret;

use fittrack_platform::clock::Clock;
use fittrack_platform::config::RateLimitedAction;
use fittrack_platform::crypto::PiiCipher;
use fittrack_platform::ports::{ItemStore, Queue, TrackerProvider};
use fittrack_platform::{BuildError, Config};
use fittrack_points::PointsEngine;

use crate::{SyncDeps, SyncSchedule, SyncService, SyncWorker};

/// The key that seals tracker grants, from `FITTRACK_TRACKER_KEY`.
fn tracker_cipher(config: &Config) -> Result<PiiCipher, BuildError> {
    let key = config.tracker_key.as_ref().ok_or(BuildError::Missing("FITTRACK_TRACKER_KEY"))?;
    PiiCipher::from_master_key(key.expose_secret())
        .map_err(|e| BuildError::InvalidKey { name: "FITTRACK_TRACKER_KEY", reason: e.to_string() })
}

/// The sync job runner alone (the sync worker function): no queue, no OAuth redirect.
///
/// # Errors
/// [`BuildError`] when the tracker key is missing or malformed.
pub fn sync_worker(
    config: &Config,
    store: Arc<dyn ItemStore>,
    engine: PointsEngine,
    trackers: Vec<Arc<dyn TrackerProvider>>,
    clock: Arc<dyn Clock>,
) -> Result<SyncWorker, BuildError> {
    Ok(SyncWorker::new(store, engine, trackers, clock, config.sync_interval, Arc::new(tracker_cipher(config)?)))
}

/// Tracker connections and sync on `store`, offering `trackers`, booking through `engine`.
///
/// # Errors
/// [`BuildError`] when the tracker key is missing or malformed.
pub fn sync_service(
    config: &Config,
    store: Arc<dyn ItemStore>,
    queue: Arc<dyn Queue>,
    engine: PointsEngine,
    trackers: Vec<Arc<dyn TrackerProvider>>,
    clock: Arc<dyn Clock>,
) -> Result<SyncService, BuildError> {
    let cipher = tracker_cipher(config)?;
    Ok(SyncService::new(SyncDeps {
        engine,
        store,
        queue,
        providers: trackers,
        clock,
        schedule: SyncSchedule {
            interval: config.sync_interval,
            manual_limit: config.rate_limits.get(RateLimitedAction::ManualSync),
        },
        cipher: Arc::new(cipher),
        api_url: config.api_url.clone(),
    }))
}
