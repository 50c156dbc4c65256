//! Prize drawings, from the sponsor to the verifiable draw.
//!
//! - [`admin`]: sponsors, drawings and their prizes, scheduling and cancelling (with refunds).
//! - [`entries`]: tickets bought with points, the daily free entry, mail-in entries, my tickets.
//! - [`fulfilment`]: every won prize from notification to delivery, the timeouts, alternates.
//! - [`lifecycle`]: the scheduler's steps: open, close (the snapshot), draw, notify, refund.
//! - [`results`]: what a drawing publishes (results, snapshot file) in the `fittrack-draw-v1` form.
//! - [`rules`]: the official rules, rendered from the drawing's facts.
//! - [`reconcile`]: every debited point has its tickets and every ticket its debit.
//!
//! The rules of the lifecycle, the eligibility and the draw itself are in
//! `fittrack_domain::{drawing, draw_protocol}`; this crate stores and runs them. Keys and the
//! reasoning about hot spots are in [`keys`] and docs/data-model.md.

pub mod admin;
pub mod catalog;
pub mod disqualify;
pub mod entries;
pub mod fulfilment;
pub mod keys;
pub mod lifecycle;
pub mod reconcile;
pub mod records;
pub mod results;
pub mod rules;
pub mod scheduler;
pub mod views;

use std::sync::Arc;

use fittrack_domain::drawing::{DrawingStatus, Ineligibility};
use fittrack_domain::{UserId, ValidationErrors};
use fittrack_notifications::Notifications;
use fittrack_platform::clock::Clock;
use fittrack_platform::crypto::PiiCipher;
use fittrack_platform::ports::{BeaconError, ItemStore, Queue, QueueError, RandomnessBeacon, StoreError};
use fittrack_platform::{BuildError, Config};
use fittrack_points::{LedgerError, PointsLedger};

pub use records::{DrawingId, EntryMethod};

#[derive(Debug, thiserror::Error)]
pub enum DrawingError {
    #[error("no such drawing, sponsor or prize")]
    NotFound,
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    #[error("a drawing cannot go from {from} to {to}{}", reasons_suffix(.reasons))]
    InvalidTransition { from: DrawingStatus, to: DrawingStatus, reasons: Vec<String> },
    #[error("a prize cannot go from {from} to {to}")]
    FulfilmentTransition {
        from: fittrack_domain::fulfilment::FulfilmentStatus,
        to: fittrack_domain::fulfilment::FulfilmentStatus,
    },
    #[error("only a draft drawing can be edited (this one is {0})")]
    NotEditable(DrawingStatus),
    #[error("entries have not opened yet")]
    NotOpen,
    #[error("entries are closed")]
    Closed,
    #[error("not eligible for this drawing")]
    NotEligible(Vec<Ineligibility>),
    #[error("this would take you past the drawing's {max} tickets per person (you have {held})")]
    TicketLimitReached { max: u64, held: u64 },
    #[error("today's free entry was already taken")]
    FreeEntryUsedToday,
    #[error("a mail-in entry with this postmark day is already recorded for this person")]
    MailInAlreadyRecorded,
    #[error("not enough spendable points")]
    InsufficientPoints,
    #[error("an Idempotency-Key header (1 to 64 letters, digits, '-' or '_') is required")]
    IdempotencyKeyRequired,
    #[error("this Idempotency-Key was used for a different request")]
    IdempotencyKeyReused,
    #[error("the drawing's results are not published yet")]
    NotDrawn,
    #[error("the drawing's snapshot is taken when entries close")]
    NoSnapshot,
    #[error("the beacon round deciding this drawing does not exist yet")]
    BeaconPending,
    #[error("no such user")]
    UnknownUser,
    #[error(transparent)]
    Beacon(#[from] BeaconError),
    #[error("too much contention; try again")]
    Busy,
    #[error("stored drawing data is inconsistent: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Rules(#[from] rules::RulesError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

fn reasons_suffix(reasons: &[String]) -> String {
    if reasons.is_empty() { String::new() } else { format!(": {}", reasons.join("; ")) }
}

impl From<fittrack_notifications::NotificationError> for DrawingError {
    fn from(e: fittrack_notifications::NotificationError) -> Self {
        use fittrack_notifications::NotificationError as N;
        match e {
            N::Store(e) => Self::Store(e),
            N::Queue(e) => Self::Queue(e),
            N::NotFound | N::InvalidUnsubscribeLink => Self::NotFound,
        }
    }
}

impl From<LedgerError> for DrawingError {
    fn from(error: LedgerError) -> Self {
        match error {
            LedgerError::Insufficient => Self::InsufficientPoints,
            LedgerError::Busy | LedgerError::Stale => Self::Busy,
            LedgerError::Store(e) => Self::Store(e),
        }
    }
}

/// What the official rules and the notifications print, fixed by configuration.
#[derive(Debug, Clone)]
pub struct DrawingSettings {
    pub operator: String,
    pub mail_in_address: String,
    pub tax_threshold_cents: u64,
    pub claim_days: u32,
    /// Base of the public API: the results and snapshot links.
    pub api_url: String,
    /// Base of the web app: links in emails.
    pub app_url: String,
    /// The registration exclusions of the operator (on top of each drawing's and the value guard's).
    pub operator_excluded_states: Vec<fittrack_domain::UsState>,
}

impl DrawingSettings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            operator: config.drawings.operator.clone(),
            mail_in_address: config.drawings.mail_in_address.clone(),
            tax_threshold_cents: config.drawings.tax_threshold_cents,
            claim_days: config.drawings.claim_days,
            api_url: config.api_url.clone(),
            app_url: config.app_url.clone(),
            operator_excluded_states: config.eligibility.excluded_states.clone(),
        }
    }
}

