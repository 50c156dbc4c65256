//! The email worker invoked with an SQS event: good records are sent, a poison record is reported
//! back as a batch item failure so only it is retried.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use fittrack_email::EmailDelivery;
use fittrack_local::OutboxMailer;

const FIXTURE: &str = include_str!("fixtures/sqs_batch.json");

#[tokio::test]
async fn reports_only_the_failed_record() {
    let outbox = tempfile::tempdir().unwrap();
    let mailer = OutboxMailer::new(outbox.path(), "FitTrack <no-reply@fittrack.test>").unwrap();
    let delivery = Arc::new(EmailDelivery::new(Arc::new(mailer)));
    let event: SqsEvent = serde_json::from_str(FIXTURE).unwrap();

    let response = email_worker::handle(event, &delivery).await;

    let wire = serde_json::to_value(&response).unwrap();
    assert_eq!(
        wire,
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "22222222-2222-2222-2222-222222222222"}]})
    );
    let sent: Vec<String> = std::fs::read_dir(outbox.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().any(|m| m.contains("To: ada@example.com") && m.contains("token=first-token")));
    assert!(sent.iter().any(|m| m.contains("To: grace@example.com") && m.contains("token=third-token")));
}

#[tokio::test]
async fn a_clean_batch_reports_no_failures() {
    let outbox = tempfile::tempdir().unwrap();
    let mailer = OutboxMailer::new(outbox.path(), "FitTrack <no-reply@fittrack.test>").unwrap();
    let delivery = Arc::new(EmailDelivery::new(Arc::new(mailer)));
    let mut event: SqsEvent = serde_json::from_str(FIXTURE).unwrap();
    event.records.remove(1);
    assert!(email_worker::handle(event, &delivery).await.batch_item_failures.is_empty());
}
