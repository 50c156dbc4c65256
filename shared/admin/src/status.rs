//! Account status, role and sessions: an admin's decisions about an account.
//!
//! A status change is one transaction: the account's status (conditioned on the status read, so
//! of two admins deciding at once one wins and the other is told to look again), its search
//! entry, the action log entry, the user's notification (and its essential email), and for a
//! ban the marker that has the drawings scheduler withdraw the user's open tickets. Suspension
//! and ban then end every session: the next request with an old access token is refused, and
//! sign-in and refresh refuse the account from the moment the transaction lands.

use serde_json::json;

use fittrack_audit::{ActionKind, Actor, Change};
use fittrack_domain::{AccountStatus, FieldError, Role, UserId, ValidationErrors};
use fittrack_notifications::{EmailCategory, NewNotification, NotificationKind};
use fittrack_platform::messages::EmailTemplate;
use fittrack_platform::ports::{Condition, StoreError, Table, Update, WriteOp};
use fittrack_users::directory;
use fittrack_users::records::{AccountRecord, account_key, load};

use crate::search::AdminUserSummary;
use crate::{AdminError, AdminService};

/// The longest reason an admin may give.
pub const MAX_REASON_CHARS: usize = 1000;

/// A reason is required for every status change and adjustment: 1 to 1,000 characters.
///
/// # Errors
/// [`ValidationErrors`] naming `reason`.
pub fn check_reason(reason: &str) -> Result<String, ValidationErrors> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(ValidationErrors::single(FieldError::new("reason", "invalid_length", "1 to 1,000 characters")));
    }
    Ok(reason.to_owned())
}

fn status_is(status: AccountStatus) -> Condition {
    let equals = Condition::equals(AccountRecord::STATUS, status.as_str());
    // Accounts created before statuses existed have none: they are active.
    if status == AccountStatus::Active {
        Condition::Or(vec![Condition::missing(AccountRecord::STATUS), equals])
    } else {
        equals
    }
}

fn told(user: UserId, status: AccountStatus) -> NewNotification {
    let (title, body, template) = match status {
        AccountStatus::Active => (
            "Your account is active again",
            "You can sign in and use FitTrack again.",
            EmailTemplate::AccountReactivated,
        ),
        AccountStatus::Suspended => (
            "Your account is suspended",
            "You cannot sign in while it is suspended. Your points and tickets are kept.",
            EmailTemplate::AccountSuspended,
        ),
        AccountStatus::Banned => (
            "Your account is closed",
            "Tickets in drawings that had not closed were withdrawn and their points returned.",
            EmailTemplate::AccountBanned,
        ),
    };
    NewNotification::new(user, NotificationKind::AccountStatusChanged, title, body)
        .data(json!({ "status": status }))
        .email(template, EmailCategory::Essential)
}

