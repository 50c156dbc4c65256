//! Transactional email: jobs travel through the email queue as JSON, and the email worker renders
//! them with compiled templates (plain text and HTML) and hands them to the [`Mailer`].
//!
//! Jobs carry the recipient address, so the queue is encrypted at rest (SSE) and the worker never
//! logs a body; it logs the template name and message id only.

mod mime;

pub use mime::Sender;

use askama::Template;
use serde::{Deserialize, Serialize};

use crate::ports::{MailError, Mailer, OutgoingEmail};

/// One email to send: which template, to whom, and the link it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailJob {
    pub template: EmailTemplate,
    pub to: String,
    pub display_name: String,
    pub link: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailTemplate {
    VerifyEmail,
    PasswordReset,
    /// Sent instead of a second account when someone registers an address that has one.
    AccountExists,
    PasswordChanged,
    /// A single-use way to sign in while the address is locked out.
    Unlock,
}

macro_rules! email_templates {
    ($($text:ident = $text_path:literal, $html:ident = $html_path:literal;)*) => {$(
        #[derive(Template)]
        #[template(path = $text_path)]
        struct $text<'a> { display_name: &'a str, link: &'a str }
        #[derive(Template)]
        #[template(path = $html_path)]
        struct $html<'a> { display_name: &'a str, link: &'a str }
    )*};
}

email_templates! {
    VerifyText = "email/verify_email.txt", VerifyHtml = "email/verify_email.html";
    ResetText = "email/password_reset.txt", ResetHtml = "email/password_reset.html";
    ExistsText = "email/account_exists.txt", ExistsHtml = "email/account_exists.html";
    ChangedText = "email/password_changed.txt", ChangedHtml = "email/password_changed.html";
    UnlockText = "email/unlock.txt", UnlockHtml = "email/unlock.html";
}

impl EmailTemplate {
    pub fn name(self) -> &'static str {
        match self {
            EmailTemplate::VerifyEmail => "verify_email",
            EmailTemplate::PasswordReset => "password_reset",
            EmailTemplate::AccountExists => "account_exists",
            EmailTemplate::PasswordChanged => "password_changed",
            EmailTemplate::Unlock => "unlock",
        }
    }
}

impl EmailJob {
    pub fn new(
        template: EmailTemplate,
        to: impl Into<String>,
        display_name: impl Into<String>,
        link: impl Into<String>,
    ) -> Self {
        Self { template, to: to.into(), display_name: display_name.into(), link: link.into() }
    }

    pub fn render(&self) -> Result<OutgoingEmail, askama::Error> {
        let (d, l) = (self.display_name.as_str(), self.link.as_str());
        let (subject, text, html) = match self.template {
            EmailTemplate::VerifyEmail => (
                "Confirm your FitTrack email",
                VerifyText { display_name: d, link: l }.render()?,
                VerifyHtml { display_name: d, link: l }.render()?,
            ),
            EmailTemplate::PasswordReset => (
                "Reset your FitTrack password",
                ResetText { display_name: d, link: l }.render()?,
                ResetHtml { display_name: d, link: l }.render()?,
            ),
            EmailTemplate::AccountExists => (
                "You already have a FitTrack account",
                ExistsText { display_name: d, link: l }.render()?,
                ExistsHtml { display_name: d, link: l }.render()?,
            ),
            EmailTemplate::PasswordChanged => (
                "Your FitTrack password was changed",
                ChangedText { display_name: d, link: l }.render()?,
                ChangedHtml { display_name: d, link: l }.render()?,
            ),
            EmailTemplate::Unlock => (
                "Sign in to FitTrack despite the lock",
                UnlockText { display_name: d, link: l }.render()?,
                UnlockHtml { display_name: d, link: l }.render()?,
            ),
        };
        Ok(OutgoingEmail { to: self.to.clone(), subject: subject.to_owned(), text, html })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The message can never be delivered; it goes to the dead-letter queue after its retries.
    #[error("malformed email job: {}", crate::ports::redact_addresses(.0))]
    Malformed(String),
    #[error(transparent)]
    Mail(#[from] MailError),
}

/// Renders and sends one queued job. This is the whole of the email worker's logic; the Lambda
/// and the local dispatcher only move messages in and out.
pub async fn deliver(body: &str, mailer: &dyn Mailer) -> Result<&'static str, DeliveryError> {
    let job: EmailJob = serde_json::from_str(body).map_err(|e| DeliveryError::Malformed(e.to_string()))?;
    let email = job.render().map_err(|e| DeliveryError::Malformed(e.to_string()))?;
    mailer.send(&email).await?;
    Ok(job.template.name())
}

/// Delivers a batch, returning the ids of the messages that failed (to be retried).
pub async fn deliver_batch(messages: &[(&str, &str)], mailer: &dyn Mailer) -> Vec<String> {
    let mut failed = Vec::new();
    for &(id, body) in messages {
        match deliver(body, mailer).await {
            Ok(template) => tracing::info!(message_id = id, template, "email sent"),
            Err(error) => {
                tracing::warn!(message_id = id, %error, "email delivery failed");
                failed.push(id.to_owned());
            }
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_both_alternatives_and_escapes_html() {
        let job = EmailJob::new(
            EmailTemplate::VerifyEmail,
            "jo@example.com",
            "<Jo & co>",
            "https://app.example/verify-email?token=abc",
        );
        let email = job.render().unwrap();
        assert!(email.text.contains("Hi <Jo & co>,"));
        assert!(email.text.contains("token=abc"));
        assert!(email.html.contains("Hi &#60;Jo &#38; co&#62;,"), "{}", email.html);
        assert!(email.html.contains("token=abc"));
        assert_eq!(email.to, "jo@example.com");
    }

    #[test]
    fn jobs_round_trip_through_json() {
        let job = EmailJob::new(EmailTemplate::PasswordReset, "a@b.co", "Al", "l");
        let json = serde_json::to_string(&job).unwrap();
        assert!(json.contains(r#""template":"password_reset""#));
        assert_eq!(serde_json::from_str::<EmailJob>(&json).unwrap(), job);
    }
}
