//! Tracker connections and sync. A connection carries when it is next due; a scheduled fan-out
//! finds the due ones through the index (sharded, and bounded by "due before now", never a scan)
//! and enqueues one job per user and tracker; the sync worker fetches a window that overlaps the
//! last one (trackers deliver late) and hands the records to the points engine, which books only
//! what changed.
//!
//! Trackers with an OAuth flow connect in two steps ([`SyncService::start_authorization`], then
//! [`SyncService::complete_authorization`] from the provider's redirect); their tokens are stored
//! sealed on the connection and refreshed shortly before they expire, or when the provider
//! refuses them. A grant the provider no longer honours parks the connection until the user
//! connects again. Webhooks name the user by the provider's id; an index item maps it back.

mod authorization;
pub use authorization::AuthorizingParty;
mod tokens;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use fittrack_domain::UserId;
use fittrack_domain::activity::Activity;

use crate::clock::Clock;
use crate::crypto::PiiCipher;
use crate::points::{EngineError, PointsEngine};
use crate::ports::{
    Condition, Index, ItemStore, Key, Query, Queue, QueueError, QueueId, StoreError, Table, TrackerError,
    TrackerProvider, Update, from_item, to_item,
};

/// Due connections are spread over this many index partitions.
const SHARDS: u32 = 8;
/// Each sync re-reads this much before the last one: trackers upload late.
const OVERLAP: chrono::Duration = chrono::Duration::days(2);
/// How far back the first sync of a new connection reaches.
const FIRST_SYNC: chrono::Duration = chrono::Duration::days(7);
/// Webhook notifications for one connection closer together than this enqueue one sync.
const WEBHOOK_DEBOUNCE: chrono::Duration = chrono::Duration::seconds(60);
/// How many times a day webhooks may move one connection's sync forward; past that it waits for
/// its regular schedule.
const WEBHOOK_SYNCS_PER_DAY: u32 = 24;
/// The longest a provider's `Retry-After` postpones a connection's next sync.
const MAX_PROVIDER_DELAY: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);
/// Access tokens this close to expiry are refreshed before use.
const REFRESH_MARGIN: chrono::Duration = chrono::Duration::minutes(5);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncJob {
    pub user_id: UserId,
    pub provider: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    #[default]
    Active,
    /// The provider refused our tokens and the refresh: only the user can reconnect it.
    ReauthorizationRequired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub provider: String,
    #[serde(default)]
    pub status: ConnectionStatus,
    pub connected_at: DateTime<Utc>,
    pub last_synced_to: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ConnectionItem {
    pk: String,
    sk: String,
    user_id: UserId,
    #[serde(flatten)]
    connection: Connection,
    /// The provider grant, sealed (see `tokens`); absent for trackers without OAuth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tokens: Option<String>,
    /// When a webhook last moved the next sync forward (epoch seconds), and how many times it did
    /// on `webhook_day` (the UTC date): kept across the worker's rewrites of the item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    webhook_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    webhook_day: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    webhook_count: Option<u32>,
    /// The due-index keys; absent while the connection waits for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1sk: Option<String>,
}

/// Maps a provider's user id (as webhooks name the user) to ours.
#[derive(Debug, Serialize, Deserialize)]
struct ProviderUserItem {
    pk: String,
    sk: String,
    user_id: UserId,
}

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
    RateLimited(crate::ratelimit::RateDecision),
}

async fn enqueue(queue: &dyn Queue, job: &SyncJob) -> Result<(), SyncError> {
    let body = serde_json::to_string(job).map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok(queue.send(QueueId::Sync, &body).await?)
}

/// The scheduled fan-out: one job per connection due by now. It needs no keys and no trackers,
/// so the fan-out function gets neither.
pub struct FanOut {
    store: Arc<dyn ItemStore>,
    queue: Arc<dyn Queue>,
    clock: Arc<dyn Clock>,
    /// How often each connection syncs.
    interval: chrono::Duration,
}

impl FanOut {
    pub fn new(store: Arc<dyn ItemStore>, queue: Arc<dyn Queue>, clock: Arc<dyn Clock>, interval: Duration) -> Self {
        Self { store, queue, clock, interval: sync_interval(interval) }
    }

