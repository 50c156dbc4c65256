//! In-process stand-ins for the Lambda event source mappings: poll a queue, hand each batch to
//! the same handler the Lambda uses, acknowledge what succeeded. Failed messages come back after
//! their visibility timeout, as with SQS partial batch responses.

use std::sync::Arc;
use std::time::Duration;

use fittrack_core::email;
use fittrack_core::ports::{Mailer, Queue, QueueId};
use tokio::sync::watch;

/// Runs the email worker until `shutdown` flips to true.
pub async fn run_email_worker(queue: Arc<dyn Queue>, mailer: Arc<dyn Mailer>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let batch = tokio::select! {
            batch = queue.receive(QueueId::Email, 10, Duration::from_secs(5)) => batch,
            _ = shutdown.changed() => return,
        };
        let messages = match batch {
            Ok(messages) => messages,
            Err(error) => {
                tracing::error!(%error, "email queue receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let batch: Vec<(&str, &str)> = messages.iter().map(|m| (m.id.as_str(), m.body.as_str())).collect();
        let failed = email::deliver_batch(&batch, mailer.as_ref()).await;
        for message in messages.iter().filter(|m| !failed.contains(&m.id)) {
            if let Err(error) = queue.ack(QueueId::Email, &message.receipt).await {
                tracing::error!(%error, message_id = message.id.as_str(), "ack failed; the email may be sent twice");
            }
        }
    }
}
