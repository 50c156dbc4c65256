#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    fittrack_platform::telemetry::init();
    let sdk = fittrack_aws::load_sdk_config().await;
    // Keys come from Secrets Manager, once per container (see `fittrack_aws::secrets`).
    let config = fittrack_aws::secrets::config_from_env(&sdk).await?;
    let app = admin_api::aws_app(&config, &sdk)?;
    lambda_http::run(app).await
}
