//! The connections Lambda: tracker connections (OAuth initiate and callback, manual sync,
//! disconnect with revocation) and the providers' webhooks. It reads sessions from the users
//! table, keeps connections there, and enqueues sync jobs.

use std::collections::HashMap;
use std::sync::Arc;

use fittrack_accounts::Authenticator;
use fittrack_aws::{DynamoClient, DynamoStore, SdkConfig, SqsClient, SqsQueue};
use fittrack_http::{ConnectionsState, connections_app};
use fittrack_platform::clock::{Clock, SystemClock};
use fittrack_platform::ports::{ItemStore, Queue, QueueId, Table, TrackerProvider};
use fittrack_platform::{BuildError, Config};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The connections router on AWS adapters, with the trackers this deployment offers.
///
/// # Errors
/// Missing or malformed configuration, or a tracker that cannot be set up.
pub fn aws_app(config: &Config, sdk: &SdkConfig) -> Result<axum::Router, Error> {
    let tables =
        HashMap::from([(Table::Users, config.users_table.clone()), (Table::Points, config.points_table.clone())]);
    let store: Arc<dyn ItemStore> = Arc::new(DynamoStore::new(DynamoClient::new(sdk), tables));
    let urls = config.sync_queue_url.iter().map(|url| (QueueId::Sync, url.clone())).collect();
    let queue: Arc<dyn Queue> = Arc::new(SqsQueue::new(SqsClient::new(sdk), urls));
    Ok(app(config, store, queue, fittrack_trackers::configured(&config.trackers)?, Arc::new(SystemClock))?)
}

/// The connections router on any adapters (the tests run it on the embedded store).
///
/// # Errors
/// [`BuildError`] for missing or malformed configuration.
pub fn app(
    config: &Config,
    store: Arc<dyn ItemStore>,
    queue: Arc<dyn Queue>,
    trackers: Vec<Arc<dyn TrackerProvider>>,
    clock: Arc<dyn Clock>,
) -> Result<axum::Router, BuildError> {
    let auth = Authenticator::from_config(config, Arc::clone(&store), Arc::clone(&clock))?;
    let engine = fittrack_points::engine(Arc::clone(&store), Arc::clone(&clock));
    let sync = fittrack_sync::build::sync_service(config, store, queue, engine, trackers, clock)?;
    Ok(connections_app(ConnectionsState::new(config, sync, auth)))
}
