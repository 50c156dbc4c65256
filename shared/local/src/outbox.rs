//! The local mailer: every email becomes an RFC 5322 `.eml` file (multipart/alternative with the
//! plain-text and HTML parts) in the outbox folder, readable by any mail client.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};

use fittrack_core::ports::{MailError, Mailer, OutgoingEmail};

pub struct OutboxMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl OutboxMailer {
    pub fn new(dir: impl Into<PathBuf>, from: &str) -> Result<Self, MailError> {
        let from = from.parse().map_err(|e| MailError::Rejected(format!("sender address: {e}")))?;
        Ok(Self { dir: dir.into(), from })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Builds the MIME message; shared by the outbox and anything else that needs raw RFC 5322 bytes.
pub fn build_message(from: &Mailbox, email: &OutgoingEmail) -> Result<Message, MailError> {
    let to: Mailbox = email.to.parse().map_err(|e| MailError::Rejected(format!("recipient address: {e}")))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&email.subject)
        .multipart(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone()))
        .map_err(|e| MailError::Rejected(e.to_string()))
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let message = build_message(&self.from, email)?;
        let io = |e: std::io::Error| MailError::Temporary(e.to_string());
        tokio::fs::create_dir_all(&self.dir).await.map_err(io)?;
        // Time-ordered names so `ls` shows the newest last.
        let name = format!("{}.eml", uuid::Uuid::now_v7());
        let tmp = self.dir.join(format!(".{name}.tmp"));
        tokio::fs::write(&tmp, message.formatted()).await.map_err(io)?;
        // Rename so readers never see half a message.
        tokio::fs::rename(&tmp, self.dir.join(&name)).await.map_err(io)?;
        Ok(())
    }
}
