use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};

use fittrack_email::Sender;

use fittrack_platform::ports::{MailError, Mailer, OutgoingEmail};

/// Sends through SES v2 as raw content: the same RFC 5322 bytes the local outbox writes, so what
/// is tested locally is what users receive.
#[derive(Clone)]
pub struct SesMailer {
    client: Client,
    from: Sender,
}

impl SesMailer {
    pub fn new(client: Client, from: &str) -> Result<Self, MailError> {
        Ok(Self { client, from: Sender::parse(from)? })
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let raw = RawMessage::builder()
            .data(Blob::new(self.from.mime(email)?))
            .build()
            .map_err(|e| MailError::Rejected(e.to_string()))?;
        let result = self
            .client
            .send_email()
            .from_email_address(self.from.address())
            .destination(Destination::builder().to_addresses(&email.to).build())
            .content(EmailContent::builder().raw(raw).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.code() {
                Some(
                    "MessageRejected"
                    | "MailFromDomainNotVerifiedException"
                    | "BadRequestException"
                    | "AccountSuspendedException",
                ) => Err(MailError::Rejected(format!(
                    "{}: {}",
                    err.code().unwrap_or_default(),
                    err.message().unwrap_or_default()
                ))),
                _ => Err(MailError::Temporary(DisplayErrorContext(&err).to_string())),
            },
        }
    }
}