/// Everything about drawings: the API's use cases and the scheduler's steps.
#[derive(Clone)]
pub struct DrawingService {
    pub(crate) store: Arc<dyn ItemStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) ledger: PointsLedger,
    pub(crate) queue: Arc<dyn Queue>,
    pub(crate) beacon: Arc<dyn RandomnessBeacon>,
    /// Entrant ids (keyed, so nobody else can link them to a person) and winners' addresses.
    pub(crate) pii: Arc<PiiCipher>,
    pub(crate) settings: Arc<DrawingSettings>,
    /// Winners, alternates, prize updates and results, told in the transactions that decide them.
    pub(crate) notifications: Notifications,
}

impl DrawingService {
    pub fn new(
        store: Arc<dyn ItemStore>,
        clock: Arc<dyn Clock>,
        queue: Arc<dyn Queue>,
        beacon: Arc<dyn RandomnessBeacon>,
        pii: Arc<PiiCipher>,
        settings: DrawingSettings,
    ) -> Self {
        let ledger = PointsLedger::new(Arc::clone(&store), Arc::clone(&clock));
        let notifications = Notifications::new(
            Arc::clone(&store),
            Arc::clone(&pii),
            Arc::clone(&clock),
            settings.app_url.clone(),
            settings.api_url.clone(),
        );
        Self { store, clock, ledger, queue, beacon, pii, settings: Arc::new(settings), notifications }
    }

    /// The notifications this service creates (its minute run also relays their emails).
    pub fn notifications(&self) -> &Notifications {
        &self.notifications
    }

    /// The service with the PII key and settings of `config`.
    ///
    /// # Errors
    /// [`BuildError`] when the PII key is missing or malformed.
    pub fn from_config(
        config: &Config,
        store: Arc<dyn ItemStore>,
        clock: Arc<dyn Clock>,
        queue: Arc<dyn Queue>,
        beacon: Arc<dyn RandomnessBeacon>,
    ) -> Result<Self, BuildError> {
        let key = config.pii_key.as_ref().ok_or(BuildError::Missing("FITTRACK_PII_KEY"))?;
        let pii = PiiCipher::from_master_key(secrecy::ExposeSecret::expose_secret(key))
            .map_err(|e| BuildError::InvalidKey { name: "FITTRACK_PII_KEY", reason: e.to_string() })?;
        Ok(Self::new(store, clock, queue, beacon, Arc::new(pii), DrawingSettings::from_config(config)))
    }

    pub fn settings(&self) -> &DrawingSettings {
        &self.settings
    }

    /// `user`'s opaque id in `drawing`: keyed, so only this service can link it to them.
    pub fn entrant_id(&self, drawing: &DrawingId, user: UserId) -> fittrack_domain::draw_protocol::EntrantId {
        let digest = self.pii.keyed_digest("drawing-entrant", &format!("{drawing}:{user}"));
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        fittrack_domain::draw_protocol::EntrantId(id)
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }
}

/// A short, growing pause before retrying a lost race, with jitter so fifty racers spread out.
pub(crate) async fn backoff(attempt: u32) {
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 8);
    tokio::time::sleep(std::time::Duration::from_millis(2 * u64::from(attempt.min(20)) + jitter)).await;
}
