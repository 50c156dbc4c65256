//! The sync worker Lambda: a batch of sync jobs in, the ids of jobs that failed on our side out
//! (`ReportBatchItemFailures`). Tracker failures are recorded on the connection and rescheduled
//! by the service, so they do not cycle through the queue.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use fittrack_aws::{DynamoClient, DynamoStore, SdkConfig, SqsClient, SqsQueue, sqs_events};
use fittrack_core::Config;
use fittrack_core::app::{BuildOptions, points_engine};
use fittrack_core::config::RateLimitedAction;
use fittrack_core::ports::{ItemStore, Queue, QueueId, Table, TrackerProvider};
use fittrack_core::sync::{SyncSchedule, SyncService};

/// The sync service on AWS adapters, with the trackers this deployment offers.
pub fn aws_sync(config: &Config, sdk: &SdkConfig, trackers: Vec<Arc<dyn TrackerProvider>>) -> SyncService {
    let tables =
        HashMap::from([(Table::Users, config.users_table.clone()), (Table::Points, config.points_table.clone())]);
    let store: Arc<dyn ItemStore> = Arc::new(DynamoStore::new(DynamoClient::new(sdk), tables));
    let urls = config.sync_queue_url.iter().map(|url| (QueueId::Sync, url.clone())).collect();
    let queue: Arc<dyn Queue> = Arc::new(SqsQueue::new(SqsClient::new(sdk), urls));
    sync_service(config, store, queue, trackers)
}

pub fn sync_service(
    config: &Config,
    store: Arc<dyn ItemStore>,
    queue: Arc<dyn Queue>,
    trackers: Vec<Arc<dyn TrackerProvider>>,
) -> SyncService {
    let options = BuildOptions::default();
    let engine = points_engine(Arc::clone(&store), &options);
    let schedule = SyncSchedule {
        interval: Duration::from_secs(15 * 60),
        manual_limit: config.rate_limits.get(RateLimitedAction::ManualSync),
    };
    SyncService::new(store, queue, engine, trackers, options.clock, schedule)
}

pub async fn handle(event: SqsEvent, sync: &SyncService) -> SqsBatchResponse {
    sqs_events::failures(sync.run_batch(&sqs_events::records(&event)).await)
}
