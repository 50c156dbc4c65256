use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    fittrack_core::telemetry::init();
    let config = fittrack_core::Config::from_env()?;
    let sdk = fittrack_aws::load_sdk_config().await;
    let mailer = fittrack_aws::SesMailer::new(fittrack_aws::SesClient::new(&sdk), &config.email_from)?;
    let mailer = &mailer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        Ok::<_, Error>(email_worker::handle(event.payload, mailer).await)
    }))
    .await
}
