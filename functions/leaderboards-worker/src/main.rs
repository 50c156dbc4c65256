use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    fittrack_platform::telemetry::init();
    let sdk = fittrack_aws::load_sdk_config().await;
    // Nothing secret: the worker reads the users table and writes the leaderboards table.
    let config = fittrack_platform::Config::from_env()?;
    let worker = leaderboards_worker::aws_worker(&config, &sdk);
    let worker = &worker;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        leaderboards_worker::handle(event.payload, worker).await
    }))
    .await
}
