//! The local mailer: every email becomes an RFC 5322 `.eml` file (multipart/alternative with the
//! plain-text and HTML parts) in the outbox folder, readable by any mail client.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use fittrack_email::Sender;
use fittrack_platform::ports::{MailError, Mailer, OutgoingEmail};

pub struct OutboxMailer {
    dir: PathBuf,
    from: Sender,
}

impl OutboxMailer {
    pub fn new(dir: impl Into<PathBuf>, from: &str) -> Result<Self, MailError> {
        Ok(Self { dir: dir.into(), from: Sender::parse(from)? })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let message = self.from.mime(email)?;
        let io = |e: std::io::Error| MailError::Temporary(e.to_string());
        tokio::fs::create_dir_all(&self.dir).await.map_err(io)?;
        // Time-ordered names so `ls` shows the newest last.
        let name = format!("{}.eml", uuid::Uuid::now_v7());
        let tmp = self.dir.join(format!(".{name}.tmp"));
        tokio::fs::write(&tmp, message).await.map_err(io)?;
        // Rename so readers never see half a message.
        tokio::fs::rename(&tmp, self.dir.join(&name)).await.map_err(io)?;
        Ok(())
    }
}
