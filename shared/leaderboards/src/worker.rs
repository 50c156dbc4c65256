//! The leaderboards worker: point events in, boards up to date.
//!
//! Every event is first *staged* in its tier's queue partition (`Q#<tier>`, one item per event,
//! keyed by its `event_id`, so a repeat overwrites itself). Then whoever holds the tier's *lease*
//! drains that partition in rounds: it applies what is staged ([`Standings::apply`]) and deletes
//! it. One writer per tier at a time is what lets the count index recount instead of increment,
//! and lets many events share one write of a count item; any number of consumers may stage.
//!
//! A consumer that finds the lease taken leaves its events staged: the holder drains again after
//! releasing the lease, so nothing waits for the next event. A holder that dies leaves the lease
//! to expire and its events staged; the next batch of the tier, or the sweep on a schedule, picks
//! them up. Repeats and replays are harmless: a day counts each ledger entry once.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::{StreamExt, TryStreamExt, stream};

use fittrack_domain::Tier;
use fittrack_domain::leaderboard::BoardDay;
use fittrack_platform::batch::{HandlerError, MessageHandler};
use fittrack_platform::clock::Clock;
use fittrack_platform::messages::{BoardUpdate, PointEvent, ProfileChanged};
use fittrack_platform::ports::store::key_of;
use fittrack_platform::ports::{Condition, ItemStore, Key, Query, StoreError, Table, from_item, to_item};
use fittrack_users::UserDirectory;

use crate::keys::{day_key, lease_key, staged_partition};
use crate::standings::{Contribution, Standings};

/// How long a lease holds without being released: longer than any round.
const LEASE_SECONDS: i64 = 60;
/// A holder stops starting rounds after this, so it releases well inside its lease and its
/// Lambda's timeout.
const DRAIN_BUDGET: Duration = Duration::from_secs(20);
/// Staged events applied per round.
const ROUND: u32 = 500;

#[derive(Clone)]
pub struct LeaderboardWorker {
    store: Arc<dyn ItemStore>,
    ledger: fittrack_points::PointsLedger,
    users: UserDirectory,
    standings: Standings,
    clock: Arc<dyn Clock>,
    /// Tells this worker's leases from others'.
    owner: String,
    /// Tiers staged to since the last drain.
    touched: Arc<Mutex<BTreeSet<String>>>,
    /// One drain at a time in this process: the consumer and the sweep share the lease's owner,
    /// and must not both write a tier at once.
    draining: Arc<tokio::sync::Mutex<()>>,
}

