//! The accounts Lambda: builds its DynamoDB store and SQS email queue once, and serves the
//! accounts router through `lambda_http`.

use std::collections::HashMap;
use std::sync::Arc;

use fittrack_aws::{DynamoClient, DynamoStore, SdkConfig, SqsClient, SqsQueue};
use fittrack_core::Config;
use fittrack_core::app::{BuildError, BuildOptions, account_service, points_engine};
use fittrack_core::ports::{QueueId, Table};
use fittrack_http::{AppState, accounts_app};

/// The accounts router on AWS adapters.
pub fn aws_app(config: &Config, sdk: &SdkConfig) -> Result<axum::Router, BuildError> {
    let tables =
        HashMap::from([(Table::Users, config.users_table.clone()), (Table::Points, config.points_table.clone())]);
    let store: Arc<DynamoStore> = Arc::new(DynamoStore::new(DynamoClient::new(sdk), tables));
    let queue_url = config.email_queue_url.clone().ok_or(BuildError::Missing("FITTRACK_EMAIL_QUEUE_URL"))?;
    let queue = Arc::new(SqsQueue::new(SqsClient::new(sdk), HashMap::from([(QueueId::Email, queue_url)])));
    let options = BuildOptions::default();
    // The points engine is part of the shared state but this function mounts none of its routes
    // (and has no permission on the points table).
    let points = points_engine(store.clone(), &options);
    let accounts = account_service(config, store, queue, options)?;
    Ok(accounts_app(AppState::new(config, accounts, points)))
}
