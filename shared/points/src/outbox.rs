//! The transactional outbox of point events.
//!
//! Every ledger entry writes its [`PointEvent`] into an `OUTBOX#<shard>` partition *in the same
//! transaction* as the entry and the balance, so an event exists exactly when its entry does. The
//! relay then publishes outbox items to the point-events queue and deletes each one after SQS
//! accepted it. A relay that dies between the two publishes that event again on its next run:
//! delivery is at least once, and consumers drop repeats by `event_id` (the user and the entry's
//! sequence number), the same way SQS's own redeliveries must be handled.
//!
//! On AWS the relay runs on the points table's stream (filtered to outbox keys) for low latency,
//! and on a schedule as a sweep; locally `fittrack serve` runs it on a short interval.

use std::collections::BTreeSet;
use std::sync::Arc;

use fittrack_domain::UserId;

use fittrack_platform::messages::PointEvent;

use super::{LedgerEntry, keys};
use fittrack_platform::ports::store::key_of;
use fittrack_platform::ports::{Item, ItemStore, Query, Queue, QueueError, StoreError, Table, WriteOp, from_item};

/// Outbox partitions are sharded so no single partition runs hot under many writers.
pub const OUTBOX_SHARDS: u64 = 16;

pub use crate::keys::shard_of_partition;

/// The event of `user`'s ledger `entry`.
pub fn point_event(user: UserId, entry: &LedgerEntry) -> PointEvent {
    PointEvent {
        event_id: format!("{user}:{}", entry.seq),
        user_id: user,
        seq: entry.seq,
        kind: entry.kind,
        amount: entry.amount,
        held_amount: entry.held_amount,
        balance_after: entry.balance_after,
        cause: entry.cause.clone(),
        created_at: entry.created_at,
        board_days: entry.counted_days(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

#[derive(Clone)]
pub struct OutboxRelay {
    store: Arc<dyn ItemStore>,
    queue: Arc<dyn Queue>,
}

/// Items read per query; a shard is drained page by page until empty.
const PAGE: u32 = 100;

impl OutboxRelay {
    pub fn new(store: Arc<dyn ItemStore>, queue: Arc<dyn Queue>) -> Self {
        Self { store, queue }
    }

    /// Publishes every pending event of every shard; returns how many were published.
    ///
    /// # Errors
    /// As [`OutboxRelay::drain`].
    pub async fn drain_all(&self) -> Result<usize, RelayError> {
        self.drain((0..OUTBOX_SHARDS).collect()).await
    }

    /// Publishes every pending event of `shards`. Stops at the first failure, leaving the
    /// unpublished events in place for the next run.
    ///
    /// # Errors
    /// [`RelayError::Store`] when a shard cannot be read, an event cannot be deleted or an unreadable item
    /// cannot be parked; [`RelayError::Queue`] when the point-events queue refuses an event.
    pub async fn drain(&self, shards: BTreeSet<u64>) -> Result<usize, RelayError> {
        let mut published = 0;
        for shard in shards {
            loop {
                let query = Query::partition(Table::Points, keys::outbox_partition(shard)).limit(PAGE);
                let page = self.store.query(query).await?;
                if page.items.is_empty() {
                    break;
                }
                for item in page.items {
                    let key = key_of(&item)?;
                    let event = match from_item::<PointEvent>(item.clone()) {
                        Ok(event) => event,
                        Err(error) => {
                            self.park(shard, item, &error).await?;
                            continue;
                        }
                    };
                    fittrack_platform::messages::send(self.queue.as_ref(), &event).await?;
                    self.store.delete(Table::Points, &key, None).await?;
                    published += 1;
                }
            }
        }
        if published > 0 {
            tracing::info!(published, "point events relayed");
        }
        Ok(published)
    }

    /// Moves an item that is not a point event out of the way (to `OUTBOXDEAD#<shard>`, for an
    /// operator to look at), so it cannot block its shard.
    async fn park(&self, shard: u64, mut item: Item, error: &StoreError) -> Result<(), StoreError> {
        let key = key_of(&item)?;
        tracing::error!(%error, shard, sort_key = key.sk.as_str(), "unreadable outbox item parked");
        item.insert("pk".into(), keys::dead_outbox_partition(shard).into());
        let ops = vec![
            WriteOp::Put { table: Table::Points, item, condition: None },
            WriteOp::Delete { table: Table::Points, key, condition: None },
        ];
        self.store.transact(ops).await
    }
}
