use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    fittrack_platform::telemetry::init();
    let sdk = fittrack_aws::load_sdk_config().await;
    // Keys come from Secrets Manager, once per container (see `fittrack_aws::secrets`).
    let config = fittrack_aws::secrets::config_from_env(&sdk).await?;
    let worker = sync_worker::aws_worker(&config, &sdk)?;
    let worker = &worker;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        Ok::<_, Error>(sync_worker::handle(event.payload, worker).await)
    }))
    .await
}
