//! A sync service on local adapters for tests and benchmarks that drive jobs by hand.

use std::sync::Arc;

use fittrack_local::InProcessQueue;
use fittrack_platform::Config;
use fittrack_platform::clock::Clock;
use fittrack_platform::ports::{ItemStore, Queue, TrackerProvider};
use fittrack_sync::SyncService;

/// The sync service on `store` with an in-process queue, a fresh tracker key and the default
/// schedule (15 minutes), offering `trackers`, on `clock`.
pub fn local_sync(
    store: Arc<dyn ItemStore>,
    trackers: Vec<Arc<dyn TrackerProvider>>,
    clock: Arc<dyn Clock>,
) -> SyncService {
    let config =
        Config::from_lookup(|name| (name == "FITTRACK_TRACKER_KEY").then(fittrack_platform::crypto::generate_pii_key))
            .expect("a configuration with only a tracker key is valid");
    let queue: Arc<dyn Queue> = Arc::new(InProcessQueue::default());
    let engine = fittrack_points::engine(Arc::clone(&store), Arc::clone(&clock));
    fittrack_sync::build::sync_service(&config, store, queue, engine, trackers, clock).expect("the sync service builds")
}
