//! In-process stand-ins for the Lambda event source mappings: poll a queue, hand each batch to
//! the same handler the Lambda uses, acknowledge what succeeded. Failed messages come back after
//! their visibility timeout, as with SQS partial batch responses.

use std::sync::Arc;
use std::time::Duration;

use fittrack_core::email;
use fittrack_core::ports::{Mailer, Queue, QueueId, ReceivedMessage};
use fittrack_core::sync::SyncService;
use tokio::sync::watch;

/// Runs the email worker until `shutdown` flips to true.
pub async fn run_email_worker(queue: Arc<dyn Queue>, mailer: Arc<dyn Mailer>, shutdown: watch::Receiver<bool>) {
    run_worker(queue, QueueId::Email, shutdown, move |batch| {
        let mailer = Arc::clone(&mailer);
        async move { email::deliver_batch(&as_pairs(&batch), mailer.as_ref()).await }
    })
    .await;
}

/// Runs the sync worker until `shutdown` flips to true.
pub async fn run_sync_worker(queue: Arc<dyn Queue>, sync: SyncService, shutdown: watch::Receiver<bool>) {
    run_worker(queue, QueueId::Sync, shutdown, move |batch| {
        let sync = sync.clone();
        async move { sync.run_batch(&as_pairs(&batch)).await }
    })
    .await;
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

fn as_pairs(batch: &[ReceivedMessage]) -> Vec<(&str, &str)> {
    batch.iter().map(|m| (m.id.as_str(), m.body.as_str())).collect()
}

/// Polls `queue_id` and hands each batch to `handle`, which returns the ids that failed; the
/// rest are acknowledged. Failed ones come back after their visibility timeout.
async fn run_worker<F, Fut>(queue: Arc<dyn Queue>, queue_id: QueueId, mut shutdown: watch::Receiver<bool>, handle: F)
where
    F: Fn(Vec<ReceivedMessage>) -> Fut,
    Fut: std::future::Future<Output = Vec<String>>,
{
    loop {
        let batch = tokio::select! {
            batch = queue.receive(queue_id, 10, Duration::from_secs(5)) => batch,
            _ = shutdown.changed() => return,
        };
        let messages = match batch {
            Ok(messages) => messages,
            Err(error) => {
                tracing::error!(%error, queue = queue_id.name(), "queue receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let failed = handle(messages.clone()).await;
        for message in messages.iter().filter(|m| !failed.contains(&m.id)) {
            if let Err(error) = queue.ack(queue_id, &message.receipt).await {
                tracing::error!(%error, message_id = message.id.as_str(), "ack failed; the message will be handled twice");
            }
        }
    }
}
