//! The leaderboards Lambda: the top of a board, the caller's place and neighbours, the caller's
//! ranks. It reads the users table (sessions, the profile gate, the caller's tier) and the
//! leaderboards table, and writes nothing.

use std::collections::HashMap;
use std::sync::Arc;

use fittrack_accounts::Authenticator;
use fittrack_aws::{DynamoClient, DynamoStore, SdkConfig};
use fittrack_http::{LeaderboardsState, leaderboards_app};
use fittrack_leaderboards::LeaderboardService;
use fittrack_platform::clock::{Clock, SystemClock};
use fittrack_platform::ports::{ItemStore, Table};
use fittrack_platform::{BuildError, Config};

/// The leaderboards router on DynamoDB.
///
/// # Errors
/// [`BuildError`] for missing or malformed configuration.
pub fn aws_app(config: &Config, sdk: &SdkConfig) -> Result<axum::Router, BuildError> {
    let tables = HashMap::from([
        (Table::Users, config.users_table.clone()),
        (Table::Leaderboards, config.leaderboards_table.clone()),
    ]);
    app(config, Arc::new(DynamoStore::new(DynamoClient::new(sdk), tables)), Arc::new(SystemClock))
}

/// The leaderboards router on any store (the tests run it on the embedded one).
///
/// # Errors
/// [`BuildError`] for missing or malformed configuration.
pub fn app(config: &Config, store: Arc<dyn ItemStore>, clock: Arc<dyn Clock>) -> Result<axum::Router, BuildError> {
    let auth = Authenticator::from_config(config, Arc::clone(&store), Arc::clone(&clock))?;
    let leaderboards = LeaderboardService::from_config(config, store, clock)?;
    Ok(leaderboards_app(LeaderboardsState::new(config, leaderboards, auth)))
}
