//! The one batch runner behind every queue consumer: SQS-triggered Lambdas hand it the event's
//! records, `fittrack serve` hands it what it received from the local queue. It parses each body
//! into the consumer's message type, runs each message in its own task (a panic fails only that
//! message), handles a message id that appears twice in a batch once, and returns the ids to
//! retry; SQS's partial batch response (`ReportBatchItemFailures`) and the local consumer both
//! redeliver exactly those.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;

use crate::messages::Message;

/// A message that came off a queue: its id and body.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub id: &'a str,
    pub body: &'a str,
}

/// Why a message was not handled. Either way it is retried; after the queue's retries it lands in
/// the dead-letter queue.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Worth retrying: the store, a queue or a mail service failed.
    #[error("{0}")]
    Retry(String),
}

impl HandlerError {
    pub fn retry(error: impl std::fmt::Display) -> Self {
        Self::Retry(error.to_string())
    }
}

/// What a consumer does with one message of type `M`. Handlers are idempotent: delivery is at
/// least once.
#[async_trait]
pub trait MessageHandler<M: Message>: Send + Sync + 'static {
    /// The consumer's name in logs.
    const NAME: &'static str;

    /// Handles one message.
    ///
    /// # Errors
    /// [`HandlerError`] when the message must be delivered again.
    async fn handle(&self, message: M) -> Result<(), HandlerError>;

    /// Runs once after every batch, whatever its messages' outcomes: for consumers that gather
    /// work across a batch (the leaderboards apply what a batch staged in one go).
    async fn after_batch(&self) {}
}

/// Runs `deliveries` through `handler`, at most `concurrency` at a time; returns the ids that
/// failed (unparseable, failed or panicked) and must be delivered again.
pub async fn run_batch<M, H>(handler: &Arc<H>, deliveries: &[Delivery<'_>], concurrency: usize) -> Vec<String>
where
    M: Message,
    H: MessageHandler<M>,
{
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut ids = std::collections::HashMap::new();
    let mut failed = Vec::new();
    let mut seen = HashSet::new();
    for delivery in deliveries {
        if !seen.insert(delivery.id) {
            continue; // the same message twice in one batch: once is enough
        }
        let message = match serde_json::from_str::<M>(delivery.body) {
            Ok(message) => message,
            Err(error) => {
                // The body may hold an address: log the parse error's position, not its text.
                tracing::error!(
                    consumer = H::NAME,
                    message_id = delivery.id,
                    line = error.line(),
                    column = error.column(),
                    "unreadable message"
                );
                failed.push(delivery.id.to_owned());
                continue;
            }
        };
        let handler = Arc::clone(handler);
        let permits = Arc::clone(&permits);
        // Everything the handler logs names its message.
        let span = tracing::info_span!("message", consumer = H::NAME, message_id = delivery.id);
        let task = tasks.spawn(tracing::Instrument::instrument(
            async move {
                let _permit = permits.acquire_owned().await;
                handler.handle(message).await
            },
            span,
        ));
        ids.insert(task.id(), delivery.id.to_owned());
    }
    while let Some(joined) = tasks.join_next_with_id().await {
        let (task, outcome) = match joined {
            Ok((task, outcome)) => (task, outcome),
            Err(error) => (error.id(), Err(HandlerError::Retry("the handler panicked".into()))),
        };
        let id = ids.remove(&task).unwrap_or_default();
        if let Err(error) = outcome {
            tracing::error!(consumer = H::NAME, message_id = id.as_str(), %error, "message failed; it will be retried");
            failed.push(id);
        }
    }
    handler.after_batch().await;
    failed
}
