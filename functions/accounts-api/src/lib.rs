//! The accounts Lambda: builds its DynamoDB store and SQS email queue once, and serves the
//! accounts router (auth, the user's account and profile, their notifications and email
//! preferences, the unsubscribe links) through `lambda_http`.

use std::collections::HashMap;
use std::sync::Arc;

use fittrack_accounts::build::{BuildOptions, account_service};
use fittrack_aws::{DynamoClient, DynamoStore, SdkConfig, SqsClient, SqsQueue};
use fittrack_http::{AccountsState, accounts_app};
use fittrack_notifications::Notifications;
use fittrack_platform::ports::{ItemStore, Queue, QueueId, Table};
use fittrack_platform::{BuildError, Config};

/// The accounts router on AWS adapters: the users table, the email queue, and the point-events
/// queue (for renames of leaderboard rows).
///
/// # Errors
/// [`BuildError`] for missing or malformed configuration.
pub fn aws_app(config: &Config, sdk: &SdkConfig) -> Result<axum::Router, BuildError> {
    let store =
        Arc::new(DynamoStore::new(DynamoClient::new(sdk), HashMap::from([(Table::Users, config.users_table.clone())])));
    let queue_url = config.email_queue_url.clone().ok_or(BuildError::Missing("FITTRACK_EMAIL_QUEUE_URL"))?;
    // Profile changes that rename leaderboard rows go to the leaderboards worker.
    let board_updates =
        config.point_events_queue_url.clone().ok_or(BuildError::Missing("FITTRACK_POINT_EVENTS_QUEUE_URL"))?;
    let queues = HashMap::from([(QueueId::Email, queue_url), (QueueId::PointEvents, board_updates)]);
    let queue = Arc::new(SqsQueue::new(SqsClient::new(sdk), queues));
    app(config, store, queue, BuildOptions::default())
}

/// The accounts router on any adapters (the tests run it on the embedded store).
///
/// # Errors
/// [`BuildError`] for missing or malformed configuration.
pub fn app(
    config: &Config,
    store: Arc<dyn ItemStore>,
    queue: Arc<dyn Queue>,
    options: BuildOptions,
) -> Result<axum::Router, BuildError> {
    let pii = Arc::new(fittrack_accounts::pii_cipher(config)?);
    let notifications = Notifications::from_config(config, Arc::clone(&store), pii, Arc::clone(&options.clock));
    let accounts = account_service(config, store, queue, options)?;
    Ok(accounts_app(AccountsState::new(config, accounts, notifications)))
}
