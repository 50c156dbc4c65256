//! The email port.

use async_trait::async_trait;

/// A rendered message: plain text and HTML alternatives of the same content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Worth retrying later (throttling, network).
    #[error("temporary mail failure: {0}")]
    Temporary(String),
    /// Will never succeed as is (rejected address, malformed message).
    #[error("mail rejected: {0}")]
    Rejected(String),
}

/// # Contract (checked by `tests/contract/mailer.rs` against every adapter)
/// - A successful `send` MUST hand the message, with both alternatives, to the backend.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError>;
}
