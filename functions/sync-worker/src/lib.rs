//! The sync worker Lambda: a batch of sync jobs in, the ids of jobs that failed on our side out
//! (`ReportBatchItemFailures`). Tracker failures are recorded on the connection and rescheduled
//! by the service, so they do not cycle through the queue.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use fittrack_aws::{DynamoClient, DynamoStore, SdkConfig, SqsClient, SqsQueue, sqs_events};
use fittrack_core::Config;
use fittrack_core::app::BuildOptions;
use fittrack_core::ports::{ItemStore, Queue, QueueId, Table, TrackerProvider};
use fittrack_core::sync::{FanOut, SyncService};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

fn aws_adapters(config: &Config, sdk: &SdkConfig) -> (Arc<dyn ItemStore>, Arc<dyn Queue>) {
    let tables =
        HashMap::from([(Table::Users, config.users_table.clone()), (Table::Points, config.points_table.clone())]);
    let store: Arc<dyn ItemStore> = Arc::new(DynamoStore::new(DynamoClient::new(sdk), tables));
    let urls = config.sync_queue_url.iter().map(|url| (QueueId::Sync, url.clone())).collect();
    let queue: Arc<dyn Queue> = Arc::new(SqsQueue::new(SqsClient::new(sdk), urls));
    (store, queue)
}

/// The sync service on AWS adapters, with the trackers this deployment offers.
pub fn aws_sync(config: &Config, sdk: &SdkConfig) -> Result<SyncService, Error> {
    let (store, queue) = aws_adapters(config, sdk);
    sync_service(config, store, queue, fittrack_trackers::configured(&config.trackers)?)
}

/// The fan-out on AWS adapters: no keys, no trackers.
pub fn aws_fan_out(config: &Config, sdk: &SdkConfig) -> FanOut {
    let (store, queue) = aws_adapters(config, sdk);
    FanOut::new(store, queue, BuildOptions::default().clock, config.sync_interval)
}

pub fn sync_service(
    config: &Config,
    store: Arc<dyn ItemStore>,
    queue: Arc<dyn Queue>,
    trackers: Vec<Arc<dyn TrackerProvider>>,
) -> Result<SyncService, Error> {
    Ok(fittrack_core::app::sync_service(config, store, queue, trackers, &BuildOptions::default())?)
}

pub async fn handle(event: SqsEvent, sync: &SyncService) -> SqsBatchResponse {
    sqs_events::failures(sync.run_batch(&sqs_events::records(&event)).await)
}
