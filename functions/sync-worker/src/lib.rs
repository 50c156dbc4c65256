//! The sync worker Lambda: a batch of sync jobs in, the ids of jobs that failed on our side out
//! (`ReportBatchItemFailures`). Tracker failures are recorded on the connection and rescheduled
//! by the service, so they do not cycle through the queue.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use fittrack_aws::{DynamoClient, DynamoStore, SdkConfig};
use fittrack_platform::clock::{Clock, SystemClock};
use fittrack_platform::ports::{ItemStore, Table, TrackerProvider};
use fittrack_platform::{BuildError, Config};
use fittrack_sync::SyncWorker;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Jobs of one batch run at once: a job mostly waits on its tracker's API.
const CONCURRENCY: usize = 10;

/// The sync job runner on DynamoDB, with the trackers this deployment offers. It needs no
/// queue: SQS hands it the jobs, and it enqueues none.
///
/// # Errors
/// Missing or malformed configuration, or a tracker that cannot be set up.
pub fn aws_worker(config: &Config, sdk: &SdkConfig) -> Result<Arc<SyncWorker>, Error> {
    let tables =
        HashMap::from([(Table::Users, config.users_table.clone()), (Table::Points, config.points_table.clone())]);
    let store: Arc<dyn ItemStore> = Arc::new(DynamoStore::new(DynamoClient::new(sdk), tables));
    let trackers = fittrack_trackers::configured(&config.trackers)?;
    Ok(Arc::new(worker(config, store, trackers, Arc::new(SystemClock))?))
}

/// The sync job runner on any store (the tests run it on the embedded one).
///
/// # Errors
/// [`BuildError`] when the tracker key is missing or malformed.
pub fn worker(
    config: &Config,
    store: Arc<dyn ItemStore>,
    trackers: Vec<Arc<dyn TrackerProvider>>,
    clock: Arc<dyn Clock>,
) -> Result<SyncWorker, BuildError> {
    let engine = fittrack_points::engine(Arc::clone(&store), Arc::clone(&clock));
    fittrack_sync::build::sync_worker(config, store, engine, trackers, clock)
}

pub async fn handle(event: SqsEvent, worker: &Arc<SyncWorker>) -> SqsBatchResponse {
    fittrack_aws::sqs_events::handle(&event, worker, CONCURRENCY).await
}
