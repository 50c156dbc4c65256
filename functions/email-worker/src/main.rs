use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    fittrack_platform::telemetry::init();
    let config = fittrack_platform::Config::from_env()?;
    let sdk = fittrack_aws::load_sdk_config().await;
    let mailer = fittrack_aws::SesMailer::new(fittrack_aws::SesClient::new(&sdk), &config.email_from)?;
    let delivery = Arc::new(fittrack_email::EmailDelivery::new(Arc::new(mailer)));
    let delivery = &delivery;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        Ok::<_, Error>(email_worker::handle(event.payload, delivery).await)
    }))
    .await
}
