//! Glue for SQS-triggered Lambdas: the deliveries of an event in, the batch item failures
//! (`ReportBatchItemFailures`) out; what happens in between is `fittrack_platform::batch`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use fittrack_platform::batch::{Delivery, MessageHandler, run_batch};
use fittrack_platform::messages::Message;

/// The records that carry an id (only those can be reported back), with their bodies.
pub fn deliveries(event: &SqsEvent) -> Vec<Delivery<'_>> {
    event
        .records
        .iter()
        .filter_map(|r| Some(Delivery { id: r.message_id.as_deref()?, body: r.body.as_deref().unwrap_or_default() }))
        .collect()
}

/// The response that tells Lambda to retry only the failed messages.
pub fn failures(failed: impl IntoIterator<Item = String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for id in failed {
        response.add_failure(id);
    }
    response
}

/// One SQS event through `handler`: what every SQS-triggered function's handler is.
pub async fn handle<M, H>(event: &SqsEvent, handler: &std::sync::Arc<H>, concurrency: usize) -> SqsBatchResponse
where
    M: Message,
    H: MessageHandler<M>,
{
    failures(run_batch(handler, &deliveries(event), concurrency).await)
}
