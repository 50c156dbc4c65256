//! The email outbox. A notification that wants an email leaves an entry in the `MAILQ`
//! partition in the same transaction as the change; the minute scheduler hands each entry to the
//! email queue and deletes it. A run leases an entry before sending, so overlapping runs send it
//! once; a run that dies between sending and deleting leaves it to be sent again when the lease
//! runs out: an email may then arrive twice, never zero times (docs/decisions.md).

use fittrack_platform::messages::{EmailJob, send};
use fittrack_platform::ports::{Condition, Key, Query, Queue, StoreError, Table, Update, from_item};
use fittrack_users::records::{AccountRecord, account_key, load};

use crate::records::{EmailCategory, OUTBOX_PARTITION, QueuedEmail};
use crate::{NotificationError, Notifications};

/// How long a run holds an entry it is sending.
const LEASE_SECONDS: i64 = 60;

impl Notifications {
    /// Sends every email waiting in the outbox; returns how many went to the queue.
    ///
    /// # Errors
    /// [`NotificationError::Store`] when the outbox cannot be read; an entry that fails is logged and
    /// retried on the next run once its lease ends.
    pub async fn relay_emails(&self, queue: &dyn Queue) -> Result<usize, NotificationError> {
        let mut sent = 0;
        let mut cursor = None;
        loop {
            let query = Query::partition(Table::Users, OUTBOX_PARTITION).limit(100).after(cursor);
            let page = self.store.query(query).await?;
            for item in page.items {
                let key = item.get("sk").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
                let queued: QueuedEmail = match from_item(item) {
                    Ok(queued) => queued,
                    Err(error) => {
                        // Never holds up the others; it stays for someone to look at.
                        tracing::error!(%error, outbox_key = %key, "an outbox entry does not read; skipped");
                        continue;
                    }
                };
                match self.relay_one(queue, &queued).await {
                    Ok(true) => sent += 1,
                    Ok(false) => {}
                    Err(error) => {
                        tracing::warn!(%error, outbox_key = %key, "an outbox email failed; retried after its lease");
                    }
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(sent),
            }
        }
    }

    async fn relay_one(&self, queue: &dyn Queue, queued: &QueuedEmail) -> Result<bool, NotificationError> {
        let now = self.clock.now().timestamp();
        if queued.lease_until > now {
            return Ok(false);
        }
        let key = Key::new(queued.pk.clone(), queued.sk.clone());
        let lease = Update::new().set(QueuedEmail::LEASE_UNTIL, now + LEASE_SECONDS);
        let claimed = Condition::equals(QueuedEmail::LEASE_UNTIL, queued.lease_until);
        match self.store.update(Table::Users, &key, lease, Some(claimed)).await {
            Ok(_) => {}
            // Another run leased it, or sent and deleted it.
            Err(StoreError::ConditionFailed) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        let account: Option<AccountRecord> = load(self.store.as_ref(), &account_key(queued.user_id)).await?;
        let wanted = self.wants_email(queued.user_id, queued.category).await?;
        let mut delivered = false;
        if let Some(account) = account.filter(|_| wanted) {
            let account = account.decrypt(&self.pii)?;
            let link = format!("{}{}", self.app_url, queued.link.as_deref().unwrap_or("/notifications"));
            let mut job = EmailJob::new(queued.template, account.email, account.display_name, link);
            job.detail = Some(queued.detail.clone());
            if queued.category != EmailCategory::Essential {
                job.unsubscribe_url = Some(self.unsubscribe_url(queued.user_id, queued.category));
            }
            send(queue, &job).await?;
            delivered = true;
        }
        match self.store.delete(Table::Users, &key, Some(Condition::Exists)).await {
            Ok(()) | Err(StoreError::ConditionFailed) => Ok(delivered),
            Err(e) => Err(e.into()),
        }
    }
}
