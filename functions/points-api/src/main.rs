use std::collections::HashMap;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    fittrack_core::telemetry::init();
    let sdk = fittrack_aws::load_sdk_config().await;
    // Keys come from Secrets Manager, once per container (see `fittrack_aws::secrets`).
    let config = fittrack_aws::secrets::config_from_env(&sdk).await?;
    // This function sends no email; the account service it uses for authentication needs a queue
    // handle all the same, and an SQS client with no queue URL never connects.
    let queue = Arc::new(fittrack_aws::SqsQueue::new(fittrack_aws::SqsClient::new(&sdk), HashMap::new()));
    let app = points_api::aws_app(&config, &sdk, queue)?;
    lambda_http::run(app).await
}
