//! AWS adapters of the ports: DynamoDB, SQS and SES through the official SDK. Clients are built
//! once per process from one `aws_config` load (which honours `AWS_ENDPOINT_URL`, so tests point
//! them at the emulator with no code of their own).

mod dynamodb;
mod errors;
mod expression;
#[cfg(feature = "provisioning")]
pub mod provisioning;
#[cfg(feature = "secrets")]
pub mod secrets;
#[cfg(feature = "ses")]
mod ses;
mod sqs;
#[cfg(feature = "sqs-events")]
pub mod sqs_events;

pub use dynamodb::DynamoStore;
#[cfg(feature = "ses")]
pub use ses::SesMailer;
pub use sqs::SqsQueue;

/// Loads the shared AWS configuration (region, credentials, endpoint) from the environment.
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await
}

pub use aws_config::SdkConfig;
pub use aws_sdk_dynamodb::Client as DynamoClient;
#[cfg(feature = "ses")]
pub use aws_sdk_sesv2::Client as SesClient;
pub use aws_sdk_sqs::Client as SqsClient;