    /// Each enqueued connection is leased with a condition, so overlapping fan-outs never enqueue
    /// the same connection twice. The lease moves its due time to the next regular sync, so a
    /// successful job leaves the index entry where it is (each move costs an index delete and
    /// put), and a job lost on the way comes back one interval later.
    pub async fn run(&self) -> Result<usize, SyncError> {
        let now = self.clock.now();
        let bound = format!("{:012}~", now.timestamp());
        let mut enqueued = 0;
        for shard in 0..SHARDS {
            let mut cursor = None;
            loop {
                let query = Query::partition(Table::Users, format!("SYNCDUE#{shard}"))
                    .on_index(Index::Gsi1)
                    .sort_below(bound.clone())
                    .limit(100)
                    .after(cursor);
                let page = self.store.query(query).await?;
                for item in page.items {
                    let due: ConnectionItem = from_item(item)?;
                    let Some(current) = due.gsi1sk else { continue };
                    let lease = Update::new()
                        .set("gsi1sk", due_sort_key(now + self.interval, due.user_id, &due.connection.provider));
                    let key = connection_key(due.user_id, &due.connection.provider);
                    match self
                        .store
                        .update(Table::Users, &key, lease, Some(Condition::equals("gsi1sk", current.as_str())))
                        .await
                    {
                        Ok(_) => {
                            let job = SyncJob { user_id: due.user_id, provider: due.connection.provider };
                            enqueue(self.queue.as_ref(), &job).await?;
                            enqueued += 1;
                        }
                        // Another fan-out took it, or it was just synced or disconnected.
                        Err(StoreError::ConditionFailed) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        if enqueued > 0 {
            tracing::info!(enqueued, "sync fan-out");
        }
        Ok(enqueued)
    }
}

/// What "initiate" gives back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ConnectStart {
    /// A tracker with no authorization step (the simulated one) is connected at once.
    Connected { connection: Connection },
    /// Send the user here; the provider redirects back to the callback.
    AuthorizationRequired {
        authorization_url: String,
        expires_in: i64,
        /// For the initiating browser only (an HttpOnly cookie), never in a body: the callback
        /// must present it (see [`AuthorizingParty`]).
        #[serde(skip)]
        browser_binding: String,
    },
}

fn connection_key(user: UserId, provider: &str) -> Key {
    Key::new(format!("USER#{user}"), format!("CONN#{provider}"))
}

fn provider_user_key(provider: &str, provider_user_id: &str) -> Key {
    Key::new(format!("TRACKERUSER#{provider}#{provider_user_id}"), "TRACKERUSER")
}

fn shard_of(user: UserId) -> u32 {
    user.to_string().bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % SHARDS
}

fn due_sort_key(due: DateTime<Utc>, user: UserId, provider: &str) -> String {
    format!("{:012}#{user}#{provider}", due.timestamp().max(0))
}

/// The configured interval; one too long for chrono (centuries) falls back to the default.
fn sync_interval(configured: Duration) -> chrono::Duration {
    chrono::Duration::from_std(configured).unwrap_or(chrono::Duration::minutes(15))
}

/// The due time a sort key holds.
fn due_of(sort_key: &str) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(sort_key.split('#').next()?.parse().ok()?, 0)
}

/// How often connections sync, and how often a user may ask for one in between.
#[derive(Debug, Clone, Copy)]
pub struct SyncSchedule {
    pub interval: Duration,
    pub manual_limit: crate::config::RateLimit,
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

#[derive(Clone)]
pub struct SyncService {
    store: Arc<dyn ItemStore>,
    queue: Arc<dyn Queue>,
    engine: PointsEngine,
    providers: HashMap<&'static str, Arc<dyn TrackerProvider>>,
    clock: Arc<dyn Clock>,
    interval: chrono::Duration,
    manual_limit: crate::config::RateLimit,
    cipher: Arc<PiiCipher>,
    api_url: String,
}

impl SyncService {
    pub fn new(deps: SyncDeps) -> Self {
        let providers = deps.providers.into_iter().map(|p| (p.name(), p)).collect();
        let interval = sync_interval(deps.schedule.interval);
        Self {
            store: deps.store,
            queue: deps.queue,
            engine: deps.engine,
            providers,
            clock: deps.clock,
            interval,
            manual_limit: deps.schedule.manual_limit,
            cipher: deps.cipher,
            api_url: deps.api_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The trackers this deployment offers, sorted.
    pub fn provider_names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.providers.keys().copied().collect();
        names.sort_unstable();
        names
    }

    fn provider(&self, name: &str) -> Result<&Arc<dyn TrackerProvider>, SyncError> {
        self.providers.get(name).ok_or(SyncError::UnknownProvider)
    }

    /// Where the provider sends the browser back: our callback for `provider`.
    pub fn redirect_uri(&self, provider: &str) -> String {
        format!("{}/api/v1/connections/{provider}/callback", self.api_url)
    }

    fn item(&self, user: UserId, connection: Connection, tokens: Option<String>, due: DateTime<Utc>) -> ConnectionItem {
        let key = connection_key(user, &connection.provider);
        let indexed = connection.status == ConnectionStatus::Active;
        ConnectionItem {
            pk: key.pk,
            sk: key.sk,
            user_id: user,
            gsi1pk: indexed.then(|| format!("SYNCDUE#{}", shard_of(user))),
            gsi1sk: indexed.then(|| due_sort_key(due, user, &connection.provider)),
            tokens,
            connection,
            webhook_at: None,
            webhook_day: None,
            webhook_count: None,
        }
    }

    /// "Connect": trackers without an authorization flow connect at once (and connecting again
    /// changes nothing); OAuth trackers answer with the provider's authorization URL.
    pub async fn start(&self, user: UserId, provider: &str) -> Result<ConnectStart, SyncError> {
        let tracker = self.provider(provider)?;
        let Some(flow) = tracker.oauth() else {
            return Ok(ConnectStart::Connected { connection: self.connect(user, provider).await? });
        };
        let request = flow.authorize(&self.redirect_uri(provider));
        let binding = crate::crypto::OpaqueToken::generate().secret;
        let pending = authorization::NewPending {
            user,
            provider,
            state: request.state.expose_secret(),
            pkce_verifier: request.pkce_verifier.expose_secret(),
            binding: &binding,
        };
        authorization::remember(self.store.as_ref(), &self.cipher, pending, self.clock.now()).await?;
        Ok(ConnectStart::AuthorizationRequired {
            authorization_url: request.url,
            expires_in: authorization::PENDING_TTL.num_seconds(),
            browser_binding: binding,
        })
    }

    /// Connects a tracker that needs no authorization flow (the simulated one); it is due at once.
    pub async fn connect(&self, user: UserId, provider: &str) -> Result<Connection, SyncError> {
        if self.provider(provider)?.oauth().is_some() {
            return Err(SyncError::WrongFlow);
        }
        let now = self.clock.now();
        let connection = Connection {
            provider: provider.to_owned(),
            status: ConnectionStatus::Active,
            connected_at: now,
            last_synced_to: None,
            last_error: None,
        };
        let item = to_item(&self.item(user, connection.clone(), None, now))?;
        match self.store.put(Table::Users, item, Some(Condition::NotExists)).await {
            Ok(()) => {
                tracing::info!(user_id = %user, provider, "tracker connected");
                Ok(connection)
            }
            // Already connected: connecting again changes nothing.
            Err(StoreError::ConditionFailed) => self.connection(user, provider).await,
            Err(e) => Err(e.into()),
        }
    }

    /// The provider's redirect back: exchanges the code (with the PKCE verifier kept for this
    /// `state`) and stores the grant sealed. Reconnecting replaces the old grant and keeps the
    /// sync history.
    ///
    /// # Errors
    /// [`SyncError::InvalidState`] for an unknown, used or expired `state`;
    /// [`SyncError::AuthorizationNotBound`] when `party` did not start it (nothing changes);
    /// [`SyncError::TrackerAccountInUse`] when the provider's account is linked to another of our
    /// accounts (both are flagged for review; nothing is linked); tracker and store failures.
    pub async fn complete_authorization(
        &self,
        provider: &str,
        state: &str,
        code: &str,
        party: &AuthorizingParty,
    ) -> Result<(UserId, Connection), SyncError> {
        let flow = self.provider(provider)?.oauth().ok_or(SyncError::WrongFlow)?;
        let now = self.clock.now();
        let pending = match authorization::take(self.store.as_ref(), &self.cipher, provider, state, party, now).await? {
            Ok(pending) => pending,
            Err(authorization::Refusal::Invalid) => return Err(SyncError::InvalidState),
            Err(authorization::Refusal::NotBound) => {
                tracing::warn!(provider, "OAuth callback from a party that did not start the authorization");
                return Err(SyncError::AuthorizationNotBound);
            }
        };
        let user = pending.user_id;
        let tokens = flow.exchange_code(code, &pending.pkce_verifier, &self.redirect_uri(provider)).await?;
        // A refused grant is dropped, not revoked: providers revoke per user and application
        // (Strava's deauthorize, Google's grant), which would also cut the first account's link.
        if let Some(id) = &tokens.provider_user_id {
            self.link_tracker_account(user, provider, id).await?;
        }
        let previous = self.connection(user, provider).await.ok();
        let connection = Connection {
            provider: provider.to_owned(),
            status: ConnectionStatus::Active,
            connected_at: previous.as_ref().map_or(now, |c| c.connected_at),
            last_synced_to: previous.and_then(|c| c.last_synced_to),
            last_error: None,
        };
        let sealed = tokens::seal(&self.cipher, user, provider, &tokens);
        self.store.put(Table::Users, to_item(&self.item(user, connection.clone(), Some(sealed), now))?, None).await?;
        tracing::info!(user_id = %user, provider, "tracker authorized");
        Ok((user, connection))
    }

    /// Links the provider's account to `user`, unless it is linked to another of our accounts:
    /// one tracker account feeds one FitTrack account at a time. A second link is refused and
    /// both accounts are flagged for review.
    async fn link_tracker_account(
        &self,
        user: UserId,
        provider: &str,
        provider_user_id: &str,
    ) -> Result<(), SyncError> {
        let key = provider_user_key(provider, provider_user_id);
        let index = ProviderUserItem { pk: key.pk.clone(), sk: key.sk.clone(), user_id: user };
        let free_or_ours = Condition::Or(vec![Condition::NotExists, Condition::equals("user_id", user.to_string())]);
        match self.store.put(Table::Users, to_item(&index)?, Some(free_or_ours)).await {
            Ok(()) => Ok(()),
            Err(StoreError::ConditionFailed) => {
                let owner = match self.store.get(Table::Users, &key).await? {
                    Some(item) => from_item::<ProviderUserItem>(item)?.user_id,
                    // Unlinked meanwhile: the caller may try again.
                    None => return Err(SyncError::TrackerAccountInUse),
                };
                tracing::warn!(user_id = %user, provider, "tracker account already linked to another account");
                let guard = format!("{provider}#{}", crate::crypto::hash_token(provider_user_id));
                self.engine.antigaming().flag_shared_tracker_account(&guard, &[user, owner]).await?;
                Err(SyncError::TrackerAccountInUse)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn connection(&self, user: UserId, provider: &str) -> Result<Connection, SyncError> {
        Ok(self.connection_item(user, provider).await?.ok_or(SyncError::NotConnected)?.connection)
    }

    async fn connection_item(&self, user: UserId, provider: &str) -> Result<Option<ConnectionItem>, StoreError> {
        self.store.get(Table::Users, &connection_key(user, provider)).await?.map(from_item).transpose()
    }

    pub async fn connections(&self, user: UserId) -> Result<Vec<Connection>, SyncError> {
        let page = self
            .store
            .query(Query::partition(Table::Users, format!("USER#{user}")).sort_prefix("CONN#").limit(50))
            .await?;
        page.items.into_iter().map(|i| Ok(from_item::<ConnectionItem>(i)?.connection)).collect()
    }

    /// Disconnects, revoking the grant at the provider first: if the provider cannot be reached
    /// the connection stays, so the user can try again rather than leave a live grant behind.
    pub async fn disconnect(&self, user: UserId, provider: &str) -> Result<(), SyncError> {
        let item = self.connection_item(user, provider).await?.ok_or(SyncError::NotConnected)?;
        let sealed = item.tokens.as_deref().and_then(|s| tokens::open(&self.cipher, user, provider, s));
        if let (Some(flow), Some(grant)) = (self.providers.get(provider).and_then(|p| p.oauth()), &sealed) {
            match flow.revoke(grant).await {
                // Already revoked at the provider: nothing left to do there.
                Ok(()) | Err(TrackerError::Unauthorized) => {}
                Err(error) => return Err(error.into()),
            }
        }
        match self.store.delete(Table::Users, &connection_key(user, provider), Some(Condition::Exists)).await {
            Ok(()) | Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e.into()),
        }
        if let Some(id) = sealed.and_then(|g| g.provider_user_id) {
            // Only our own link: the tracker account may have moved on to another account since.
            let ours = Condition::equals("user_id", user.to_string());
            match self.store.delete(Table::Users, &provider_user_key(provider, &id), Some(ours)).await {
                Ok(()) | Err(StoreError::ConditionFailed) => {}
                Err(e) => return Err(e.into()),
            }
        }
        tracing::info!(user_id = %user, provider, "tracker disconnected");
        Ok(())
    }

    /// Enqueues a sync now (the user's "sync" button), at most `limit` times per window per user.
    pub async fn request_sync(&self, user: UserId, provider: &str) -> Result<(), SyncError> {
        self.connection(user, provider).await?;
        let action = crate::config::RateLimitedAction::ManualSync;
        let decision =
            crate::ratelimit::hit(self.store.as_ref(), action, &user.to_string(), self.manual_limit, self.clock.now())
                .await?;
        if !decision.allowed {
            return Err(SyncError::RateLimited(decision));
        }
        self.enqueue(&SyncJob { user_id: user, provider: provider.to_owned() }).await
    }

    /// A provider's webhook says the user named `provider_user_id` has new data: their next sync
    /// moves forward to now (the fan-out picks it up within its minute). Never more: a webhook
    /// cannot enqueue work itself, moves a connection at most once per [`WEBHOOK_DEBOUNCE`] and at
    /// most [`WEBHOOK_SYNCS_PER_DAY`] times a day, so forged notifications (Strava's carry no
    /// signature) cannot spend the application's provider quota. Unknown users are ignored (the
    /// provider only needs a 2xx). Returns whether the sync was moved.
    ///
    /// # Errors
    /// [`SyncError::UnknownProvider`]; store failures.
    pub async fn notify(&self, provider: &str, provider_user_id: &str) -> Result<bool, SyncError> {
        self.provider(provider)?;
        let Some(item) = self.store.get(Table::Users, &provider_user_key(provider, provider_user_id)).await? else {
            return Ok(false);
        };
        let user = from_item::<ProviderUserItem>(item)?.user_id;
        let now = self.clock.now();
        let (epoch, today) = (now.timestamp(), now.date_naive().to_string());
        let due_now = due_sort_key(now, user, provider);
        let movable = Condition::And(vec![
            Condition::Exists,
            Condition::equals("status", "active"),
            // Only forward: a connection due by now keeps its place.
            Condition::at_least("gsi1sk", due_sort_key(now + chrono::Duration::seconds(1), user, provider)),
            Condition::Or(vec![
                Condition::missing("webhook_at"),
                Condition::less_than("webhook_at", epoch - WEBHOOK_DEBOUNCE.num_seconds()),
            ]),
        ]);
        let moved = Update::new().set("gsi1sk", due_now).set("webhook_at", epoch);
        let attempts = [
            // Another one today, within the budget.
            (
                Condition::And(vec![
                    movable.clone(),
                    Condition::equals("webhook_day", today.clone()),
                    Condition::less_than("webhook_count", WEBHOOK_SYNCS_PER_DAY),
                ]),
                moved.clone().add("webhook_count", 1),
            ),
            // The first one today.
            (
                Condition::And(vec![
                    movable,
                    Condition::Or(vec![
                        Condition::missing("webhook_day"),
                        Condition::less_than("webhook_day", today.clone()),
                    ]),
                ]),
                moved.set("webhook_day", today).set("webhook_count", 1),
            ),
        ];
        for (condition, update) in attempts {
            match self.store.update(Table::Users, &connection_key(user, provider), update, Some(condition)).await {
                Ok(_) => return Ok(true),
                Err(StoreError::ConditionFailed) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(false)
    }

    async fn enqueue(&self, job: &SyncJob) -> Result<(), SyncError> {
        enqueue(self.queue.as_ref(), job).await
    }

    /// The scheduled fan-out (see [`FanOut`]), on this service's store and queue.
    pub async fn fan_out(&self) -> Result<usize, SyncError> {
        FanOut {
            store: Arc::clone(&self.store),
            queue: Arc::clone(&self.queue),
            clock: Arc::clone(&self.clock),
            interval: self.interval,
        }
        .run()
        .await
    }

    /// A usable access token: the stored one, refreshed first if it is about to expire (or if
    /// `force`, after the provider refused it). A refreshed grant is stored at once, so a crash
    /// after the refresh cannot lose a rotated refresh token.
    async fn access_token(
        &self,
        user: UserId,
        tracker: &dyn TrackerProvider,
        item: &mut ConnectionItem,
        force: bool,
    ) -> Result<Option<String>, TrackerError> {
        let Some(flow) = tracker.oauth() else { return Ok(None) };
        let provider = tracker.name();
        let grant = item
            .tokens
            .as_deref()
            .and_then(|s| tokens::open(&self.cipher, user, provider, s))
            .ok_or(TrackerError::Unauthorized)?;
        let now = self.clock.now();
        let expiring = grant.expires_at.is_some_and(|at| at - REFRESH_MARGIN <= now);
        if !force && !expiring {
            return Ok(Some(grant.access_token.expose_secret().to_owned()));
        }
        let refresh_token = grant.refresh_token.as_ref().ok_or(TrackerError::Unauthorized)?;
        let refreshed = tokens::merge_refreshed(&grant, flow.refresh(refresh_token.expose_secret()).await?);
        let sealed = tokens::seal(&self.cipher, user, provider, &refreshed);
        let update = Update::new().set("tokens", sealed.as_str());
        match self.store.update(Table::Users, &connection_key(user, provider), update, Some(Condition::Exists)).await {
            Ok(_) => {}
            Err(StoreError::ConditionFailed) => return Err(TrackerError::Unauthorized), // disconnected meanwhile
            Err(e) => return Err(TrackerError::Unavailable(e.to_string())),
        }
        item.tokens = Some(sealed);
        tracing::info!(user_id = %user, provider, "tracker token refreshed");
        Ok(Some(refreshed.access_token.expose_secret().to_owned()))
    }

    async fn fetch(
        &self,
        user: UserId,
        tracker: &dyn TrackerProvider,
        item: &mut ConnectionItem,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<fittrack_domain::activity::Activity>, TrackerError> {
        let token = self.access_token(user, tracker, item, false).await?;
        match tracker.fetch(token.as_deref(), user, from, to).await {
            // The provider refused a token we thought valid (revoked and re-granted, clock skew):
            // refresh once and try again.
            Err(TrackerError::Unauthorized) if token.is_some() => {
                let token = self.access_token(user, tracker, item, true).await?;
                tracker.fetch(token.as_deref(), user, from, to).await
            }
            other => other,
        }
    }

    /// The sync worker's job: fetch the window since the last sync (with overlap), ingest it,
    /// and schedule the next sync. A provider failure is recorded on the connection and retried
    /// at the next interval (rate limits: after the provider's delay); a grant the provider no
    /// longer honours takes the connection off the schedule until the user reconnects.
    pub async fn run(&self, job: &SyncJob) -> Result<usize, SyncError> {
        let now = self.clock.now();
        let tracker = self.provider(&job.provider)?.clone();
        let Some(mut item) = self.connection_item(job.user_id, &job.provider).await? else {
            return Ok(0); // disconnected since the job was queued
        };
        if item.connection.status != ConnectionStatus::Active {
            return Ok(0);
        }
        let from = item.connection.last_synced_to.map_or(now - FIRST_SYNC, |last| last - OVERLAP);
        // Leased by the fan-out (or not yet due, for a webhook or manual sync): a success keeps
        // that due time rather than moving the index entry again.
        let scheduled = item.gsi1sk.as_deref().and_then(due_of).filter(|due| *due > now);
        let result = self.fetch(job.user_id, tracker.as_ref(), &mut item, from, now).await;
        let (next_due, outcome) = match result {
            Ok(records) => {
                // Provider data is checked like a device upload's before it can reach the rules.
                let fetched = records.len();
                let records: Vec<Activity> = records.into_iter().filter(|r| r.is_plausible(now)).collect();
                if records.len() < fetched {
                    tracing::warn!(provider = %job.provider, dropped = fetched - records.len(), "implausible tracker records dropped");
                }
                let count = records.len();
                self.engine.ingest(job.user_id, Some(&job.provider), &records).await?;
                item.connection.last_synced_to = Some(now);
                item.connection.last_error = None;
                (scheduled.unwrap_or(now + self.interval), Ok(count))
            }
            Err(error) => {
                let delay = match &error {
                    // A provider's Retry-After is believed up to a day.
                    TrackerError::RateLimited(after) => {
                        chrono::Duration::from_std((*after).min(MAX_PROVIDER_DELAY)).unwrap_or(self.interval)
                    }
                    TrackerError::Unauthorized => {
                        item.connection.status = ConnectionStatus::ReauthorizationRequired;
                        self.interval
                    }
                    _ => self.interval,
                };
                item.connection.last_error = Some(error.to_string());
                (now.checked_add_signed(delay).unwrap_or(now + self.interval), Err(SyncError::Tracker(error)))
            }
        };
        let webhooks = (item.webhook_at, item.webhook_day, item.webhook_count);
        let mut item = self.item(job.user_id, item.connection, item.tokens, next_due);
        // The webhook debounce and budget outlive the sync they caused.
        (item.webhook_at, item.webhook_day, item.webhook_count) = webhooks;
        let item = to_item(&item)?;
        self.store.put(Table::Users, item, Some(Condition::Exists)).await.or_else(|e| match e {
            StoreError::ConditionFailed => Ok(()), // disconnected meanwhile
            other => Err(other),
        })?;
        outcome
    }

    /// A batch of queued jobs, as the worker receives them; returns the ids of failed messages.
    /// The jobs run concurrently (a job mostly waits on its tracker's API), each in its own task,
    /// so one job's failure, or even a panic, fails only its own message.
    pub async fn run_batch(&self, messages: &[(&str, &str)]) -> Vec<String> {
        let mut tasks = tokio::task::JoinSet::new();
        let mut ids = std::collections::HashMap::new();
        for &(id, body) in messages {
            let sync = self.clone();
            let body = body.to_owned();
            let task = tasks.spawn(async move { sync.run_message(&body).await });
            ids.insert(task.id(), id.to_owned());
        }
        let mut failed = Vec::new();
        while let Some(joined) = tasks.join_next_with_id().await {
            let (task, outcome) = match joined {
                Ok((task, outcome)) => (task, outcome),
                Err(error) => {
                    tracing::error!(%error, "sync job panicked");
                    (error.id(), Err(SyncError::Store(StoreError::Invalid("the job panicked".into()))))
                }
            };
            let id = ids.remove(&task).unwrap_or_default();
            match outcome {
                Ok((job, records)) => {
                    tracing::info!(user_id = %job.user_id, provider = job.provider, records, "synced")
                }
                // Tracker failures are recorded and rescheduled; only our own failures are retried.
                Err(SyncError::Tracker(error)) => {
                    tracing::warn!(message_id = id.as_str(), %error, "tracker failed; rescheduled")
                }
                Err(error) => {
                    tracing::error!(message_id = id.as_str(), %error, "sync failed");
                    failed.push(id);
                }
            }
        }
        failed
    }

    async fn run_message(&self, body: &str) -> Result<(SyncJob, usize), SyncError> {
        let job =
            serde_json::from_str::<SyncJob>(body).map_err(|e| SyncError::Store(StoreError::Invalid(e.to_string())))?;
        let records = self.run(&job).await?;
        Ok((job, records))
    }
}
