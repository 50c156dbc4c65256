//! A sync service on local adapters for tests and benchmarks that drive jobs by hand.

use std::sync::Arc;

use fittrack_core::Config;
use fittrack_core::app::{BuildOptions, sync_service};
use fittrack_core::clock::Clock;
use fittrack_core::ports::{ItemStore, Queue, TrackerProvider};
use fittrack_core::sync::SyncService;
use fittrack_local::InProcessQueue;

/// The sync service on `store` with an in-process queue, a fresh tracker key and the default
/// schedule (15 minutes), offering `trackers`, on `clock`.
pub fn local_sync(
    store: Arc<dyn ItemStore>,
    trackers: Vec<Arc<dyn TrackerProvider>>,
    clock: Arc<dyn Clock>,
) -> SyncService {
    let config =
        Config::from_lookup(|name| (name == "FITTRACK_TRACKER_KEY").then(fittrack_core::crypto::generate_pii_key))
            .expect("a configuration with only a tracker key is valid");
    let queue: Arc<dyn Queue> = Arc::new(InProcessQueue::default());
    let options = BuildOptions { clock, ..BuildOptions::default() };
    sync_service(&config, store, queue, trackers, &options).expect("the sync service builds")
}
