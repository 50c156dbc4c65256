use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    fittrack_core::telemetry::init();
    let config = fittrack_core::Config::from_env()?;
    let sdk = fittrack_aws::load_sdk_config().await;
    let sync = sync_worker::aws_sync(&config, &sdk)?;
    let sync = &sync;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        Ok::<_, Error>(sync_worker::handle(event.payload, sync).await)
    }))
    .await
}
