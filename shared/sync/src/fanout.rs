//! The scheduled fan-out: it finds the connections due by now through the due index (sharded, and
//! bounded by "due before now", never a scan) and enqueues one job per user and tracker.

use std::sync::Arc;
use std::time::Duration;

use fittrack_platform::clock::Clock;
use fittrack_platform::messages::SyncJob;
use fittrack_platform::ports::{Condition, Index, ItemStore, Query, Queue, StoreError, Table, Update, from_item};

use crate::records::{ConnectionItem, DUE_PREFIX, SHARDS, connection_key, due_sort_key, sync_interval};
use crate::{SyncError, SyncService, enqueue};

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
    ///
    /// # Errors
    /// [`SyncError::Store`] when the due index cannot be read, an entry does not read or a lease cannot be
    /// written; [`SyncError::Queue`] when a job cannot be enqueued (its connection, already leased, comes
    /// back one interval later). Jobs enqueued before the failure stay enqueued.
    pub async fn run(&self) -> Result<usize, SyncError> {
        let now = self.clock.now();
        let bound = format!("{:012}~", now.timestamp());
        let mut enqueued = 0;
        for shard in 0..SHARDS {
            let mut cursor = None;
            loop {
                let query = Query::partition(Table::Users, format!("{DUE_PREFIX}{shard}"))
                    .on_index(Index::Gsi1)
                    .sort_below(bound.clone())
                    .limit(100)
                    .after(cursor);
                let page = self.store.query(query).await?;
                for item in page.items {
                    let due: ConnectionItem = from_item(item)?;
                    let Some(current) = due.gsi1sk else { continue };
                    let lease = Update::new().set(
                        ConnectionItem::DUE_SORT_KEY,
                        due_sort_key(now + self.interval, due.user_id, &due.connection.provider),
                    );
                    let key = connection_key(due.user_id, &due.connection.provider);
                    match self
                        .store
                        .update(
                            Table::Users,
                            &key,
                            lease,
                            Some(Condition::equals(ConnectionItem::DUE_SORT_KEY, current.as_str())),
                        )
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

impl SyncService {
    /// The scheduled fan-out (see [`FanOut`]), on this service's store and queue.
    ///
    /// # Errors
    /// As [`FanOut::run`].
    pub async fn fan_out(&self) -> Result<usize, SyncError> {
        FanOut {
            store: Arc::clone(&self.worker.store),
            queue: Arc::clone(&self.queue),
            clock: Arc::clone(&self.worker.clock),
            interval: self.worker.interval,
        }
        .run()
        .await
    }
}
