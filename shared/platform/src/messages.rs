//! Every message that travels through a queue, typed, in one place: the email worker's jobs, the
//! sync worker's jobs and the point events the leaderboards consume. A message knows its queue,
//! so a sender cannot put it on the wrong one and a consumer reads it back as the same type.
//!
//! To add a message type: define it here, give it a [`QueueId`] and implement [`Message`]; its
//! consumer is a [`crate::batch::MessageHandler`].

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use fittrack_domain::UserId;
use fittrack_domain::leaderboard::BoardDay;
use fittrack_domain::points::EntryKind;

use crate::ports::{Queue, QueueError, QueueId};

/// A typed queue message.
pub trait Message: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The queue this message travels on.
    const QUEUE: QueueId;
}

/// Sends `message` on its queue.
///
/// # Errors
/// [`QueueError`] when the queue refuses it (too large, unavailable).
pub async fn send<M: Message>(queue: &dyn Queue, message: &M) -> Result<(), QueueError> {
    let body = serde_json::to_string(message).map_err(|e| QueueError::Unserialisable(e.to_string()))?;
    queue.send(M::QUEUE, &body).await
}

/// One email to send: which template, to whom, and the link it carries. Jobs carry the recipient
/// address, so the queue is encrypted at rest and no consumer logs a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailJob {
    pub template: EmailTemplate,
    pub to: String,
    pub display_name: String,
    pub link: String,
    /// One line about the event (the prize, the carrier, the points), for the notification emails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The one-click unsubscribe link of an optional email (`List-Unsubscribe`, RFC 8058).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribe_url: Option<String>,
}

impl Message for EmailJob {
    const QUEUE: QueueId = QueueId::Email;
}

impl EmailJob {
    pub fn new(
        template: EmailTemplate,
        to: impl Into<String>,
        display_name: impl Into<String>,
        link: impl Into<String>,
    ) -> Self {
        Self {
            template,
            to: to.into(),
            display_name: display_name.into(),
            link: link.into(),
            detail: None,
            unsubscribe_url: None,
        }
    }
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
    /// A drawing's winner: the prize and how to claim it.
    DrawingWinner,
    /// A winner who has not confirmed a shipping address a week after being told.
    PrizeClaimReminder,
    /// An alternate who takes over a forfeited prize.
    AlternateSelected,
    /// The shipping address a winner gave did not work: they must give another in time.
    PrizeAddressInvalid,
    PrizeShipped,
    PrizeDelivered,
    AccountSuspended,
    AccountReactivated,
    AccountBanned,
    PointsAdjusted,
}

impl EmailTemplate {
    pub fn name(self) -> &'static str {
        match self {
            EmailTemplate::VerifyEmail => "verify_email",
            EmailTemplate::PasswordReset => "password_reset",
            EmailTemplate::AccountExists => "account_exists",
            EmailTemplate::PasswordChanged => "password_changed",
            EmailTemplate::Unlock => "unlock",
            EmailTemplate::DrawingWinner => "drawing_winner",
            EmailTemplate::PrizeClaimReminder => "prize_claim_reminder",
            EmailTemplate::AlternateSelected => "alternate_selected",
            EmailTemplate::PrizeAddressInvalid => "prize_address_invalid",
            EmailTemplate::PrizeShipped => "prize_shipped",
            EmailTemplate::PrizeDelivered => "prize_delivered",
            EmailTemplate::AccountSuspended => "account_suspended",
            EmailTemplate::AccountReactivated => "account_reactivated",
            EmailTemplate::AccountBanned => "account_banned",
            EmailTemplate::PointsAdjusted => "points_adjusted",
        }
    }
}

/// Sync one user's connection to one tracker now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncJob {
    pub user_id: UserId,
    pub provider: String,
}

impl Message for SyncJob {
    const QUEUE: QueueId = QueueId::Sync;
}

/// What the leaderboards (and anything else) learn of a ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointEvent {
    /// `<user>:<seq>`: unique per entry, the key for dropping repeated deliveries.
    pub event_id: String,
    pub user_id: UserId,
    pub seq: u64,
    pub kind: EntryKind,
    /// Change of the spendable balance: what leaderboards count.
    pub amount: i64,
    /// Change of the held balance (under review; not counted until released).
    pub held_amount: i64,
    pub balance_after: i64,
    pub cause: String,
    pub created_at: i64,
    /// What the entry adds to the leaderboards, by the competition day it counts on.
    #[serde(default)]
    pub board_days: Vec<BoardDay>,
}

impl Message for PointEvent {
    const QUEUE: QueueId = QueueId::PointEvents;
}

/// The name the boards show for a user changed (display name, or the profile went public or
/// private): their rows must show the new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileChanged {
    pub user_id: UserId,
    /// Epoch seconds, so two changes are two messages.
    pub changed_at: i64,
}

/// What the leaderboards consume from the point-events queue: point events, and profile changes
/// that rename rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BoardUpdate {
    Point(PointEvent),
    Profile(ProfileChanged),
}

impl Message for BoardUpdate {
    const QUEUE: QueueId = QueueId::PointEvents;
}
