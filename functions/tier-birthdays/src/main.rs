//! Runs the birthday job on each scheduled invocation; the schedule's event carries nothing we need.

use std::collections::HashMap;
use std::sync::Arc;

use fittrack_platform::clock::SystemClock;
use fittrack_platform::ports::Table;
use fittrack_users::TierSchedule;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    fittrack_platform::telemetry::init();
    let sdk = fittrack_aws::load_sdk_config().await;
    // Keys come from Secrets Manager, once per container (see `fittrack_aws::secrets`).
    let config = fittrack_aws::secrets::config_from_env(&sdk).await?;
    let tables = HashMap::from([(Table::Users, config.users_table.clone())]);
    let store = Arc::new(fittrack_aws::DynamoStore::new(fittrack_aws::DynamoClient::new(&sdk), tables));
    let tiers = TierSchedule::from_config(&config, store, Arc::new(SystemClock))?;
    let tiers = &tiers;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| async move {
        let changed = tiers.run().await?;
        Ok::<_, Error>(serde_json::json!({"changed": changed}))
    }))
    .await
}
