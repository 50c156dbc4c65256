//! The connections Lambda: tracker connections (OAuth initiate and callback, manual sync,
//! disconnect with revocation) and the providers' webhooks. It reads sessions from the users
//! table, keeps connections there, and enqueues sync jobs.

use std::collections::HashMap;
use std::sync::Arc;

use fittrack_aws::{DynamoClient, DynamoStore, SdkConfig, SqsClient, SqsQueue};
use fittrack_core::Config;
use fittrack_core::app::{BuildOptions, account_service, points_engine, sync_service};
use fittrack_core::ports::{ItemStore, Queue, QueueId, Table, TrackerProvider};
use fittrack_http::{AppState, connections_app};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The connections router on AWS adapters, with the trackers this deployment offers.
pub fn aws_app(config: &Config, sdk: &SdkConfig) -> Result<axum::Router, Error> {
    let tables =
        HashMap::from([(Table::Users, config.users_table.clone()), (Table::Points, config.points_table.clone())]);
    let store: Arc<dyn ItemStore> = Arc::new(DynamoStore::new(DynamoClient::new(sdk), tables));
    let urls = config.sync_queue_url.iter().map(|url| (QueueId::Sync, url.clone())).collect();
    let queue: Arc<dyn Queue> = Arc::new(SqsQueue::new(SqsClient::new(sdk), urls));
    app(config, store, queue, fittrack_trackers::configured(&config.trackers)?)
}

/// The connections router on any adapters.
pub fn app(
    config: &Config,
    store: Arc<dyn ItemStore>,
    queue: Arc<dyn Queue>,
    trackers: Vec<Arc<dyn TrackerProvider>>,
) -> Result<axum::Router, Error> {
    let options = BuildOptions::default();
    let sync = sync_service(config, Arc::clone(&store), Arc::clone(&queue), trackers, &options)?;
    let points = points_engine(Arc::clone(&store), &options);
    let accounts = account_service(config, store, queue, options)?;
    Ok(connections_app(AppState::new(config, accounts, points).with_sync(sync)))
}
