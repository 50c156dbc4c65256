//! Tracker connections and sync. A connection carries when it is next due; a scheduled fan-out
//! finds the due ones through the index (sharded, and bounded by "due before now", never a scan)
//! and enqueues one job per user and tracker; the sync worker fetches a window that overlaps the
//! last one (trackers deliver late) and hands the records to the points engine, which books only
//! what changed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use fittrack_domain::UserId;

use crate::clock::Clock;
use crate::points::{EngineError, PointsEngine};
use crate::ports::{
    Condition, Index, ItemStore, Key, Query, Queue, QueueError, QueueId, StoreError, Table, TrackerError,
    TrackerProvider, Update, from_item, to_item,
};

/// Due connections are spread over this many index partitions.
const SHARDS: u32 = 8;
/// A job enqueued by the fan-out is not enqueued again for this long (it is being worked on).
const LEASE: chrono::Duration = chrono::Duration::minutes(5);
/// Each sync re-reads this much before the last one: trackers upload late.
const OVERLAP: chrono::Duration = chrono::Duration::days(2);
/// How far back the first sync of a new connection reaches.
const FIRST_SYNC: chrono::Duration = chrono::Duration::days(7);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncJob {
    pub user_id: UserId,
    pub provider: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub provider: String,
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
    gsi1pk: String,
    gsi1sk: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("no such tracker")]
    UnknownProvider,
    #[error("not connected")]
    NotConnected,
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

fn connection_key(user: UserId, provider: &str) -> Key {
    Key::new(format!("USER#{user}"), format!("CONN#{provider}"))
}

fn shard_of(user: UserId) -> u32 {
    user.to_string().bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % SHARDS
}

fn due_sort_key(due: DateTime<Utc>, user: UserId, provider: &str) -> String {
    format!("{:012}#{user}#{provider}", due.timestamp().max(0))
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
}

/// How often connections sync, and how often a user may ask for one in between.
#[derive(Debug, Clone, Copy)]
pub struct SyncSchedule {
    pub interval: Duration,
    pub manual_limit: crate::config::RateLimit,
}

impl SyncService {
    pub fn new(
        store: Arc<dyn ItemStore>,
        queue: Arc<dyn Queue>,
        engine: PointsEngine,
        providers: Vec<Arc<dyn TrackerProvider>>,
        clock: Arc<dyn Clock>,
        schedule: SyncSchedule,
    ) -> Self {
        let providers = providers.into_iter().map(|p| (p.name(), p)).collect();
        let interval = chrono::Duration::from_std(schedule.interval).unwrap_or(chrono::Duration::minutes(15));
        Self { store, queue, engine, providers, clock, interval, manual_limit: schedule.manual_limit }
    }

    fn provider(&self, name: &str) -> Result<&Arc<dyn TrackerProvider>, SyncError> {
        self.providers.get(name).ok_or(SyncError::UnknownProvider)
    }

    fn item(&self, user: UserId, connection: Connection, due: DateTime<Utc>) -> ConnectionItem {
        let key = connection_key(user, &connection.provider);
        ConnectionItem {
            pk: key.pk,
            sk: key.sk,
            user_id: user,
            gsi1pk: format!("SYNCDUE#{}", shard_of(user)),
            gsi1sk: due_sort_key(due, user, &connection.provider),
            connection,
        }
    }

