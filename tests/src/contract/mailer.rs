use std::future::Future;

use fittrack_platform::ports::{Mailer, OutgoingEmail};

/// A sent email reaches the backend with its recipient, subject, both alternatives and its
/// one-click unsubscribe headers.
/// `sent` returns what the backend holds, one string per message.
pub async fn delivers_both_alternatives<F, Fut>(mailer: &dyn Mailer, sent: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Vec<String>>,
{
    let marker = uuid::Uuid::new_v4().simple().to_string();
    let email = OutgoingEmail {
        to: format!("{marker}@example.com"),
        subject: format!("Subject {marker}"),
        text: format!("plain body {marker} https://app.test/verify-email?token=abc{marker}"),
        html: format!("<p>html body {marker}</p>"),
        unsubscribe_url: Some(format!("https://api.test/api/v1/email/unsubscribe?token=u.{marker}")),
    };
    mailer.send(&email).await.unwrap();
    let messages = sent().await;
    let ours: Vec<_> = messages.iter().filter(|m| m.contains(&format!("Subject {marker}"))).collect();
    assert_eq!(ours.len(), 1, "expected exactly one message with our subject");
    let message = ours[0];
    assert!(message.contains(&format!("{marker}@example.com")));
    assert!(message.contains(&format!("plain body {marker}")));
    assert!(message.contains(&format!("<p>html body {marker}</p>")));
    assert!(message.contains(&format!("token=abc{marker}")), "link must survive verbatim");
    assert!(
        message.contains(&format!("List-Unsubscribe: <https://api.test/api/v1/email/unsubscribe?token=u.{marker}>")),
        "RFC 8058 link header: {message}"
    );
    assert!(message.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
}
