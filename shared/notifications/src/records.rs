//! The notification item, its kinds and the writes that create one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use fittrack_domain::UserId;
use fittrack_platform::messages::EmailTemplate;
use fittrack_platform::ports::{Condition, Key, StoreError, Table, Update, WriteOp, to_item};

/// What a notification reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    WinnerSelected,
    AlternateSelected,
    FulfilmentStatusChanged,
    AddressReminder,
    AccountStatusChanged,
    PointsAdjusted,
    ReviewResolved,
    DrawingResultsPublished,
}

/// Which emails a user may turn off. Essential ones (security, winner claims, account status)
/// are always sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmailCategory {
    Essential,
    /// A won prize shipped or delivered.
    PrizeUpdates,
    /// Points added or taken by an admin.
    PointsUpdates,
}

impl EmailCategory {
    pub const OPTIONAL: [EmailCategory; 2] = [EmailCategory::PrizeUpdates, EmailCategory::PointsUpdates];

    pub fn as_str(self) -> &'static str {
        match self {
            EmailCategory::Essential => "essential",
            EmailCategory::PrizeUpdates => "prize_updates",
            EmailCategory::PointsUpdates => "points_updates",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::OPTIONAL.into_iter().chain([EmailCategory::Essential]).find(|c| c.as_str() == s)
    }
}

/// The email a notification asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailPlan {
    pub template: EmailTemplate,
    pub category: EmailCategory,
}

/// A notification about to be created.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    pub user: UserId,
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    /// Where the app shows the thing (a path of the web app, e.g. `/fulfillments/<id>`).
    pub link: Option<String>,
    /// Ids the app needs (drawing, fulfilment, ledger entry); never personal data.
    pub data: Value,
    pub email: Option<EmailPlan>,
    /// Set for notifications that a job may try to create more than once (one per drawing and
    /// entrant): the same key is created once.
    pub dedup: Option<String>,
}

impl NewNotification {
    pub fn new(user: UserId, kind: NotificationKind, title: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            user,
            kind,
            title: title.into(),
            body: body.into(),
            link: None,
            data: Value::Null,
            email: None,
            dedup: None,
        }
    }

    pub fn link(mut self, link: impl Into<String>) -> Self {
        self.link = Some(link.into());
        self
    }

    pub fn data(mut self, data: Value) -> Self {
        self.data = data;
        self
    }

    pub fn email(mut self, template: EmailTemplate, category: EmailCategory) -> Self {
        self.email = Some(EmailPlan { template, category });
        self
    }

    pub fn once_per(mut self, key: impl Into<String>) -> Self {
        self.dedup = Some(key.into());
        self
    }

    /// The writes that create the notification: the item (a new key, never over another), the
    /// unread count, and the email's outbox entry when one is wanted. The caller adds them to the
    /// transaction of the change being reported. `emails_wanted` is the user's choice for the
    /// email's category (see [`crate::preferences`]); essential emails ignore it.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if the record does not serialise (not expected).
    pub fn ops(&self, at: DateTime<Utc>, emails_wanted: bool) -> Result<Vec<WriteOp>, StoreError> {
        let suffix = match &self.dedup {
            Some(key) => format!("k{key}"),
            // Time-ordered and monotonic within the process: notifications made in one
            // millisecond still list in the order they were made.
            None => uuid::Uuid::now_v7().simple().to_string(),
        };
        let id = format!("{:013}{suffix}", at.timestamp_millis().max(0));
        let record = NotificationRecord {
            pk: notes_partition(self.user),
            sk: format!("{NOTE_PREFIX}{id}"),
            gsi1pk: Some(unread_partition(self.user)),
            gsi1sk: Some(id.clone()),
            id: id.clone(),
            user_id: self.user,
            kind: self.kind,
            title: self.title.clone(),
            body: self.body.clone(),
            link: self.link.clone(),
            data: self.data.clone(),
            read: false,
            created_at: at,
        };
        let mut ops = vec![
            WriteOp::Put { table: Table::Users, item: to_item(&record)?, condition: Some(Condition::NotExists) },
            WriteOp::Update {
                table: Table::Users,
                key: counter_key(self.user),
                update: Update::new().add(COUNTER_UNREAD, 1),
                condition: None,
            },
        ];
        if let Some(plan) = &self.email
            && (plan.category == EmailCategory::Essential || emails_wanted)
        {
            let queued = QueuedEmail {
                pk: OUTBOX_PARTITION.into(),
                // A deduplicated notification has the same id for every user: the user keeps
                // its email apart.
                sk: format!("{id}#{}", self.user),
                user_id: self.user,
                template: plan.template,
                category: plan.category,
                detail: self.body.clone(),
                link: self.link.clone(),
                lease_until: 0,
            };
            ops.push(WriteOp::Put {
                table: Table::Users,
                item: to_item(&queued)?,
                condition: Some(Condition::NotExists),
            });
        }
        Ok(ops)
    }
}

pub(crate) const NOTE_PREFIX: &str = "N#";
pub(crate) const COUNTER_UNREAD: &str = "unread";
pub(crate) const OUTBOX_PARTITION: &str = "MAILQ";

/// A user's notifications and their unread count, in a partition of their own: the functions
/// that notify may write there and never into the user's account partition (`USER#`).
pub(crate) fn notes_partition(user: UserId) -> String {
    format!("NOTES#{user}")
}
pub(crate) fn unread_partition(user: UserId) -> String {
    format!("UNREAD#{user}")
}
pub(crate) fn counter_key(user: UserId) -> Key {
    Key::new(notes_partition(user), "COUNT")
}
pub(crate) fn note_key(user: UserId, id: &str) -> Key {
    Key::new(notes_partition(user), format!("{NOTE_PREFIX}{id}"))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NotificationRecord {
    pub pk: String,
    pub sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi1pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi1sk: Option<String>,
    pub id: String,
    pub user_id: UserId,
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub data: Value,
    pub read: bool,
    pub created_at: DateTime<Utc>,
}

impl NotificationRecord {
    pub const READ: &'static str = "read";
}

/// An email waiting for the outbox relay. No address: the relay reads it from the account when
/// it sends, so the outbox holds no personal data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct QueuedEmail {
    pub pk: String,
    pub sk: String,
    pub user_id: UserId,
    pub template: EmailTemplate,
    pub category: EmailCategory,
    pub detail: String,
    #[serde(default)]
    pub link: Option<String>,
    /// Epoch seconds until which a relay run holds it (another run skips it until then).
    #[serde(default)]
    pub lease_until: i64,
}

impl QueuedEmail {
    pub const LEASE_UNTIL: &'static str = "lease_until";
}

/// A notification as its owner sees it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    pub id: String,
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    #[schema(value_type = Object)]
    pub data: Value,
    pub is_read: bool,
    pub created_at: DateTime<Utc>,
}

impl From<NotificationRecord> for NotificationView {
    fn from(r: NotificationRecord) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            title: r.title,
            body: r.body,
            link: r.link,
            data: r.data,
            is_read: r.read,
            created_at: r.created_at,
        }
    }
}
