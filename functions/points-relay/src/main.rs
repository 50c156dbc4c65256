use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    fittrack_platform::telemetry::init();
    let config = fittrack_platform::Config::from_env()?;
    let sdk = fittrack_aws::load_sdk_config().await;
    let relay = points_relay::aws_relay(&config, &sdk)?;
    let relay = &relay;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        let published = points_relay::handle(event.payload, relay).await?;
        Ok::<_, Error>(serde_json::json!({"published": published}))
    }))
    .await
}
