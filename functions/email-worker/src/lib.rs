//! The email Lambda: a batch of SQS records in, SES sends out, and the ids of the records that
//! failed back to Lambda (`ReportBatchItemFailures`) so only those are retried.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use fittrack_core::email::deliver_batch;
use fittrack_core::ports::Mailer;

pub async fn handle(event: SqsEvent, mailer: &dyn Mailer) -> SqsBatchResponse {
    let batch: Vec<(&str, &str)> = event
        .records
        .iter()
        .filter_map(|r| Some((r.message_id.as_deref()?, r.body.as_deref().unwrap_or_default())))
        .collect();
    let mut response = SqsBatchResponse::default();
    for id in deliver_batch(&batch, mailer).await {
        response.add_failure(id);
    }
    response
}
