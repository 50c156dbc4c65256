//! Notifications: what happened to you, in the app and by email.
//!
//! - [`records`]: the kinds, the notification item and its keys.
//! - [`NewNotification::ops`]: the writes that create one, added by the capability that makes
//!   the change to the change's own transaction, so a notification exists exactly when its
//!   change does: never lost, never twice (a retried or raced change that does not happen
//!   creates nothing).
//! - [`inbox`]: the owner's list, unread count, marking read.
//! - [`preferences`]: per-category email choices and the one-click unsubscribe (RFC 8058).
//! - [`outbox`]: an email wanted by a notification waits in the outbox (written in the same
//!   transaction) until the minute scheduler hands it to the email queue.
//!
//! Items live in the users table, in a partition per user apart from the account's:
//! `NOTES#<id>` / `N#<notification id>` (the unread ones also under the index key `UNREAD#<id>`)
//! and `NOTES#<id>` / `COUNT` (the unread count); the user's choices are `USER#<id>` /
//! `NOTEPREFS`; the outbox is the `MAILQ` partition.

pub mod inbox;
pub mod outbox;
pub mod preferences;
pub mod records;

use std::sync::Arc;

use fittrack_platform::Config;
use fittrack_platform::clock::Clock;
use fittrack_platform::crypto::PiiCipher;
use fittrack_platform::ports::{ItemStore, StoreError};

pub use records::{EmailCategory, NewNotification, NotificationKind, NotificationView};

#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error("no such notification")]
    NotFound,
    #[error("the unsubscribe link is not valid")]
    InvalidUnsubscribeLink,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] fittrack_platform::ports::QueueError),
}

/// Everything about one user's notifications, and the outbox.
#[derive(Clone)]
pub struct Notifications {
    pub(crate) store: Arc<dyn ItemStore>,
    pub(crate) pii: Arc<PiiCipher>,
    pub(crate) clock: Arc<dyn Clock>,
    /// The web app, where email links lead (`FITTRACK_APP_URL`).
    pub(crate) app_url: String,
    /// Where the unsubscribe links point (`FITTRACK_API_URL`).
    pub(crate) api_url: String,
}

impl Notifications {
    /// `app_url` is where email links lead, `api_url` where unsubscribe links point.
    pub fn new(
        store: Arc<dyn ItemStore>,
        pii: Arc<PiiCipher>,
        clock: Arc<dyn Clock>,
        app_url: impl Into<String>,
        api_url: impl Into<String>,
    ) -> Self {
        Self { store, pii, clock, app_url: app_url.into(), api_url: api_url.into() }
    }

    pub fn from_config(config: &Config, store: Arc<dyn ItemStore>, pii: Arc<PiiCipher>, clock: Arc<dyn Clock>) -> Self {
        Self::new(store, pii, clock, config.app_url.clone(), config.api_url.clone())
    }

    /// The writes that create `note`, with the user's email choice for its category read first
    /// (what a capability adds to the transaction of the change `note` reports).
    ///
    /// # Errors
    /// [`NotificationError::Store`].
    pub async fn ops_for(
        &self,
        note: &NewNotification,
    ) -> Result<Vec<fittrack_platform::ports::WriteOp>, NotificationError> {
        let wanted = match &note.email {
            Some(plan) => self.wants_email(note.user, plan.category).await?,
            None => false,
        };
        Ok(note.ops(self.clock.now(), wanted)?)
    }
}
