//! The drawings Lambda: drawings and their tickets, free and mail-in entries, official rules,
//! results and snapshots, and the admin of drawings and sponsors. It reads the users table
//! (sessions, eligibility), debits and refunds in the points table, keeps the tickets table,
//! notifies winners of admin fulfilment changes (notifications and the email outbox), and
//! appends admin actions to the action log. It sends no email itself.

use std::collections::HashMap;
use std::sync::Arc;

use fittrack_accounts::Authenticator;
use fittrack_aws::{DynamoClient, DynamoStore, SdkConfig, SqsClient, SqsQueue};
use fittrack_drawings::DrawingService;
use fittrack_http::{DrawingsState, drawings_app};
use fittrack_platform::clock::{Clock, SystemClock};
use fittrack_platform::ports::{ItemStore, Queue, QueueId, RandomnessBeacon, Table};
use fittrack_platform::{BuildError, Config};

/// The drawings router on AWS adapters.
///
/// # Errors
/// [`BuildError`] for missing or malformed configuration.
pub fn aws_app(config: &Config, sdk: &SdkConfig) -> Result<axum::Router, BuildError> {
    let tables = HashMap::from([
        (Table::Users, config.users_table.clone()),
        (Table::Points, config.points_table.clone()),
        (Table::Tickets, config.tickets_table.clone()),
        (Table::Audit, config.audit_table.clone()),
    ]);
    let store = Arc::new(DynamoStore::new(DynamoClient::new(sdk), tables));
    let email = config.email_queue_url.clone().ok_or(BuildError::Missing("FITTRACK_EMAIL_QUEUE_URL"))?;
    let queue = Arc::new(SqsQueue::new(SqsClient::new(sdk), HashMap::from([(QueueId::Email, email)])));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let beacon = fittrack_beacons::from_config(&config.drawings.beacon, Arc::clone(&clock))?;
    app(config, store, clock, queue, beacon)
}

/// The drawings router on any adapters (the tests run it on the embedded store).
///
/// # Errors
/// [`BuildError`] for missing or malformed configuration.
pub fn app(
    config: &Config,
    store: Arc<dyn ItemStore>,
    clock: Arc<dyn Clock>,
    queue: Arc<dyn Queue>,
    beacon: Arc<dyn RandomnessBeacon>,
) -> Result<axum::Router, BuildError> {
    let auth = Authenticator::from_config(config, Arc::clone(&store), Arc::clone(&clock))?;
    let drawings = DrawingService::from_config(config, store, clock, queue, beacon)?;
    Ok(drawings_app(DrawingsState::new(config, drawings, auth)))
}
