use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use fittrack_core::ports::{MailError, Mailer, OutgoingEmail};

/// Sends through SES v2 with Simple content (subject, text and HTML rendered by our templates).
#[derive(Clone)]
pub struct SesMailer {
    client: Client,
    from: String,
}

impl SesMailer {
    pub fn new(client: Client, from: impl Into<String>) -> Self {
        Self { client, from: from.into() }
    }
}

fn content(data: &str) -> Result<Content, MailError> {
    Content::builder().data(data).charset("UTF-8").build().map_err(|e| MailError::Rejected(e.to_string()))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(Body::builder().text(content(&email.text)?).html(content(&email.html)?).build())
            .build();
        let result = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.code() {
                Some("MessageRejected" | "MailFromDomainNotVerifiedException" | "BadRequestException" | "AccountSuspendedException") => {
                    Err(MailError::Rejected(format!("{}: {}", err.code().unwrap_or_default(), err.message().unwrap_or_default())))
                }
                _ => Err(MailError::Temporary(DisplayErrorContext(&err).to_string())),
            },
        }
    }
}
