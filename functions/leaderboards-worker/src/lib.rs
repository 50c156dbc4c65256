//! The leaderboards worker Lambda. Two triggers, one function:
//! - the point-events queue: a batch of events in, the ids that failed out
//!   (`ReportBatchItemFailures`); each event is staged, then the batch's tiers are drained;
//! - an EventBridge schedule (every minute): the sweep, which drains what a writer that died left
//!   staged.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use fittrack_aws::{DynamoClient, DynamoStore, SdkConfig};
use fittrack_leaderboards::LeaderboardWorker;
use fittrack_platform::Config;
use fittrack_platform::clock::SystemClock;
use fittrack_platform::ports::{ItemStore, Table};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Events of one batch staged at once.
const CONCURRENCY: usize = 10;

/// The worker on DynamoDB: the users table (tiers and public names), the points ledger (each event
/// is checked against its entry) and the leaderboards table.
pub fn aws_worker(config: &Config, sdk: &SdkConfig) -> Arc<LeaderboardWorker> {
    let tables = HashMap::from([
        (Table::Users, config.users_table.clone()),
        (Table::Points, config.points_table.clone()),
        (Table::Leaderboards, config.leaderboards_table.clone()),
    ]);
    let store: Arc<dyn ItemStore> = Arc::new(DynamoStore::new(DynamoClient::new(sdk), tables));
    Arc::new(LeaderboardWorker::new(store, Arc::new(SystemClock)))
}

/// One invocation: an SQS batch (it has `Records`) or the scheduled sweep (anything else).
///
/// # Errors
/// An SQS event that does not read, or a sweep that failed (the next one retries).
pub async fn handle(event: serde_json::Value, worker: &Arc<LeaderboardWorker>) -> Result<serde_json::Value, Error> {
    if event.get("Records").is_some() {
        let event: SqsEvent = serde_json::from_value(event)?;
        let response = fittrack_aws::sqs_events::handle(&event, worker, CONCURRENCY).await;
        return Ok(serde_json::to_value(response)?);
    }
    let applied = worker.sweep().await?;
    tracing::info!(applied, "leaderboards sweep");
    Ok(serde_json::json!({ "applied": applied }))
}
