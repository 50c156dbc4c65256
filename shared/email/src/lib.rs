//! Transactional email: jobs travel through the email queue as JSON, and the email worker renders
//! them with compiled templates (plain text and HTML) and hands them to the [`Mailer`].
//!
//! Jobs carry the recipient address, so the queue is encrypted at rest (SSE) and the worker never
//! logs a body; it logs the template name and message id only.

mod mime;

pub use mime::Sender;

use std::sync::Arc;

use askama::Template;
use async_trait::async_trait;

use fittrack_platform::batch::{HandlerError, MessageHandler};
pub use fittrack_platform::messages::{EmailJob, EmailTemplate};
use fittrack_platform::ports::{MailError, Mailer, OutgoingEmail};

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

/// The notification emails: one line about the event, and the one-click unsubscribe link of
/// the optional ones.
macro_rules! notification_templates {
    ($($text:ident = $text_path:literal, $html:ident = $html_path:literal;)*) => {$(
        #[derive(Template)]
        #[template(path = $text_path)]
        struct $text<'a> { display_name: &'a str, link: &'a str, detail: &'a str, unsubscribe: Option<&'a str> }
        #[derive(Template)]
        #[template(path = $html_path)]
        struct $html<'a> { display_name: &'a str, link: &'a str, detail: &'a str, unsubscribe: Option<&'a str> }
    )*};
}

notification_templates! {
    AlternateText = "email/alternate_selected.txt", AlternateHtml = "email/alternate_selected.html";
    AddressText = "email/prize_address_invalid.txt", AddressHtml = "email/prize_address_invalid.html";
    ShippedText = "email/prize_shipped.txt", ShippedHtml = "email/prize_shipped.html";
    DeliveredText = "email/prize_delivered.txt", DeliveredHtml = "email/prize_delivered.html";
    SuspendedText = "email/account_suspended.txt", SuspendedHtml = "email/account_suspended.html";
    ReactivatedText = "email/account_reactivated.txt", ReactivatedHtml = "email/account_reactivated.html";
    BannedText = "email/account_banned.txt", BannedHtml = "email/account_banned.html";
    AdjustedText = "email/points_adjusted.txt", AdjustedHtml = "email/points_adjusted.html";
}

email_templates! {
    VerifyText = "email/verify_email.txt", VerifyHtml = "email/verify_email.html";
    ResetText = "email/password_reset.txt", ResetHtml = "email/password_reset.html";
    ExistsText = "email/account_exists.txt", ExistsHtml = "email/account_exists.html";
    ChangedText = "email/password_changed.txt", ChangedHtml = "email/password_changed.html";
    UnlockText = "email/unlock.txt", UnlockHtml = "email/unlock.html";
    WinnerText = "email/drawing_winner.txt", WinnerHtml = "email/drawing_winner.html";
    ReminderText = "email/prize_claim_reminder.txt", ReminderHtml = "email/prize_claim_reminder.html";
}

/// The email `job` asks for: subject, plain text and HTML, rendered from compiled templates.
///
/// # Errors
/// A template that fails to render.
pub fn render(job: &EmailJob) -> Result<OutgoingEmail, askama::Error> {
    let (d, l) = (job.display_name.as_str(), job.link.as_str());
    let (subject, text, html) = match job.template {
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
        EmailTemplate::DrawingWinner => (
            "You won a prize in a FitTrack drawing",
            WinnerText { display_name: d, link: l }.render()?,
            WinnerHtml { display_name: d, link: l }.render()?,
        ),
        EmailTemplate::PrizeClaimReminder => (
            "Your FitTrack prize is waiting: confirm your address",
            ReminderText { display_name: d, link: l }.render()?,
            ReminderHtml { display_name: d, link: l }.render()?,
        ),
        notification => return render_notification(job, notification),
    };
    Ok(OutgoingEmail { to: job.to.clone(), subject: subject.to_owned(), text, html, unsubscribe_url: None })
}

