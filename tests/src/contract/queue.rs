use std::time::Duration;

use fittrack_platform::ports::{Queue, QueueId};

async fn drain(queue: &dyn Queue) {
    while !queue.receive(QueueId::Email, 10, Duration::from_millis(200)).await.unwrap().is_empty() {}
}

/// An acknowledged message is not delivered again.
pub async fn acknowledged_messages_are_gone(queue: &dyn Queue) {
    queue.send(QueueId::Email, "hello").await.unwrap();
    let received = queue.receive(QueueId::Email, 10, Duration::from_secs(2)).await.unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body, "hello");
    assert_eq!(received[0].receive_count, 1);
    queue.ack(QueueId::Email, &received[0].receipt).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(queue.receive(QueueId::Email, 10, Duration::from_millis(300)).await.unwrap().is_empty());
}

/// A message received but not acknowledged is invisible for the visibility timeout (1 s in these
/// tests), then delivered again with a higher receive count.
pub async fn unacknowledged_messages_are_redelivered(queue: &dyn Queue) {
    drain(queue).await;
    queue.send(QueueId::Email, "retry me").await.unwrap();
    let first = queue.receive(QueueId::Email, 10, Duration::from_secs(2)).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        queue.receive(QueueId::Email, 10, Duration::from_millis(100)).await.unwrap().is_empty(),
        "visible while in flight"
    );
    let mut again = Vec::new();
    for _ in 0..10 {
        again = queue.receive(QueueId::Email, 10, Duration::from_secs(1)).await.unwrap();
        if !again.is_empty() {
            break;
        }
    }
    assert_eq!(again.len(), 1, "not redelivered");
    assert_eq!(again[0].id, first[0].id);
    assert_eq!(again[0].body, "retry me");
    assert!(again[0].receive_count >= 2);
    queue.ack(QueueId::Email, &again[0].receipt).await.unwrap();
}

/// A released message (a failed attempt) is visible again at once.
pub async fn released_messages_come_back_at_once(queue: &dyn Queue) {
    drain(queue).await;
    queue.send(QueueId::Email, "release me").await.unwrap();
    let first = queue.receive(QueueId::Email, 1, Duration::from_secs(2)).await.unwrap();
    queue.release(QueueId::Email, &first[0].receipt).await.unwrap();
    let again = queue.receive(QueueId::Email, 1, Duration::from_millis(500)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, first[0].id);
    queue.ack(QueueId::Email, &again[0].receipt).await.unwrap();
}

/// Messages over SQS's 256 KiB limit are refused by every adapter.
pub async fn oversized_messages_are_refused(queue: &dyn Queue) {
    let big = "x".repeat(256 * 1024 + 1);
    assert!(queue.send(QueueId::Email, &big).await.is_err());
}
