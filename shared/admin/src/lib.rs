//! Admin user management.
//!
//! - [`search`]: users by exact email, display-name prefix, status and tier, each answered by
//!   one query of one partition (see `fittrack_users::directory`), never a scan.
//! - [`detail`]: one user's account, balance, recent ledger, connections and reviews.
//! - [`status`]: the account status state machine (`fittrack_domain::AccountStatus`), roles and
//!   sessions.
//! - [`adjust`]: point adjustments, idempotent, debits clamped at zero.
//!
//! Every change is one transaction with its action log entry (`fittrack-audit`) and the
//! notification it owes the user (`fittrack-notifications`).

pub mod adjust;
pub mod detail;
pub mod search;
pub mod status;

use std::sync::Arc;

use fittrack_audit::AuditLog;
use fittrack_domain::{AccountStatus, ValidationErrors};
use fittrack_notifications::{NotificationError, Notifications};
use fittrack_platform::clock::Clock;
use fittrack_platform::crypto::PiiCipher;
use fittrack_platform::ports::{ItemStore, StoreError};
use fittrack_points::{LedgerError, PointsLedger};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no such user")]
    NotFound,
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    #[error("an account cannot go from {from} to {to}")]
    InvalidTransition { from: AccountStatus, to: AccountStatus },
    #[error("admins do not change their own status or role")]
    OwnAccount,
    /// Another admin changed the account since it was read: look again and decide again.
    #[error("the account changed meanwhile")]
    Conflict,
    #[error("an Idempotency-Key header is required")]
    IdempotencyKeyRequired,
    #[error("this Idempotency-Key was used for another adjustment")]
    IdempotencyKeyReused,
    #[error("busy; try again")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<LedgerError> for AdminError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Store(e) => Self::Store(e),
            _ => Self::Busy,
        }
    }
}

impl From<NotificationError> for AdminError {
    fn from(e: NotificationError) -> Self {
        match e {
            NotificationError::Store(e) => Self::Store(e),
            NotificationError::NotFound | NotificationError::InvalidUnsubscribeLink => Self::NotFound,
            NotificationError::Queue(e) => Self::Store(StoreError::Unavailable(e.to_string())),
        }
    }
}

impl From<fittrack_accounts::AccountError> for AdminError {
    fn from(e: fittrack_accounts::AccountError) -> Self {
        match e {
            fittrack_accounts::AccountError::Store(e) => Self::Store(e),
            other => Self::Store(StoreError::Unavailable(other.to_string())),
        }
    }
}

/// The admin's side of users.
#[derive(Clone)]
pub struct AdminService {
    pub(crate) store: Arc<dyn ItemStore>,
    pub(crate) pii: Arc<PiiCipher>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) ledger: PointsLedger,
    pub(crate) notifications: Notifications,
    pub(crate) log: AuditLog,
}

impl AdminService {
    pub fn new(
        store: Arc<dyn ItemStore>,
        pii: Arc<PiiCipher>,
        clock: Arc<dyn Clock>,
        notifications: Notifications,
    ) -> Self {
        Self {
            ledger: PointsLedger::new(Arc::clone(&store), Arc::clone(&clock)),
            log: AuditLog::new(Arc::clone(&store)),
            store,
            pii,
            clock,
            notifications,
        }
    }

    /// The action log (read side).
    pub fn log(&self) -> &AuditLog {
        &self.log
    }

    /// The analytics reports, on the same store and clock.
    pub fn analytics(&self) -> fittrack_analytics::Analytics {
        fittrack_analytics::Analytics::new(Arc::clone(&self.store), Arc::clone(&self.clock))
    }
}