fn render_notification(job: &EmailJob, template: EmailTemplate) -> Result<OutgoingEmail, askama::Error> {
    let (d, l) = (job.display_name.as_str(), job.link.as_str());
    let (detail, unsubscribe) = (job.detail.as_deref().unwrap_or_default(), job.unsubscribe_url.as_deref());
    macro_rules! both {
        ($subject:literal, $text:ident, $html:ident) => {
            (
                $subject,
                $text { display_name: d, link: l, detail, unsubscribe }.render()?,
                $html { display_name: d, link: l, detail, unsubscribe }.render()?,
            )
        };
    }
    let (subject, text, html) = match template {
        EmailTemplate::AlternateSelected => both!("A FitTrack prize is yours", AlternateText, AlternateHtml),
        EmailTemplate::PrizeAddressInvalid => {
            both!("We could not ship your FitTrack prize", AddressText, AddressHtml)
        }
        EmailTemplate::PrizeShipped => both!("Your FitTrack prize is on its way", ShippedText, ShippedHtml),
        EmailTemplate::PrizeDelivered => both!("Your FitTrack prize was delivered", DeliveredText, DeliveredHtml),
        EmailTemplate::AccountSuspended => both!("Your FitTrack account is suspended", SuspendedText, SuspendedHtml),
        EmailTemplate::AccountReactivated => {
            both!("Your FitTrack account is active again", ReactivatedText, ReactivatedHtml)
        }
        EmailTemplate::AccountBanned => both!("Your FitTrack account is closed", BannedText, BannedHtml),
        EmailTemplate::PointsAdjusted => both!("Your FitTrack points were adjusted", AdjustedText, AdjustedHtml),
        other => return Err(askama::Error::Custom(format!("{} is not a notification email", other.name()).into())),
    };
    Ok(OutgoingEmail {
        to: job.to.clone(),
        subject: subject.to_owned(),
        text,
        html,
        unsubscribe_url: job.unsubscribe_url.clone(),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The message can never be delivered; it goes to the dead-letter queue after its retries.
    #[error("malformed email job: {}", fittrack_platform::ports::redact_addresses(.0))]
    Malformed(String),
    #[error(transparent)]
    Mail(#[from] MailError),
}

/// The email worker: renders each job and hands it to the mailer. The Lambda and the local
/// consumer only move messages in and out (see [`fittrack_platform::batch`]).
pub struct EmailDelivery {
    mailer: Arc<dyn Mailer>,
}

impl EmailDelivery {
    pub fn new(mailer: Arc<dyn Mailer>) -> Self {
        Self { mailer }
    }

    /// Renders and sends one job; returns the template's name (what logs may show of it).
    ///
    /// # Errors
    /// [`DeliveryError::Malformed`] for a job that cannot render, [`DeliveryError::Mail`] when the
    /// mail service refuses or fails.
    pub async fn deliver(&self, job: &EmailJob) -> Result<&'static str, DeliveryError> {
        let email = render(job).map_err(|e| DeliveryError::Malformed(e.to_string()))?;
        self.mailer.send(&email).await?;
        Ok(job.template.name())
    }
}

#[async_trait]
impl MessageHandler<EmailJob> for EmailDelivery {
    const NAME: &'static str = "email";

    async fn handle(&self, job: EmailJob) -> Result<(), HandlerError> {
        let template = self.deliver(&job).await.map_err(HandlerError::retry)?;
        tracing::info!(template, "email sent");
        Ok(())
    }
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
        let email = render(&job).unwrap();
        assert!(email.text.contains("Hi <Jo & co>,"));
        assert!(email.text.contains("token=abc"));
        assert!(email.html.contains("Hi &#60;Jo &#38; co&#62;,"), "{}", email.html);
        assert!(email.html.contains("token=abc"));
        assert_eq!(email.to, "jo@example.com");
    }

    #[test]
    fn every_notification_email_renders_its_detail_escaped_and_its_unsubscribe_link() {
        for template in [
            EmailTemplate::AlternateSelected,
            EmailTemplate::PrizeAddressInvalid,
            EmailTemplate::PrizeShipped,
            EmailTemplate::PrizeDelivered,
            EmailTemplate::AccountSuspended,
            EmailTemplate::AccountReactivated,
            EmailTemplate::AccountBanned,
            EmailTemplate::PointsAdjusted,
        ] {
            let mut job = EmailJob::new(template, "jo@example.com", "Jo", "https://app.example/x");
            job.detail = Some("Carrier <UPS> & co".into());
            job.unsubscribe_url = Some("https://api.example/u?token=t".into());
            let email = render(&job).unwrap();
            assert!(email.text.contains("Carrier <UPS> & co"), "{}", template.name());
            assert!(email.html.contains("Carrier &#60;UPS&#62; &#38; co"), "{}: {}", template.name(), email.html);
            assert!(email.text.contains("https://api.example/u?token=t") && email.html.contains("Stop these emails"));
            assert_eq!(email.unsubscribe_url.as_deref(), Some("https://api.example/u?token=t"));
            job.unsubscribe_url = None;
            assert!(!render(&job).unwrap().html.contains("Stop these emails"), "essential: no link");
        }
        let mut other = EmailJob::new(EmailTemplate::VerifyEmail, "jo@example.com", "Jo", "l");
        other.unsubscribe_url = Some("https://api.example/u".into());
        assert_eq!(render(&other).unwrap().unsubscribe_url, None, "account emails never carry one");
    }

    #[test]
    fn jobs_round_trip_through_json() {
        let job = EmailJob::new(EmailTemplate::PasswordReset, "a@b.co", "Al", "l");
        let json = serde_json::to_string(&job).unwrap();
        assert!(json.contains(r#""template":"password_reset""#));
        assert_eq!(serde_json::from_str::<EmailJob>(&json).unwrap(), job);
    }
}
