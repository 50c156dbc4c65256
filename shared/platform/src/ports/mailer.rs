//! The email port.

use async_trait::async_trait;

/// A rendered message: plain text and HTML alternatives of the same content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The one-click unsubscribe link of an optional email: sent as `List-Unsubscribe` with
    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
    pub unsubscribe_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Worth retrying later (throttling, network).
    #[error("temporary mail failure: {}", redact_addresses(.0))]
    Temporary(String),
    /// Will never succeed as is (rejected address, malformed message).
    #[error("mail rejected: {}", redact_addresses(.0))]
    Rejected(String),
}

/// Providers name recipients in their error messages (SES: "Email address is not verified. The
/// following identities failed the check: ada@example.com"); errors end up in logs, addresses
/// must not. Every word with an `@` in it is replaced.
pub fn redact_addresses(text: &str) -> String {
    text.split(' ').map(|word| if word.contains('@') { "<address>" } else { word }).collect::<Vec<_>>().join(" ")
}

/// # Contract (checked by `tests/contract/mailer.rs` against every adapter)
/// - A successful `send` MUST hand the message, with both alternatives, to the backend.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Hands `email` to the mail service.
    ///
    /// # Errors
    /// [`MailError::Temporary`] when worth retrying (throttling, network); [`MailError::Rejected`] when it
    /// will never go as is (a rejected address, a malformed message).
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_errors_never_show_an_address() {
        let ses = "MessageRejected: Email address is not verified. The following identities failed the check in \
                   region US-EAST-1: ada.lovelace+fit@example.com, <bob@example.org>";
        for error in [MailError::Rejected(ses.into()), MailError::Temporary(ses.into())] {
            let shown = error.to_string();
            assert!(!shown.contains('@'), "{shown}");
            assert!(shown.contains("failed the check"), "the rest of the message stays: {shown}");
        }
    }
}
