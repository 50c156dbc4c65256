//! The local mailer: every email becomes an RFC 5322 `.eml` file (multipart/alternative with the
//! plain-text and HTML parts) in the outbox folder, readable by any mail client.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use lettre::Message;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};

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
        .multipart(MultiPart::alternative().singlepart(part(ContentType::TEXT_PLAIN, &email.text)).singlepart(part(ContentType::TEXT_HTML, &email.html)))
        .map_err(|e| MailError::Rejected(e.to_string()))
}

/// 8bit keeps links verbatim in the file (quoted-printable or base64 would hide `token=`), so the
/// outbox can be read and grepped as is. RFC 2045 allows 8bit for CRLF lines of at most 998 bytes
/// without NUL; anything else is left to lettre's choice of encoding.
fn part(content_type: ContentType, text: &str) -> SinglePart {
    let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
    let fits_8bit = !crlf.contains('\0') && crlf.split("\r\n").all(|line| line.len() <= 998);
    let body = if fits_8bit {
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::EightBit)
    } else {
        Body::new(text.to_owned())
    };
    SinglePart::builder().header(content_type).body(body)
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
