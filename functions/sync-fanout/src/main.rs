//! Runs the sync fan-out on each scheduled invocation; the schedule's event carries nothing we
//! need. It needs no keys and no trackers: the users table (connections due) and the sync queue.

use std::collections::HashMap;
use std::sync::Arc;

use fittrack_aws::{DynamoClient, DynamoStore, SqsClient, SqsQueue};
use fittrack_platform::clock::SystemClock;
use fittrack_platform::ports::{QueueId, Table};
use fittrack_sync::FanOut;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    fittrack_platform::telemetry::init();
    let config = fittrack_platform::Config::from_env()?;
    let sdk = fittrack_aws::load_sdk_config().await;
    let store = DynamoStore::new(DynamoClient::new(&sdk), HashMap::from([(Table::Users, config.users_table.clone())]));
    let urls = config.sync_queue_url.iter().map(|url| (QueueId::Sync, url.clone())).collect();
    let queue = SqsQueue::new(SqsClient::new(&sdk), urls);
    let fan_out = FanOut::new(Arc::new(store), Arc::new(queue), Arc::new(SystemClock), config.sync_interval);
    let fan_out = &fan_out;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| async move {
        let enqueued = fan_out.run().await?;
        Ok::<_, Error>(serde_json::json!({"enqueued": enqueued}))
    }))
    .await
}