impl LeaderboardWorker {
    pub fn new(store: Arc<dyn ItemStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            ledger: fittrack_points::PointsLedger::new(Arc::clone(&store), Arc::clone(&clock)),
            users: UserDirectory::new(Arc::clone(&store)),
            standings: Standings::new(Arc::clone(&store)),
            store,
            clock,
            owner: uuid::Uuid::new_v4().simple().to_string(),
            touched: Arc::default(),
            draining: Arc::default(),
        }
    }

    /// Stages one event in the queue of each tier its days count in; returns those tiers.
    ///
    /// # Errors
    /// The store's failures; staging again is harmless.
    pub async fn stage(&self, event: &PointEvent) -> Result<BTreeSet<String>, StoreError> {
        // The ledger is the truth: a message only says which entry to count. One that names no
        // entry (forged by anything else that can send to the queue) counts nothing.
        let entry = match self.ledger.entry(event.user_id, event.seq).await {
            Ok(Some(entry)) => entry,
            Ok(None) => {
                tracing::warn!(event_id = event.event_id.as_str(), "point event without a ledger entry; ignored");
                return Ok(BTreeSet::new());
            }
            Err(fittrack_points::LedgerError::Store(error)) => return Err(error),
            Err(other) => return Err(StoreError::Unavailable(other.to_string())),
        };
        let board_days = entry.counted_days();
        if board_days.is_empty() {
            return Ok(BTreeSet::new());
        }
        let competitor = self.users.competitor(event.user_id).await?;
        let mut by_tier: std::collections::BTreeMap<String, Vec<BoardDay>> = Default::default();
        for day in &board_days {
            let Some(tier) = self.tier_of_day(event, day.day, competitor.as_ref()).await? else { continue };
            by_tier.entry(tier).or_default().push(*day);
        }
        for (tier, days) in &by_tier {
            let contribution =
                Contribution { user: event.user_id, seq: event.seq, created_at: entry.created_at, days: days.clone() };
            // Keys in the order events happened, so a backlog drains oldest first.
            let id = format!("{:010}:{}:{}", entry.created_at.max(0), event.user_id, event.seq);
            self.put_staged(tier, &contribution, id).await?;
        }
        Ok(by_tier.into_keys().collect())
    }

    /// Stages a rename of the user's rows in every tier whose boards they are on.
    ///
    /// # Errors
    /// The store's failures; staging again is harmless.
    pub async fn stage_rename(&self, change: &ProfileChanged) -> Result<BTreeSet<String>, StoreError> {
        let standings = crate::standings::standings_of(self.store.as_ref(), change.user_id).await?;
        let tiers: BTreeSet<String> = standings.keys().map(|board| board.tier.clone()).collect();
        for tier in &tiers {
            let rename = Contribution { user: change.user_id, seq: 0, created_at: change.changed_at, days: Vec::new() };
            self.put_staged(tier, &rename, format!("{:010}:{}:rename", change.changed_at, change.user_id)).await?;
        }
        Ok(tiers)
    }

    /// The tier a day counts in: the one it was first counted in, else the user's tier that day.
    async fn tier_of_day(
        &self,
        event: &PointEvent,
        day: NaiveDate,
        competitor: Option<&fittrack_users::Competitor>,
    ) -> Result<Option<String>, StoreError> {
        if let Some(item) = self.store.get(Table::Leaderboards, &day_key(event.user_id, day)).await?
            && let Some(tier) = item.get("tier").and_then(|t| t.as_str())
        {
            return Ok(Some(tier.to_owned()));
        }
        Ok(competitor.and_then(|c| c.placement.tier_on(day)).map(str::to_owned))
    }

    /// One item per event (and per moved day): staged again, it overwrites itself.
    async fn put_staged(&self, tier: &str, contribution: &Contribution, id: String) -> Result<(), StoreError> {
        let mut item = to_item(contribution)?;
        item.insert("pk".into(), staged_partition(tier).into());
        item.insert("sk".into(), id.into());
        self.store.put(Table::Leaderboards, item, None).await
    }

    /// Drains the staged events of `tiers` whose lease this worker gets; returns how many events
    /// were applied.
    ///
    /// # Errors
    /// The store's failures; what was not applied stays staged.
    pub async fn drain(&self, tiers: &BTreeSet<String>) -> Result<usize, StoreError> {
        let _one_at_a_time = self.draining.lock().await;
        let started = Instant::now();
        let mut applied = 0;
        for tier in tiers {
            // Drain while holding the lease; after releasing, look once more, so an event staged
            // while this worker held the lease is not left for the next one.
            while started.elapsed() < DRAIN_BUDGET && self.acquire(tier).await? {
                let drained = self.drain_tier(tier, started).await;
                self.release(tier).await?;
                applied += drained?;
                if !self.has_staged(tier).await? {
                    break;
                }
            }
        }
        Ok(applied)
    }

    /// Drains every tier: what the schedule runs, for events left by a writer that died.
    ///
    /// # Errors
    /// As [`LeaderboardWorker::drain`].
    pub async fn sweep(&self) -> Result<usize, StoreError> {
        let mut tiers = BTreeSet::new();
        for tier in Tier::all() {
            if self.has_staged(&tier.code()).await? {
                tiers.insert(tier.code());
            }
        }
        self.drain(&tiers).await
    }

    async fn drain_tier(&self, tier: &str, started: Instant) -> Result<usize, StoreError> {
        let mut applied = 0;
        // Every round after the first renews the lease (the caller just took it), so a long
        // drain keeps it.
        let mut rounds = 0;
        while started.elapsed() < DRAIN_BUDGET && (rounds == 0 || self.acquire(tier).await?) {
            rounds += 1;
            let page =
                self.store.query(Query::partition(Table::Leaderboards, staged_partition(tier)).limit(ROUND)).await?;
            if page.items.is_empty() {
                break;
            }
            let mut keys = Vec::new();
            let mut contributions = Vec::new();
            for item in page.items {
                keys.push(key_of(&item)?);
                match from_item::<Contribution>(item.clone()) {
                    Ok(c) => contributions.push(c),
                    Err(error) => {
                        tracing::error!(%error, tier, "unreadable staged event set aside");
                        self.set_aside(tier, item).await?;
                    }
                }
            }
            let count = contributions.len();
            let unapplied = self.standings.apply(tier, contributions, self.clock.now()).await?;
            for dead in &unapplied.dead {
                let mut item = to_item(dead)?;
                item.insert("sk".into(), format!("{:010}:{}:{}", dead.created_at.max(0), dead.user, dead.seq).into());
                self.set_aside(tier, item).await?;
            }
            for (other, contribution) in &unapplied.elsewhere {
                let day = contribution.days.first().map(|d| d.day.to_string()).unwrap_or_default();
                let id =
                    format!("{:010}:{}:{}:{day}", contribution.created_at.max(0), contribution.user, contribution.seq);
                self.put_staged(other, contribution, id).await?;
                self.touched.lock().map(|mut t| t.insert(other.clone())).ok();
            }
            self.delete_all(keys).await?;
            applied += count;
        }
        Ok(applied)
    }

    /// Keeps an event that cannot be applied in `DEAD#<tier>` for an operator (the error is
    /// logged; `fittrack leaderboards rebuild` counts it from the ledger once the cause is fixed).
    async fn set_aside(&self, tier: &str, mut item: fittrack_platform::ports::Item) -> Result<(), StoreError> {
        item.insert("pk".into(), crate::keys::dead_partition(tier).into());
        if !item.contains_key("sk") {
            item.insert("sk".into(), uuid::Uuid::new_v4().to_string().into());
        }
        self.store.put(Table::Leaderboards, item, None).await
    }

    async fn delete_all(&self, keys: Vec<Key>) -> Result<(), StoreError> {
        stream::iter(keys.into_iter().map(|key| {
            let store = Arc::clone(&self.store);
            async move { store.delete(Table::Leaderboards, &key, None).await }
        }))
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await
        .map(drop)
    }

    async fn has_staged(&self, tier: &str) -> Result<bool, StoreError> {
        let page = self.store.query(Query::partition(Table::Leaderboards, staged_partition(tier)).limit(1)).await?;
        Ok(!page.items.is_empty())
    }

    /// Takes (or renews) a tier's lease; `false` while another writer holds it. The rebuild holds
    /// every tier's this way.
    pub(crate) async fn acquire(&self, tier: &str) -> Result<bool, StoreError> {
        let now = self.clock.now().timestamp();
        let key = lease_key(tier);
        let item = serde_json::json!({
            "pk": key.pk, "sk": key.sk, "owner": self.owner, "until": now + LEASE_SECONDS,
        });
        let condition = Condition::Or(vec![
            Condition::NotExists,
            Condition::less_than("until", now),
            Condition::equals("owner", self.owner.as_str()),
        ]);
        match self.store.put(Table::Leaderboards, to_item(&item)?, Some(condition)).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(other) => Err(other),
        }
    }

    pub(crate) async fn release(&self, tier: &str) -> Result<(), StoreError> {
        let condition = Condition::equals("owner", self.owner.as_str());
        match self.store.delete(Table::Leaderboards, &lease_key(tier), Some(condition)).await {
            Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(other) => Err(other),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

#[async_trait]
impl MessageHandler<BoardUpdate> for LeaderboardWorker {
    const NAME: &'static str = "leaderboards";

    async fn handle(&self, update: BoardUpdate) -> Result<(), HandlerError> {
        let staged = match update {
            BoardUpdate::Point(event) => self.stage(&event).await,
            BoardUpdate::Profile(change) => self.stage_rename(&change).await,
        };
        let tiers = staged.map_err(HandlerError::retry)?;
        if let Ok(mut touched) = self.touched.lock() {
            touched.extend(tiers);
        }
        Ok(())
    }

    /// Drains the tiers the batch staged to. A failure here fails no message: the events are
    /// staged, and the next drain or the sweep applies them.
    async fn after_batch(&self) {
        let tiers = self.touched.lock().map(|mut t| std::mem::take(&mut *t)).unwrap_or_default();
        if let Err(error) = self.drain(&tiers).await {
            tracing::error!(%error, "leaderboards drain failed; the sweep will retry");
        }
    }
}
