//! The entry, who makes it and what it is about.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use fittrack_domain::UserId;
use fittrack_platform::ports::{Condition, Item, StoreError, Table, WriteOp, to_item};

/// The admin behind an action and the request that carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub admin_id: UserId,
    pub request_id: String,
}

impl Actor {
    pub fn new(admin_id: UserId, request_id: impl Into<String>) -> Self {
        Self { admin_id, request_id: request_id.into() }
    }

    /// The entry recording `change`, made by this admin at `at`.
    pub fn entry(&self, change: Change, at: DateTime<Utc>) -> ActionEntry {
        ActionEntry {
            id: uuid::Uuid::now_v7().simple().to_string(),
            admin_id: self.admin_id,
            action: change.action,
            target_kind: change.target_kind,
            target_id: change.target_id,
            subject_user: change.subject_user,
            before: change.before,
            after: change.after,
            reason: change.reason,
            at,
            request_id: self.request_id.clone(),
        }
    }
}

/// Every kind of admin action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    UserStatusChanged,
    UserRoleChanged,
    UserSessionsRevoked,
    PointsAdjusted,
    ReviewResolved,
    SponsorCreated,
    SponsorUpdated,
    DrawingCreated,
    DrawingUpdated,
    PrizeAdded,
    PrizeUpdated,
    PrizeRemoved,
    DrawingScheduled,
    DrawingCancelled,
    DrawingExecuted,
    MailInEntryRecorded,
    FulfilmentStatusChanged,
    FulfilmentShipped,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::UserStatusChanged => "user_status_changed",
            ActionKind::UserRoleChanged => "user_role_changed",
            ActionKind::UserSessionsRevoked => "user_sessions_revoked",
            ActionKind::PointsAdjusted => "points_adjusted",
            ActionKind::ReviewResolved => "review_resolved",
            ActionKind::SponsorCreated => "sponsor_created",
            ActionKind::SponsorUpdated => "sponsor_updated",
            ActionKind::DrawingCreated => "drawing_created",
            ActionKind::DrawingUpdated => "drawing_updated",
            ActionKind::PrizeAdded => "prize_added",
            ActionKind::PrizeUpdated => "prize_updated",
            ActionKind::PrizeRemoved => "prize_removed",
            ActionKind::DrawingScheduled => "drawing_scheduled",
            ActionKind::DrawingCancelled => "drawing_cancelled",
            ActionKind::DrawingExecuted => "drawing_executed",
            ActionKind::MailInEntryRecorded => "mail_in_entry_recorded",
            ActionKind::FulfilmentStatusChanged => "fulfilment_status_changed",
            ActionKind::FulfilmentShipped => "fulfilment_shipped",
        }
    }
}

impl std::str::FromStr for ActionKind {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        serde_json::from_value(Value::String(s.to_owned())).map_err(|_| ())
    }
}

/// What an action is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    User,
    Review,
    Sponsor,
    Drawing,
    Fulfilment,
}

/// One admin change, before it is attributed to an admin.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub action: ActionKind,
    pub target_kind: TargetKind,
    pub target_id: String,
    /// The user the action is about, when there is one (an adjustment, a review, a prize won):
    /// it appears in that user's action list.
    pub subject_user: Option<UserId>,
    /// The fields the action changed, as they were and as they are. No personal data: an address
    /// or a taxpayer id never goes in here.
    pub before: Value,
    pub after: Value,
    pub reason: Option<String>,
}

impl Change {
    pub fn new(action: ActionKind, target_kind: TargetKind, target_id: impl Into<String>) -> Self {
        Self {
            action,
            target_kind,
            target_id: target_id.into(),
            subject_user: None,
            before: Value::Null,
            after: Value::Null,
            reason: None,
        }
    }

    /// An action on a user's own account.
    pub fn on_user(action: ActionKind, user: UserId) -> Self {
        Self::new(action, TargetKind::User, user.to_string()).about(user)
    }

    pub fn about(mut self, user: UserId) -> Self {
        self.subject_user = Some(user);
        self
    }

    pub fn from_to(mut self, before: Value, after: Value) -> Self {
        self.before = before;
        self.after = after;
        self
    }

    pub fn because(mut self, reason: Option<String>) -> Self {
        self.reason = reason.filter(|r| !r.trim().is_empty());
        self
    }
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActionEntry {
    /// Time-ordered: later entries have greater ids.
    pub id: String,
    pub admin_id: UserId,
    pub action: ActionKind,
    pub target_kind: TargetKind,
    pub target_id: String,
    pub subject_user: Option<UserId>,
    /// The fields the action changed as they were; `null` for a creation.
    #[schema(value_type = Option<Object>)]
    pub before: Value,
    /// The same fields as they are after it; `null` when the action changes no field.
    #[schema(value_type = Option<Object>)]
    pub after: Value,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
    /// The `X-Request-Id` of the request that made the change.
    pub request_id: String,
}

pub(crate) const LOG_PARTITION: &str = "LOG";

pub(crate) fn admin_partition(admin: UserId) -> String {
    format!("ADMIN#{admin}")
}
pub(crate) fn action_partition(action: ActionKind) -> String {
    format!("ACTION#{}", action.as_str())
}
pub(crate) fn user_partition(user: UserId) -> String {
    fittrack_platform::keys::user_partition(user)
}

impl ActionEntry {
    /// The puts that append this entry: each conditioned on its key being new, so an entry is
    /// never overwritten, not even by a bug that reused an id.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if the entry does not serialise (not expected).
    pub fn ops(&self) -> Result<Vec<WriteOp>, StoreError> {
        let body = to_item(self)?;
        let item = |pk: String, index: Option<String>| -> Item {
            let mut item = body.clone();
            item.insert("pk".into(), pk.into());
            item.insert("sk".into(), self.id.clone().into());
            if let Some(index) = index {
                item.insert("gsi1pk".into(), index.into());
                item.insert("gsi1sk".into(), self.id.clone().into());
            }
            item
        };
        let mut items = vec![
            item(LOG_PARTITION.into(), Some(admin_partition(self.admin_id))),
            item(action_partition(self.action), None),
        ];
        if let Some(user) = self.subject_user {
            items.push(item(user_partition(user), None));
        }
        Ok(items
            .into_iter()
            .map(|item| WriteOp::Put { table: Table::Audit, item, condition: Some(Condition::NotExists) })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_round_trip() {
        for kind in [ActionKind::UserStatusChanged, ActionKind::MailInEntryRecorded, ActionKind::FulfilmentShipped] {
            assert_eq!(kind.as_str().parse::<ActionKind>(), Ok(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert!("drop_table".parse::<ActionKind>().is_err());
    }

    #[test]
    fn an_entry_about_a_user_is_written_three_times_and_never_over_another() {
        let admin = UserId::generate();
        let user = UserId::generate();
        let entry = Actor::new(admin, "req-1")
            .entry(Change::on_user(ActionKind::PointsAdjusted, user).because(Some("  ".into())), Utc::now());
        assert_eq!(entry.reason, None, "a blank reason is no reason");
        let ops = entry.ops().unwrap();
        assert_eq!(ops.len(), 3);
        assert!(ops.iter().all(|op| op.condition() == Some(&Condition::NotExists)));
        let without_subject =
            Actor::new(admin, "r").entry(Change::new(ActionKind::SponsorCreated, TargetKind::Sponsor, "s"), Utc::now());
        assert_eq!(without_subject.ops().unwrap().len(), 2);
    }
}
