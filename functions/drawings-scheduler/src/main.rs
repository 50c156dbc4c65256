//! The minute scheduler: one `DrawingService::run_minute` per scheduled invocation (bans applied
//! to open drawings, the drawing and fulfilment steps due, the notification emails waiting in the
//! outbox). The schedule's event carries nothing we need. Overlapping invocations are safe: every
//! step is a conditional transition.

use std::collections::HashMap;
use std::sync::Arc;

use fittrack_aws::{DynamoClient, DynamoStore, SqsClient, SqsQueue};
use fittrack_drawings::DrawingService;
use fittrack_platform::BuildError;
use fittrack_platform::clock::{Clock, SystemClock};
use fittrack_platform::ports::{QueueId, Table};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    fittrack_platform::telemetry::init();
    let sdk = fittrack_aws::load_sdk_config().await;
    // Keys come from Secrets Manager, once per container (see `fittrack_aws::secrets`).
    let config = fittrack_aws::secrets::config_from_env(&sdk).await?;
    let tables = HashMap::from([
        (Table::Users, config.users_table.clone()),
        (Table::Points, config.points_table.clone()),
        (Table::Tickets, config.tickets_table.clone()),
    ]);
    let store = Arc::new(DynamoStore::new(DynamoClient::new(&sdk), tables));
    let email = config.email_queue_url.clone().ok_or(BuildError::Missing("FITTRACK_EMAIL_QUEUE_URL"))?;
    let queue = Arc::new(SqsQueue::new(SqsClient::new(&sdk), HashMap::from([(QueueId::Email, email)])));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let beacon = fittrack_beacons::from_config(&config.drawings.beacon, Arc::clone(&clock))?;
    let drawings = DrawingService::from_config(&config, store, clock, queue, beacon)?;
    let drawings = &drawings;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| async move {
        Ok::<_, Error>(serde_json::to_value(drawings.run_minute().await)?)
    }))
    .await
}
