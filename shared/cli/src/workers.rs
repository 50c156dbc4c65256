//! In-process stand-ins for the Lambda event source mappings: poll a queue, hand each batch to
//! the same handler the Lambda uses, acknowledge what succeeded. Failed messages come back after
//! their visibility timeout, as with SQS partial batch responses.

use std::sync::Arc;
use std::time::Duration;

use fittrack_platform::batch::{Delivery, MessageHandler, run_batch};
use fittrack_platform::messages::Message;
use fittrack_platform::ports::Queue;
use tokio::sync::watch;

/// Polls the queue of message type `M` and hands each batch to `handler` through the same batch
/// runner the Lambdas use; what succeeded is acknowledged, what failed comes back after its
/// visibility timeout (and lands in the dead letters after its retries), as with SQS.
pub async fn run_consumer<M, H>(
    queue: Arc<dyn Queue>,
    handler: Arc<H>,
    concurrency: usize,
    mut shutdown: watch::Receiver<bool>,
) where
    M: Message,
    H: MessageHandler<M>,
{
    loop {
        let batch = tokio::select! {
            batch = queue.receive(M::QUEUE, 10, Duration::from_secs(5)) => batch,
            _ = shutdown.changed() => return,
        };
        let messages = match batch {
            Ok(messages) => messages,
            Err(error) => {
                tracing::error!(%error, queue = M::QUEUE.name(), "queue receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let deliveries: Vec<_> = messages.iter().map(|m| Delivery { id: &m.id, body: &m.body }).collect();
        let failed = run_batch(&handler, &deliveries, concurrency).await;
        for message in messages.iter().filter(|m| !failed.contains(&m.id)) {
            if let Err(error) = queue.ack(M::QUEUE, &message.receipt).await {
                tracing::error!(%error, message_id = message.id.as_str(), "ack failed; the message will be handled twice");
            }
        }
    }
}

/// Runs `job` on `state` every `tick` until `shutdown` flips to true, as an EventBridge schedule
/// does on AWS. A failed run is logged; the next tick tries again.
pub async fn run_schedule<S, F, Fut, E>(
    name: &'static str,
    tick: Duration,
    mut shutdown: watch::Receiver<bool>,
    state: S,
    job: F,
) where
    S: Clone,
    F: Fn(S) -> Fut,
    Fut: std::future::Future<Output = Result<usize, E>>,
    E: std::fmt::Display,
{
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {
                if let Err(error) = job(state.clone()).await {
                    tracing::error!(%error, job = name, "scheduled job failed");
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}
