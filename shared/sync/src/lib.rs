//! Tracker connections and sync. A connection carries when it is next due; a scheduled fan-out
//! finds the due ones through the index (sharded, and bounded by "due before now", never a scan)
//! and enqueues one job per user and tracker; the sync worker fetches a window that overlaps the
//! last one (trackers deliver late) and hands the records to the points engine, which books only
//! what changed.
//!
//! Trackers with an OAuth flow connect in two steps ([`SyncService::start`], then
//! [`SyncService::complete_authorization`] from the provider's redirect); their tokens are stored
//! sealed on the connection and refreshed shortly before they expire, or when the provider
//! refuses them. A grant the provider no longer honours parks the connection until the user
//! connects again. Webhooks name the user by the provider's id; an index item maps it back.
//!
//! A guided tour of the modules:
//!
//! - `records`: the connection item and the index item mapping a provider's user id to ours, with
//!   their keys and the due-index sort key.
//! - `connections`: connecting ([`SyncService::start`], [`SyncService::connect`],
//!   [`SyncService::complete_authorization`]), reading, disconnecting, and the user's "sync now"
//!   ([`SyncService::request_sync`]).
//! - `authorization` and `tokens`: the pending half of an OAuth flow, bound to the party that
//!   started it, and provider grants sealed at rest.
//! - `fanout`: [`FanOut`], the scheduled fan-out over the due index.
//! - `webhooks`: [`SyncService::notify`], which moves a connection's next sync forward.
//! - `worker`: [`SyncWorker`], the sync job and the consumer of [`SyncJob`]s; it needs no queue,
//!   so the sync worker Lambda builds it alone. The Lambda and `fittrack serve` both run it
//!   through [`fittrack_platform::batch::run_batch`].

mod authorization;
pub mod build;
mod connections;
mod fanout;
mod records;
mod tokens;
mod webhooks;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use fittrack_platform::clock::Clock;
use fittrack_platform::crypto::PiiCipher;
use fittrack_platform::messages;
use fittrack_platform::ports::{ItemStore, Queue, QueueError, StoreError, TrackerError, TrackerProvider};
use fittrack_points::{EngineError, PointsEngine};

pub use authorization::AuthorizingParty;
pub use connections::{ConnectStart, connections_of};
pub use fanout::FanOut;
pub use fittrack_platform::messages::SyncJob;
pub use records::{Connection, ConnectionStatus};
pub use worker::SyncWorker;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("no such tracker")]
    UnknownProvider,
    #[error("not connected")]
    NotConnected,
    /// The tracker connects without an authorization flow (or needs one and was asked without).
    #[error("this tracker does not use that connection flow")]
    WrongFlow,
    /// The callback's `state` is unknown, used, expired or for another tracker.
    #[error("authorization request unknown or expired")]
    InvalidState,
    /// The callback does not come from the browser or user that started the authorization.
    #[error("authorization started by someone else")]
    AuthorizationNotBound,
    /// The tracker account is already linked to another FitTrack account.
    #[error("tracker account linked to another account")]
    TrackerAccountInUse,
    #[error(transparent)]
    Tracker(#[from] TrackerError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("too many sync requests")]
    RateLimited(fittrack_platform::ratelimit::RateDecision),
}

/// Sends `job` on the sync queue.
///
/// # Errors
/// [`SyncError::Queue`] when the queue refuses it.
pub(crate) async fn enqueue(queue: &dyn Queue, job: &SyncJob) -> Result<(), SyncError> {
    Ok(messages::send(queue, job).await?)
}

/// How often connections sync, and how often a user may ask for one in between.
#[derive(Debug, Clone, Copy)]
pub struct SyncSchedule {
    pub interval: Duration,
    pub manual_limit: fittrack_platform::config::RateLimit,
}

/// Everything the sync service is built from.
pub struct SyncDeps {
    pub store: Arc<dyn ItemStore>,
    pub queue: Arc<dyn Queue>,
    pub engine: PointsEngine,
    pub providers: Vec<Arc<dyn TrackerProvider>>,
    pub clock: Arc<dyn Clock>,
    pub schedule: SyncSchedule,
    /// Seals provider tokens and PKCE verifiers at rest.
    pub cipher: Arc<PiiCipher>,
    /// Where this API is reachable from browsers, e.g. `https://api.fittrack.example`: the
    /// providers redirect to `{api_url}/api/v1/connections/{provider}/callback`.
    pub api_url: String,
}

/// Tracker connections for the APIs and the scheduler: connecting (OAuth), webhooks, manual and
/// scheduled syncs (enqueued), and the [`SyncWorker`] that runs a job.
#[derive(Clone)]
pub struct SyncService {
    pub(crate) worker: SyncWorker,
    pub(crate) queue: Arc<dyn Queue>,
    pub(crate) manual_limit: fittrack_platform::config::RateLimit,
    pub(crate) api_url: String,
}

impl SyncService {
    pub fn new(deps: SyncDeps) -> Self {
        Self {
            worker: SyncWorker::new(
                deps.store,
                deps.engine,
                deps.providers,
                deps.clock,
                deps.schedule.interval,
                deps.cipher,
            ),
            queue: deps.queue,
            manual_limit: deps.schedule.manual_limit,
            api_url: deps.api_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The job runner inside this service (what the sync worker consumes the queue with).
    pub fn worker(&self) -> &SyncWorker {
        &self.worker
    }

    /// Runs one sync job now (see [`SyncWorker::run`]).
    ///
    /// # Errors
    /// As [`SyncWorker::run`].
    pub async fn run(&self, job: &SyncJob) -> Result<usize, SyncError> {
        self.worker.run(job).await
    }

    /// The trackers this deployment offers, sorted.
    pub fn provider_names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.worker.providers.keys().copied().collect();
        names.sort_unstable();
        names
    }

    /// Where the provider sends the browser back: our callback for `provider`.
    pub fn redirect_uri(&self, provider: &str) -> String {
        format!("{}/api/v1/connections/{provider}/callback", self.api_url)
    }

    /// Sends `job` on this service's sync queue.
    ///
    /// # Errors
    /// [`SyncError::Queue`] when the queue refuses it.
    pub(crate) async fn enqueue(&self, job: &SyncJob) -> Result<(), SyncError> {
        enqueue(self.queue.as_ref(), job).await
    }
}
