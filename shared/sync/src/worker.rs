//! The sync job: fetch the window since the last sync (overlapping it, as trackers deliver late)
//! with a fresh access token, hand the records to the points engine and schedule the next sync;
//! and the queue consumer that runs it for each [`SyncJob`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;

use fittrack_domain::UserId;
use fittrack_domain::activity::Activity;

use fittrack_platform::batch::{HandlerError, MessageHandler};
use fittrack_platform::clock::Clock;
use fittrack_platform::crypto::PiiCipher;
use fittrack_platform::messages::SyncJob;
use fittrack_platform::ports::{Condition, ItemStore, StoreError, Table, TrackerError, TrackerProvider, Update};
use fittrack_platform::records::RecordStore;
use fittrack_points::PointsEngine;

use crate::records::{
    Connection, ConnectionItem, ConnectionStatus, DUE_PREFIX, connection_key, due_of, due_sort_key, shard_of,
    sync_interval,
};
use crate::{SyncError, tokens};

/// Each sync re-reads this much before the last one: trackers upload late.
const OVERLAP: chrono::Duration = chrono::Duration::days(2);
/// How far back the first sync of a new connection reaches.
const FIRST_SYNC: chrono::Duration = chrono::Duration::days(7);
/// The longest a provider's `Retry-After` postpones a connection's next sync.
const MAX_PROVIDER_DELAY: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);
/// Access tokens this close to expiry are refreshed before use.
const REFRESH_MARGIN: chrono::Duration = chrono::Duration::minutes(5);

/// The sync job alone: what the sync worker function builds. It needs the store, the points
/// engine, the trackers and the key that seals their grants; no queue and no OAuth redirect.
#[derive(Clone)]
pub struct SyncWorker {
    pub(crate) store: Arc<dyn ItemStore>,
    pub(crate) engine: PointsEngine,
    pub(crate) providers: HashMap<&'static str, Arc<dyn TrackerProvider>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) interval: chrono::Duration,
    /// Seals provider tokens at rest (the service shares it to seal PKCE verifiers).
    pub(crate) cipher: Arc<PiiCipher>,
}

impl SyncWorker {
    pub fn new(
        store: Arc<dyn ItemStore>,
        engine: PointsEngine,
        providers: Vec<Arc<dyn TrackerProvider>>,
        clock: Arc<dyn Clock>,
        interval: Duration,
        cipher: Arc<PiiCipher>,
    ) -> Self {
        let providers = providers.into_iter().map(|p| (p.name(), p)).collect();
        Self { store, engine, providers, clock, interval: sync_interval(interval), cipher }
    }

    /// The tracker named `name`, if this deployment offers it.
    ///
    /// # Errors
    /// [`SyncError::UnknownProvider`] when it does not.
    pub(crate) fn provider(&self, name: &str) -> Result<&Arc<dyn TrackerProvider>, SyncError> {
        self.providers.get(name).ok_or(SyncError::UnknownProvider)
    }

    pub(crate) fn item(
        &self,
        user: UserId,
        connection: Connection,
        tokens: Option<String>,
        due: DateTime<Utc>,
    ) -> ConnectionItem {
        let key = connection_key(user, &connection.provider);
        let indexed = connection.status == ConnectionStatus::Active;
        ConnectionItem {
            pk: key.pk,
            sk: key.sk,
            user_id: user,
            gsi1pk: indexed.then(|| format!("{DUE_PREFIX}{}", shard_of(user))),
            gsi1sk: indexed.then(|| due_sort_key(due, user, &connection.provider)),
            tokens,
            connection,
            webhook_at: None,
            webhook_day: None,
            webhook_count: None,
        }
    }

    /// The stored connection item of `user` and `provider`, if any.
    ///
    /// # Errors
    /// The store's failures; [`StoreError::Corrupt`] when the item does not read.
    pub(crate) async fn connection_item(
        &self,
        user: UserId,
        provider: &str,
    ) -> Result<Option<ConnectionItem>, StoreError> {
        self.store.load_record(&connection_key(user, provider)).await
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
        let update = Update::new().set(ConnectionItem::TOKENS, sealed.as_str());
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
    ///
    /// # Errors
    /// [`SyncError::UnknownProvider`] for a tracker this deployment does not offer; [`SyncError::Tracker`]
    /// when the tracker fails (after the failure is recorded on the connection and the next sync
    /// scheduled); [`SyncError::Engine`] when the records cannot be booked; [`SyncError::Store`] for store
    /// failures.
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
        self.store.save_record(&item, Some(Condition::Exists)).await.or_else(|e| match e {
            StoreError::ConditionFailed => Ok(()), // disconnected meanwhile
            other => Err(other),
        })?;
        outcome
    }
}

/// The sync worker's consumer: [`fittrack_platform::batch::run_batch`] hands it each queued job
/// (the jobs of a batch run concurrently, each in its own task, as a job mostly waits on its
/// tracker's API). Tracker failures are recorded on the connection and rescheduled by
/// [`SyncWorker::run`], so they are not retried through the queue; only our own failures (the
/// store, the points engine) are.
#[async_trait]
impl MessageHandler<SyncJob> for SyncWorker {
    const NAME: &'static str = "sync";

    async fn handle(&self, job: SyncJob) -> Result<(), HandlerError> {
        match self.run(&job).await {
            Ok(records) => {
                tracing::info!(user_id = %job.user_id, provider = job.provider, records, "synced");
                Ok(())
            }
            // Tracker failures are recorded and rescheduled; only our own failures are retried.
            Err(SyncError::Tracker(error)) => {
                tracing::warn!(user_id = %job.user_id, provider = job.provider, %error, "tracker failed; rescheduled");
                Ok(())
            }
            Err(error) => Err(HandlerError::retry(error)),
        }
    }
}
