//! The email Lambda: a batch of SQS records in, SES sends out, and the ids of the records that
//! failed back to Lambda (`ReportBatchItemFailures`) so only those are retried. It links the
//! platform and the email capability only: no account, password or token code.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use fittrack_email::EmailDelivery;

/// Emails sent at once from one batch: well inside SES's default sending rate.
const CONCURRENCY: usize = 4;

pub async fn handle(event: SqsEvent, delivery: &Arc<EmailDelivery>) -> SqsBatchResponse {
    fittrack_aws::sqs_events::handle(&event, delivery, CONCURRENCY).await
}