impl AdminService {
    /// Moves `user` to `status` (see `AccountStatus::can_become`). Asking for the status the
    /// account already has logs nothing and changes nothing but ending any session left (a
    /// retried request).
    ///
    /// # Errors
    /// [`AdminError::Invalid`] without a reason; [`AdminError::OwnAccount`]; [`AdminError::NotFound`];
    /// [`AdminError::InvalidTransition`]; [`AdminError::Conflict`] when another admin changed the
    /// status first; [`AdminError::Store`].
    pub async fn set_status(
        &self,
        actor: &Actor,
        user: UserId,
        status: AccountStatus,
        reason: &str,
    ) -> Result<AdminUserSummary, AdminError> {
        let reason = check_reason(reason)?;
        if actor.admin_id == user {
            return Err(AdminError::OwnAccount);
        }
        let record: AccountRecord = load(self.store.as_ref(), &account_key(user)).await?.ok_or(AdminError::NotFound)?;
        if record.status == status {
            // A retry of a change whose session revocation failed half way finishes it.
            if !status.is_usable() {
                fittrack_accounts::revoke_all_sessions(self.store.as_ref(), user).await?;
            }
            return Ok(AdminUserSummary::from(&record));
        }
        if !record.status.can_become(status) {
            return Err(AdminError::InvalidTransition { from: record.status, to: status });
        }
        let mut ops = vec![WriteOp::Update {
            table: Table::Users,
            key: account_key(user),
            update: Update::new().set(AccountRecord::STATUS, status.as_str()),
            condition: Some(status_is(record.status)),
        }];
        ops.extend(directory::status_ops(user, record.created_at, record.status, status));
        let change = Change::on_user(ActionKind::UserStatusChanged, user)
            .from_to(json!({ "status": record.status }), json!({ "status": status }))
            .because(Some(reason));
        ops.extend(actor.entry(change, self.clock.now()).ops()?);
        ops.extend(self.notifications.ops_for(&told(user, status)).await?);
        if status == AccountStatus::Banned {
            let marker = fittrack_drawings::disqualify::ban_marker(user, self.clock.now().timestamp());
            ops.push(WriteOp::Put { table: Table::Tickets, item: marker, condition: None });
        } else if record.status == AccountStatus::Banned {
            let key = fittrack_drawings::disqualify::ban_marker_key(user);
            ops.push(WriteOp::Delete { table: Table::Tickets, key, condition: None });
        }
        match self.store.transact(ops).await {
            Ok(()) => {}
            Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => {
                return Err(AdminError::Conflict);
            }
            Err(StoreError::TransactionCancelled { .. } | StoreError::Contention) => return Err(AdminError::Busy),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(user_id = %user, admin_id = %actor.admin_id, from = %record.status, to = %status, "account status changed");
        if !status.is_usable() {
            fittrack_accounts::revoke_all_sessions(self.store.as_ref(), user).await?;
        }
        let mut summary = AdminUserSummary::from(&record);
        summary.status = status;
        Ok(summary)
    }

    /// Gives `user` another role. A lower role applies from their next request, a higher one from
    /// their next token refresh.
    ///
    /// # Errors
    /// [`AdminError::OwnAccount`]; [`AdminError::NotFound`]; [`AdminError::Conflict`] when another
    /// admin changed the role first; [`AdminError::Store`].
    pub async fn set_role(&self, actor: &Actor, user: UserId, role: Role) -> Result<(), AdminError> {
        if actor.admin_id == user {
            return Err(AdminError::OwnAccount);
        }
        let record: AccountRecord = load(self.store.as_ref(), &account_key(user)).await?.ok_or(AdminError::NotFound)?;
        if record.role == role {
            return Ok(());
        }
        let op = WriteOp::Update {
            table: Table::Users,
            key: account_key(user),
            update: Update::new().set(AccountRecord::ROLE, role.as_str()),
            condition: Some(Condition::equals(AccountRecord::ROLE, record.role.as_str())),
        };
        let change = Change::on_user(ActionKind::UserRoleChanged, user)
            .from_to(json!({ "role": record.role }), json!({ "role": role }));
        match fittrack_audit::write_with_entry(self.store.as_ref(), vec![op], &actor.entry(change, self.clock.now()))
            .await
        {
            Ok(()) => {
                tracing::info!(user_id = %user, admin_id = %actor.admin_id, role = role.as_str(), "role changed");
                Ok(())
            }
            Err(StoreError::ConditionFailed) => Err(AdminError::Conflict),
            Err(e) => Err(e.into()),
        }
    }

    /// Ends every session of `user` (a lost phone, a compromised account); returns how many.
    ///
    /// # Errors
    /// [`AdminError::NotFound`]; [`AdminError::Store`] (the sessions ended before a failure stay ended).
    pub async fn revoke_sessions(&self, actor: &Actor, user: UserId) -> Result<u32, AdminError> {
        load::<AccountRecord>(self.store.as_ref(), &account_key(user)).await?.ok_or(AdminError::NotFound)?;
        let change = Change::on_user(ActionKind::UserSessionsRevoked, user);
        fittrack_audit::write_with_entry(self.store.as_ref(), Vec::new(), &actor.entry(change, self.clock.now()))
            .await?;
        Ok(fittrack_accounts::revoke_all_sessions(self.store.as_ref(), user).await?)
    }
}
