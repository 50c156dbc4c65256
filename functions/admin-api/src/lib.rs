//! The admin Lambda: user search and detail, account status, roles, sessions, point adjustments
//! and the action log. It reads and writes the users table (accounts, sessions, notifications,
//! the email outbox), writes the points table (adjustments) and the tickets table (ban markers
//! only), and appends to the action log. Emails leave through the outbox, not from here.

use std::collections::HashMap;
use std::sync::Arc;

use fittrack_accounts::{Authenticator, pii_cipher};
use fittrack_admin::AdminService;
use fittrack_aws::{DynamoClient, DynamoStore, SdkConfig};
use fittrack_http::{AdminState, admin_app};
use fittrack_notifications::Notifications;
use fittrack_platform::clock::{Clock, SystemClock};
use fittrack_platform::ports::{ItemStore, Table};
use fittrack_platform::{BuildError, Config};

/// The admin router on AWS adapters.
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
    app(config, store, Arc::new(SystemClock))
}

/// The admin router on any adapters (the tests run it on the embedded store).
///
/// # Errors
/// [`BuildError`] for missing or malformed configuration.
pub fn app(config: &Config, store: Arc<dyn ItemStore>, clock: Arc<dyn Clock>) -> Result<axum::Router, BuildError> {
    let auth = Authenticator::from_config(config, Arc::clone(&store), Arc::clone(&clock))?;
    let pii = Arc::new(pii_cipher(config)?);
    let notifications = Notifications::from_config(config, Arc::clone(&store), Arc::clone(&pii), Arc::clone(&clock));
    let admin = AdminService::new(store, pii, clock, notifications);
    Ok(admin_app(AdminState::new(config, admin, auth)))
}
