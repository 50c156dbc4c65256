//! The sync worker Lambda: a batch of sync jobs in, the ids of jobs that failed on our side out
//! (`ReportBatchItemFailures`). Tracker failures are recorded on the connection and rescheduled
//! by the service, so they do not cycle through the queue.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use fittrack_aws::{DynamoClient, DynamoStore, SdkConfig, SqsClient, SqsQueue};
use fittrack_platform::clock::{Clock, SystemClock};
use fittrack_platform::ports::{ItemStore, Queue, QueueId, Table, TrackerProvider};
use fittrack_platform::{BuildError, Config};
use fittrack_sync::SyncService;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Jobs of one batch run at once: a job mostly waits on its tracker's API.
const CONCURRENCY: usize = 10;

fn aws_adapters(config: &Config, sdk: &SdkConfig) -> (Arc<dyn ItemStore>, Arc<dyn Queue>) {
    let tables =
        HashMap::from([(Table::Users, config.users_table.clone()), (Table::Points, config.points_table.clone())]);
    let store: Arc<dyn ItemStore> = Arc::new(DynamoStore::new(DynamoClient::new(sdk), tables));
    let urls = config.sync_queue_url.iter().map(|url| (QueueId::Sync, url.clone())).collect();
    let queue: Arc<dyn Queue> = Arc::new(SqsQueue::new(SqsClient::new(sdk), urls));
    (store, queue)
}

/// The sync service on AWS adapters, with the trackers this deployment offers.
///
/// # Errors
/// Missing or malformed configuration, or a tracker that cannot be set up.
pub fn aws_sync(config: &Config, sdk: &SdkConfig) -> Result<Arc<SyncService>, Error> {
    let (store, queue) = aws_adapters(config, sdk);
    Ok(Arc::new(sync_service(
        config,
        store,
        queue,
        fittrack_trackers::configured(&config.trackers)?,
        Arc::new(SystemClock),
    )?))
}

/// The sync service on any adapters (the tests run it on the embedded store).
///
/// # Errors
/// [`BuildError`] when the tracker key is missing or malformed.
pub fn sync_service(
    config: &Config,
    store: Arc<dyn ItemStore>,
    queue: Arc<dyn Queue>,
    trackers: Vec<Arc<dyn TrackerProvider>>,
    clock: Arc<dyn Clock>,
) -> Result<SyncService, BuildError> {
    let engine = fittrack_points::engine(Arc::clone(&store), Arc::clone(&clock));
    fittrack_sync::build::sync_service(config, store, queue, engine, trackers, clock)
}

pub async fn handle(event: SqsEvent, sync: &Arc<SyncService>) -> SqsBatchResponse {
    fittrack_aws::sqs_events::handle(&event, sync, CONCURRENCY).await
}
