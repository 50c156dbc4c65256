//! The email Lambda: a batch of SQS records in, SES sends out, and the ids of the records that
//! failed back to Lambda (`ReportBatchItemFailures`) so only those are retried.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use fittrack_aws::sqs_events;
use fittrack_core::email::deliver_batch;
use fittrack_core::ports::Mailer;

pub async fn handle(event: SqsEvent, mailer: &dyn Mailer) -> SqsBatchResponse {
    sqs_events::failures(deliver_batch(&sqs_events::records(&event), mailer).await)
}
