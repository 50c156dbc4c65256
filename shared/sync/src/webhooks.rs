//! Provider webhooks: a notification moves the named user's next sync forward, within a debounce
//! and a daily budget; it never enqueues work itself.

use fittrack_platform::ports::{Condition, StoreError, Table, Update, from_item};

use crate::records::{ConnectionItem, ProviderUserItem, connection_key, due_sort_key, provider_user_key};
use crate::{SyncError, SyncService};

/// Webhook notifications for one connection closer together than this enqueue one sync.
const WEBHOOK_DEBOUNCE: chrono::Duration = chrono::Duration::seconds(60);
/// How many times a day webhooks may move one connection's sync forward; past that it waits for
/// its regular schedule.
const WEBHOOK_SYNCS_PER_DAY: u32 = 24;

impl SyncService {
    /// A provider's webhook says the user named `provider_user_id` has new data: their next sync
    /// moves forward to now (the fan-out picks it up within its minute). Never more: a webhook
    /// cannot enqueue work itself, moves a connection at most once per `WEBHOOK_DEBOUNCE` and at
    /// most `WEBHOOK_SYNCS_PER_DAY` times a day, so forged notifications (Strava's carry no
    /// signature) cannot spend the application's provider quota. Unknown users are ignored (the
    /// provider only needs a 2xx). Returns whether the sync was moved.
    ///
    /// # Errors
    /// [`SyncError::UnknownProvider`]; store failures.
    pub async fn notify(&self, provider: &str, provider_user_id: &str) -> Result<bool, SyncError> {
        self.worker.provider(provider)?;
        let Some(item) = self.worker.store.get(Table::Users, &provider_user_key(provider, provider_user_id)).await?
        else {
            return Ok(false);
        };
        let user = from_item::<ProviderUserItem>(item)?.user_id;
        let now = self.worker.clock.now();
        let (epoch, today) = (now.timestamp(), now.date_naive().to_string());
        let due_now = due_sort_key(now, user, provider);
        let movable = Condition::And(vec![
            Condition::Exists,
            Condition::equals("status", "active"),
            // Only forward: a connection due by now keeps its place.
            Condition::at_least(
                ConnectionItem::DUE_SORT_KEY,
                due_sort_key(now + chrono::Duration::seconds(1), user, provider),
            ),
            Condition::Or(vec![
                Condition::missing(ConnectionItem::WEBHOOK_AT),
                Condition::less_than(ConnectionItem::WEBHOOK_AT, epoch - WEBHOOK_DEBOUNCE.num_seconds()),
            ]),
        ]);
        let moved = Update::new().set(ConnectionItem::DUE_SORT_KEY, due_now).set(ConnectionItem::WEBHOOK_AT, epoch);
        let attempts = [
            // Another one today, within the budget.
            (
                Condition::And(vec![
                    movable.clone(),
                    Condition::equals(ConnectionItem::WEBHOOK_DAY, today.clone()),
                    Condition::less_than(ConnectionItem::WEBHOOK_COUNT, WEBHOOK_SYNCS_PER_DAY),
                ]),
                moved.clone().add(ConnectionItem::WEBHOOK_COUNT, 1),
            ),
            // The first one today.
            (
                Condition::And(vec![
                    movable,
                    Condition::Or(vec![
                        Condition::missing(ConnectionItem::WEBHOOK_DAY),
                        Condition::less_than(ConnectionItem::WEBHOOK_DAY, today.clone()),
                    ]),
                ]),
                moved.set(ConnectionItem::WEBHOOK_DAY, today).set(ConnectionItem::WEBHOOK_COUNT, 1),
            ),
        ];
        for (condition, update) in attempts {
            match self.worker.store.update(Table::Users, &connection_key(user, provider), update, Some(condition)).await
            {
                Ok(_) => return Ok(true),
                Err(StoreError::ConditionFailed) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(false)
    }
}
