//! The points Lambda: device ingestion, balance and ledger, reviews. It reads the users table
//! (sessions, the profile gate, the tier) and owns the points table. It verifies access tokens
//! with the public key and builds no account use cases: no password hasher, no email queue.

use std::collections::HashMap;
use std::sync::Arc;

use fittrack_accounts::Authenticator;
use fittrack_aws::{DynamoClient, DynamoStore, SdkConfig};
use fittrack_http::{PointsState, points_app};
use fittrack_platform::clock::{Clock, SystemClock};
use fittrack_platform::ports::{ItemStore, Table};
use fittrack_platform::{BuildError, Config};

/// The points router on DynamoDB.
///
/// # Errors
/// [`BuildError`] for missing or malformed configuration.
pub fn aws_app(config: &Config, sdk: &SdkConfig) -> Result<axum::Router, BuildError> {
    // The audit table: resolving a review is an admin action, logged as it happens.
    let tables = HashMap::from([
        (Table::Users, config.users_table.clone()),
        (Table::Points, config.points_table.clone()),
        (Table::Audit, config.audit_table.clone()),
    ]);
    app(config, Arc::new(DynamoStore::new(DynamoClient::new(sdk), tables)), Arc::new(SystemClock))
}

/// The points router on any store (the tests run it on the embedded one).
///
/// # Errors
/// [`BuildError`] for missing or malformed configuration.
pub fn app(config: &Config, store: Arc<dyn ItemStore>, clock: Arc<dyn Clock>) -> Result<axum::Router, BuildError> {
    let auth = Authenticator::from_config(config, Arc::clone(&store), Arc::clone(&clock))?;
    let points = fittrack_points::engine(store, clock);
    Ok(points_app(PointsState::new(config, points, auth)))
}
