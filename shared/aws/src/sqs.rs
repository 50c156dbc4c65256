use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{DisplayErrorContext, SdkError};
use aws_sdk_sqs::types::MessageSystemAttributeName;

use fittrack_platform::ports::queue::MAX_MESSAGE_BYTES;
use fittrack_platform::ports::{Queue, QueueError, QueueId, ReceivedMessage};

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    urls: HashMap<QueueId, String>,
}

fn unavailable<E: std::error::Error + 'static, R: std::fmt::Debug>(err: SdkError<E, R>) -> QueueError {
    QueueError::Unavailable(DisplayErrorContext(&err).to_string())
}

impl SqsQueue {
    /// `urls` maps each logical queue to its SQS queue URL.
    pub fn new(client: Client, urls: HashMap<QueueId, String>) -> Self {
        Self { client, urls }
    }

    fn url(&self, queue: QueueId) -> Result<&str, QueueError> {
        self.urls
            .get(&queue)
            .map(String::as_str)
            .ok_or_else(|| QueueError::Unavailable(format!("no URL for queue {}", queue.name())))
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, queue: QueueId, body: &str) -> Result<(), QueueError> {
        if body.len() > MAX_MESSAGE_BYTES {
            return Err(QueueError::TooLarge(body.len()));
        }
        self.client.send_message().queue_url(self.url(queue)?).message_body(body).send().await.map_err(unavailable)?;
        Ok(())
    }

    async fn receive(&self, queue: QueueId, max: usize, wait: Duration) -> Result<Vec<ReceivedMessage>, QueueError> {
        let out = self
            .client
            .receive_message()
            .queue_url(self.url(queue)?)
            .max_number_of_messages(i32::try_from(max.clamp(1, 10)).unwrap_or(10))
            .wait_time_seconds(i32::try_from(wait.as_secs().min(20)).unwrap_or(20))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                let receive_count = m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1);
                Some(ReceivedMessage {
                    id: m.message_id?,
                    receipt: m.receipt_handle?,
                    body: m.body.unwrap_or_default(),
                    receive_count,
                })
            })
            .collect())
    }

    async fn ack(&self, queue: QueueId, receipt: &str) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(self.url(queue)?)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn release(&self, queue: QueueId, receipt: &str) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(self.url(queue)?)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
