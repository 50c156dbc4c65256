//! The queue port: at-least-once delivery with visibility timeouts, as SQS provides.

use std::time::Duration;

use async_trait::async_trait;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueId {
    /// Email jobs for the email worker.
    Email,
    /// One job per user and tracker for the sync worker.
    Sync,
    /// Point events relayed from the ledger's outbox, for the leaderboards.
    PointEvents,
}

impl QueueId {
    pub fn name(self) -> &'static str {
        match self {
            QueueId::Email => "email",
            QueueId::Sync => "sync",
            QueueId::PointEvents => "point-events",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub id: String,
    /// Proves this receipt; acknowledging with an older receipt after redelivery has no effect.
    pub receipt: String,
    pub body: String,
    /// How many times the message has been received, this time included.
    pub receive_count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("message too large ({0} bytes)")]
    TooLarge(usize),
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    /// The message could not be written as a queue body (a bug, not worth retrying).
    #[error("message not serialisable: {0}")]
    Unserialisable(String),
}

/// # Contract (checked by `tests/contract/queue.rs` against every adapter)
/// - A sent message MUST be received at least once.
/// - A received message MUST be invisible to other receivers until its visibility timeout ends,
///   then it MUST be delivered again unless it was acknowledged.
/// - `release` MUST make a received message visible again at once (a failed attempt).
#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends `body` on `queue`.
    ///
    /// # Errors
    /// [`QueueError::TooLarge`] for a body over [`MAX_MESSAGE_BYTES`]; [`QueueError::Unavailable`] when the
    /// backend fails.
    async fn send(&self, queue: QueueId, body: &str) -> Result<(), QueueError>;
    /// Waits up to `wait` for at least one message, returning at most `max`.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`] when the backend fails.
    async fn receive(&self, queue: QueueId, max: usize, wait: Duration) -> Result<Vec<ReceivedMessage>, QueueError>;
    /// Deletes a received message by its receipt; an outdated receipt has no effect.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`] when the backend fails.
    async fn ack(&self, queue: QueueId, receipt: &str) -> Result<(), QueueError>;
    /// Makes a received message visible again at once (a failed attempt).
    ///
    /// # Errors
    /// [`QueueError::Unavailable`] when the backend fails.
    async fn release(&self, queue: QueueId, receipt: &str) -> Result<(), QueueError>;
}

/// SQS's limit, enforced everywhere so local runs fail the same way.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
