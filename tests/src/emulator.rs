//! The AWS emulator (moto in server mode, started by `make test`). Every test creates its own
//! tables and queues with a random suffix, so tests run in parallel without resets.

use std::collections::HashMap;

use fittrack_aws::provisioning;
use fittrack_aws::{DynamoClient, DynamoStore, SdkConfig, SesClient, SesMailer, SqsClient, SqsQueue};
use fittrack_platform::ports::{QueueId, Table};

pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:5005";

pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| DEFAULT_ENDPOINT.to_owned())
}

/// SDK configuration pointed at the emulator. Panics with instructions if it is not running.
pub async fn sdk_config() -> SdkConfig {
    let endpoint = endpoint();
    let probe = reqwest::get(format!("{endpoint}/moto-api/")).await;
    assert!(
        probe.is_ok_and(|r| r.status().is_success()),
        "the AWS emulator is not answering at {endpoint}: run `make test` (which starts it) or `make emulator`"
    );
    // SAFETY-free: these set only what the SDK reads from the environment in tests.
    let credentials = aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "fittrack-tests");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .load()
        .await
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

pub fn table_names() -> HashMap<Table, String> {
    Table::ALL.into_iter().map(|t| (t, unique(&format!("ft-{}", t.name())))).collect()
}

/// A DynamoDB store on fresh tables created from template.yaml.
pub async fn dynamo_store() -> (DynamoStore, HashMap<Table, String>) {
    let sdk = sdk_config().await;
    let client = DynamoClient::new(&sdk);
    let names = table_names();
    provisioning::create_tables(&client, &names).await.expect("create tables");
    (DynamoStore::new(client, names.clone()), names)
}

/// An SQS queue standing for the email queue, with the given visibility timeout (seconds).
pub async fn sqs_queue(visibility_timeout_secs: u32) -> SqsQueue {
    sqs_queue_for(QueueId::Email, visibility_timeout_secs).await
}

/// A fresh SQS queue standing for `queue`.
pub async fn sqs_queue_for(queue: QueueId, visibility_timeout_secs: u32) -> SqsQueue {
    let sdk = sdk_config().await;
    let client = SqsClient::new(&sdk);
    let url = provisioning::create_queue(&client, &unique(&format!("ft-{}", queue.name())), 5, visibility_timeout_secs)
        .await
        .expect("create queue");
    SqsQueue::new(client, HashMap::from([(queue, url)]))
}

/// An SES mailer whose sender identity exists.
pub async fn ses_mailer() -> (SesMailer, String) {
    let sdk = sdk_config().await;
    let client = SesClient::new(&sdk);
    let from = format!("{}@fittrack.test", unique("sender"));
    provisioning::create_email_identity(&client, &from).await.expect("create identity");
    (SesMailer::new(client, &from).expect("sender"), from)
}

/// Every message the emulator's SES has accepted, as JSON.
pub async fn ses_sent_messages() -> Vec<serde_json::Value> {
    let data: serde_json::Value =
        reqwest::get(format!("{}/moto-api/data.json", endpoint())).await.unwrap().json().await.unwrap();
    let mut messages = Vec::new();
    collect_messages(&data["ses"], &mut messages);
    messages
}

fn collect_messages(node: &serde_json::Value, out: &mut Vec<serde_json::Value>) {
    match node {
        serde_json::Value::Object(map) => {
            if map.contains_key("body") || map.contains_key("Body") || map.contains_key("raw_data") {
                out.push(node.clone());
            }
            map.values().for_each(|v| collect_messages(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_messages(v, out)),
        _ => {}
    }
}
