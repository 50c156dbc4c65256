//! RFC 5322 messages (multipart/alternative, text and HTML), built once and used by every
//! mailer: the outbox writes the bytes to a file, SES sends them as raw content.

use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};

use fittrack_platform::ports::{MailError, OutgoingEmail};

/// A validated sender address, e.g. `FitTrack <no-reply@fittrack.example>`.
#[derive(Debug, Clone)]
pub struct Sender(Mailbox);

impl Sender {
    /// Parses a sender, with or without a display name.
    ///
    /// # Errors
    /// [`MailError::Rejected`] when `from` is not a valid mailbox.
    pub fn parse(from: &str) -> Result<Self, MailError> {
        from.parse().map(Self).map_err(|e| MailError::Rejected(format!("sender address: {e}")))
    }

    /// The bare address, for APIs that want it apart from the display name.
    pub fn address(&self) -> String {
        self.0.email.to_string()
    }

    /// The complete message, headers and body.
    ///
    /// # Errors
    /// [`MailError::Rejected`] when the recipient address is not a valid mailbox or the message
    /// cannot be built.
    pub fn mime(&self, email: &OutgoingEmail) -> Result<Vec<u8>, MailError> {
        let to: Mailbox = email.to.parse().map_err(|e| MailError::Rejected(format!("recipient address: {e}")))?;
        let mut builder = lettre::Message::builder().from(self.0.clone()).to(to).subject(&email.subject);
        if let Some(url) = &email.unsubscribe_url {
            // Printable ASCII without spaces or angle brackets: nothing can break out of `<…>`.
            if url.is_empty() || !url.bytes().all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>') {
                return Err(MailError::Rejected("unsubscribe link is not a plain URL".into()));
            }
            builder = builder
                .raw_header(HeaderValue::new(LIST_UNSUBSCRIBE, format!("<{url}>")))
                .raw_header(HeaderValue::new(LIST_UNSUBSCRIBE_POST, "List-Unsubscribe=One-Click".to_owned()));
        }
        let message = builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(part(ContentType::TEXT_PLAIN, &email.text))
                    .singlepart(part(ContentType::TEXT_HTML, &email.html)),
            )
            .map_err(|e| MailError::Rejected(e.to_string()))?;
        Ok(message.formatted())
    }
}

/// RFC 2369 and RFC 8058: the link, and that a POST to it unsubscribes without a page.
const LIST_UNSUBSCRIBE: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe");
const LIST_UNSUBSCRIBE_POST: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe-Post");

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
