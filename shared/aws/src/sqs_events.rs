//! Glue for SQS-triggered Lambdas: the (message id, body) pairs of an event in, the batch item
//! failures (`ReportBatchItemFailures`) out, so each worker is only its own batch handler.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

/// The records that carry an id (only those can be reported back), with their bodies.
pub fn records(event: &SqsEvent) -> Vec<(&str, &str)> {
    event
        .records
        .iter()
        .filter_map(|r| Some((r.message_id.as_deref()?, r.body.as_deref().unwrap_or_default())))
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
