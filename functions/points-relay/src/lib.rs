//! The points relay Lambda. Two triggers share one handler: the points table's stream (filtered to
//! outbox keys, so it runs within a second of a ledger write and drains just the shards that
//! changed), and a schedule that sweeps every shard in case a stream batch was lost or failed
//! past its retries. A failed run returns an error; the events stay in the outbox for the next.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use fittrack_aws::{DynamoClient, DynamoStore, SdkConfig, SqsClient, SqsQueue};
use fittrack_platform::Config;
use fittrack_platform::ports::{QueueId, Table};
use fittrack_points::outbox::shard_of_partition;
use fittrack_points::{OutboxRelay, RelayError};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The relay on DynamoDB and the point-events queue.
pub fn aws_relay(config: &Config, sdk: &SdkConfig) -> Result<OutboxRelay, Error> {
    let url = config.point_events_queue_url.clone().ok_or("FITTRACK_POINT_EVENTS_QUEUE_URL is required")?;
    let store = DynamoStore::new(DynamoClient::new(sdk), HashMap::from([(Table::Points, config.points_table.clone())]));
    let queue = SqsQueue::new(SqsClient::new(sdk), HashMap::from([(QueueId::PointEvents, url)]));
    Ok(OutboxRelay::new(Arc::new(store), Arc::new(queue)))
}

/// The outbox shards a trigger asks to drain: those named by a stream batch's keys; none (meaning
/// every shard) for anything else, the scheduled sweep or a batch that does not parse.
pub fn shards_to_drain(payload: &serde_json::Value) -> Option<BTreeSet<u64>> {
    payload.get("Records")?;
    let event: StreamEvent = serde_json::from_value(payload.clone()).ok()?;
    Some(
        event
            .records
            .iter()
            .filter_map(|record| match record.change.keys.get("pk")? {
                serde_dynamo::AttributeValue::S(pk) => shard_of_partition(pk),
                _ => None,
            })
            .collect(),
    )
}

pub async fn handle(payload: serde_json::Value, relay: &OutboxRelay) -> Result<usize, RelayError> {
    match shards_to_drain(&payload) {
        Some(shards) => relay.drain(shards).await,
        None => relay.drain_all().await,
    }
}
