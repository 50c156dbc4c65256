//! The points Lambda: device ingestion, balance and ledger. It reads the users table (sessions,
//! the profile gate) and owns the points table.

use std::collections::HashMap;
use std::sync::Arc;

use fittrack_aws::{DynamoClient, DynamoStore, SdkConfig};
use fittrack_core::Config;
use fittrack_core::app::{BuildError, BuildOptions, account_service, points_engine};
use fittrack_core::ports::{Queue, Table};
use fittrack_http::{AppState, points_app};

/// The points router on AWS adapters.
pub fn aws_app(config: &Config, sdk: &SdkConfig, queue: Arc<dyn Queue>) -> Result<axum::Router, BuildError> {
    let tables =
        HashMap::from([(Table::Users, config.users_table.clone()), (Table::Points, config.points_table.clone())]);
    let store: Arc<DynamoStore> = Arc::new(DynamoStore::new(DynamoClient::new(sdk), tables));
    let options = BuildOptions::default();
    let points = points_engine(store.clone(), &options);
    let accounts = account_service(config, store, queue, options)?;
    Ok(points_app(AppState::new(config, accounts, points)))
}
