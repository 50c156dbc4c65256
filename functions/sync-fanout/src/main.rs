//! Runs the sync fan-out on each scheduled invocation; the schedule's event carries nothing we need.

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    fittrack_core::telemetry::init();
    let config = fittrack_core::Config::from_env()?;
    let sdk = fittrack_aws::load_sdk_config().await;
    let fan_out = sync_worker::aws_fan_out(&config, &sdk);
    let fan_out = &fan_out;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| async move {
        let enqueued = fan_out.run().await?;
        Ok::<_, Error>(serde_json::json!({"enqueued": enqueued}))
    }))
    .await
}
