#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    fittrack_core::telemetry::init();
    let config = fittrack_core::Config::from_env()?;
    let sdk = fittrack_aws::load_sdk_config().await;
    let app = connections_api::aws_app(&config, &sdk)?;
    lambda_http::run(app).await
}