    /// Connects a tracker that needs no authorization flow (the simulated one); it is due at once.
    pub async fn connect(&self, user: UserId, provider: &str) -> Result<Connection, SyncError> {
        self.provider(provider)?;
        let now = self.clock.now();
        let connection =
            Connection { provider: provider.to_owned(), connected_at: now, last_synced_to: None, last_error: None };
        let item = to_item(&self.item(user, connection.clone(), now))?;
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

    pub async fn connection(&self, user: UserId, provider: &str) -> Result<Connection, SyncError> {
        let item =
            self.store.get(Table::Users, &connection_key(user, provider)).await?.ok_or(SyncError::NotConnected)?;
        Ok(from_item::<ConnectionItem>(item)?.connection)
    }

    pub async fn connections(&self, user: UserId) -> Result<Vec<Connection>, SyncError> {
        let page = self
            .store
            .query(Query::partition(Table::Users, format!("USER#{user}")).sort_prefix("CONN#").limit(50))
            .await?;
        page.items.into_iter().map(|i| Ok(from_item::<ConnectionItem>(i)?.connection)).collect()
    }

    pub async fn disconnect(&self, user: UserId, provider: &str) -> Result<(), SyncError> {
        match self.store.delete(Table::Users, &connection_key(user, provider), Some(Condition::Exists)).await {
            Ok(()) => Ok(()),
            Err(StoreError::ConditionFailed) => Err(SyncError::NotConnected),
            Err(e) => Err(e.into()),
        }
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

    async fn enqueue(&self, job: &SyncJob) -> Result<(), SyncError> {
        let body = serde_json::to_string(job).map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(self.queue.send(QueueId::Sync, &body).await?)
    }

    /// The scheduled fan-out: one job per connection due by now. Each enqueued connection is
    /// leased (its due time pushed out) with a condition, so overlapping fan-outs never enqueue
    /// the same connection twice.
    pub async fn fan_out(&self) -> Result<usize, SyncError> {
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
                    let lease =
                        Update::new().set("gsi1sk", due_sort_key(now + LEASE, due.user_id, &due.connection.provider));
                    let key = connection_key(due.user_id, &due.connection.provider);
                    match self
                        .store
                        .update(Table::Users, &key, lease, Some(Condition::equals("gsi1sk", due.gsi1sk.as_str())))
                        .await
                    {
                        Ok(_) => {
                            self.enqueue(&SyncJob { user_id: due.user_id, provider: due.connection.provider }).await?;
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

    /// The sync worker's job: fetch the window since the last sync (with overlap), ingest it,
    /// and schedule the next sync. A provider failure is recorded on the connection and retried
    /// at the next interval (rate limits: after the provider's delay).
    pub async fn run(&self, job: &SyncJob) -> Result<usize, SyncError> {
        let now = self.clock.now();
        let provider = self.provider(&job.provider)?.clone();
        let key = connection_key(job.user_id, &job.provider);
        let Some(item) = self.store.get(Table::Users, &key).await? else {
            return Ok(0); // disconnected since the job was queued
        };
        let mut connection = from_item::<ConnectionItem>(item)?.connection;
        let from = connection.last_synced_to.map_or(now - FIRST_SYNC, |last| last - OVERLAP);
        let result = provider.fetch(job.user_id, from, now).await;
        let (next_due, outcome) = match result {
            Ok(records) => {
                let count = records.len();
                self.engine.ingest(job.user_id, Some(&job.provider), &records).await?;
                connection.last_synced_to = Some(now);
                connection.last_error = None;
                (now + self.interval, Ok(count))
            }
            Err(error) => {
                let delay = match &error {
                    TrackerError::RateLimited(after) => chrono::Duration::from_std(*after).unwrap_or(self.interval),
                    _ => self.interval,
                };
                connection.last_error = Some(error.to_string());
                (now + delay, Err(SyncError::Tracker(error)))
            }
        };
        let item = to_item(&self.item(job.user_id, connection, next_due))?;
        self.store.put(Table::Users, item, Some(Condition::Exists)).await.or_else(|e| match e {
            StoreError::ConditionFailed => Ok(()), // disconnected meanwhile
            other => Err(other),
        })?;
        outcome
    }

    /// A batch of queued jobs, as the worker receives them; returns the ids of failed messages.
    pub async fn run_batch(&self, messages: &[(&str, &str)]) -> Vec<String> {
        let mut failed = Vec::new();
        for &(id, body) in messages {
            let outcome = match serde_json::from_str::<SyncJob>(body) {
                Ok(job) => self.run(&job).await.map(|n| (job, n)),
                Err(e) => Err(SyncError::Store(StoreError::Invalid(e.to_string()))),
            };
            match outcome {
                Ok((job, records)) => {
                    tracing::info!(user_id = %job.user_id, provider = job.provider, records, "synced")
                }
                // Tracker failures are recorded and rescheduled; only our own failures are retried.
                Err(SyncError::Tracker(error)) => {
                    tracing::warn!(message_id = id, %error, "tracker failed; rescheduled")
                }
                Err(error) => {
                    tracing::error!(message_id = id, %error, "sync failed");
                    failed.push(id.to_owned());
                }
            }
        }
        failed
    }
}
