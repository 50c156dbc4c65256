//! The owner's side: listing, reading, marking read, the unread count.
//!
//! The unread count is a counter beside the notifications, moved in the same transaction as the
//! notification it counts (created unread: +1; marked read once: -1), so it is exact and one read.

use fittrack_domain::UserId;
use fittrack_platform::ports::{Condition, Cursor, Index, Query, StoreError, Table, Update, WriteOp, from_item};

use crate::records::{
    COUNTER_UNREAD, NOTE_PREFIX, NotificationRecord, NotificationView, counter_key, note_key, notes_partition,
    unread_partition,
};
use crate::{NotificationError, Notifications};

/// A page of notifications, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationPage {
    pub items: Vec<NotificationView>,
    pub next: Option<Cursor>,
}

impl Notifications {
    /// `user`'s notifications, newest first; `is_read` keeps only the read or the unread ones.
    /// Unread ones come from their own index; read ones are the rest of the list, filtered on
    /// the page (a page may then be short and still have a next one).
    ///
    /// # Errors
    /// [`NotificationError::Store`] ([`StoreError::InvalidCursor`] among them).
    pub async fn list(
        &self,
        user: UserId,
        is_read: Option<bool>,
        limit: u32,
        cursor: Option<Cursor>,
    ) -> Result<NotificationPage, NotificationError> {
        let query = match is_read {
            Some(false) => Query::partition(Table::Users, unread_partition(user)).on_index(Index::Gsi1),
            _ => Query::partition(Table::Users, notes_partition(user)).sort_prefix(NOTE_PREFIX),
        };
        let page = self.store.query(query.descending().limit(limit).after(cursor)).await?;
        let mut items: Vec<NotificationView> = page
            .items
            .into_iter()
            .map(|item| from_item::<NotificationRecord>(item).map(NotificationView::from))
            .collect::<Result<_, _>>()?;
        if is_read == Some(true) {
            items.retain(|n| n.is_read);
        }
        Ok(NotificationPage { items, next: page.next })
    }

    /// One of `user`'s notifications. Another user's id is [`NotificationError::NotFound`], the
    /// same as one that does not exist.
    ///
    /// # Errors
    /// [`NotificationError::NotFound`]; [`NotificationError::Store`].
    pub async fn get(&self, user: UserId, id: &str) -> Result<NotificationView, NotificationError> {
        Ok(self.record(user, id).await?.into())
    }

    async fn record(&self, user: UserId, id: &str) -> Result<NotificationRecord, NotificationError> {
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(NotificationError::NotFound);
        }
        let item = self.store.get(Table::Users, &note_key(user, id)).await?.ok_or(NotificationError::NotFound)?;
        Ok(from_item(item)?)
    }

    /// Marks one notification read; marking it again changes nothing.
    ///
    /// # Errors
    /// As [`Self::get`].
    pub async fn mark_read(&self, user: UserId, id: &str) -> Result<NotificationView, NotificationError> {
        let record = self.record(user, id).await?;
        if !record.read {
            self.mark(user, id).await?;
        }
        self.get(user, id).await
    }

    /// Marks every unread notification read; returns how many this call marked.
    ///
    /// # Errors
    /// [`NotificationError::Store`]; the ones marked before a failure stay read.
    pub async fn mark_all_read(&self, user: UserId) -> Result<u32, NotificationError> {
        let mut marked = 0;
        loop {
            let query = Query::partition(Table::Users, unread_partition(user)).on_index(Index::Gsi1).limit(100);
            let page = self.store.query(query).await?;
            if page.items.is_empty() {
                return Ok(marked);
            }
            let mut progress = false;
            for item in page.items {
                let record: NotificationRecord = from_item(item)?;
                if self.mark(user, &record.id).await? {
                    marked += 1;
                    progress = true;
                }
            }
            // A page of notifications already read (the index lags on DynamoDB): done.
            if !progress {
                return Ok(marked);
            }
        }
    }

    /// How many of `user`'s notifications are unread.
    ///
    /// # Errors
    /// [`NotificationError::Store`].
    pub async fn unread_count(&self, user: UserId) -> Result<u64, NotificationError> {
        let item = self.store.get(Table::Users, &counter_key(user)).await?;
        let count = item.and_then(|i| i.get(COUNTER_UNREAD).and_then(serde_json::Value::as_i64)).unwrap_or(0);
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Read flag and count in one transaction, conditioned on the notification being unread:
    /// `false` when it already was read (by a racing request), and then nothing changes.
    async fn mark(&self, user: UserId, id: &str) -> Result<bool, NotificationError> {
        let ops = vec![
            WriteOp::Update {
                table: Table::Users,
                key: note_key(user, id),
                update: Update::new().set(NotificationRecord::READ, true).remove("gsi1pk").remove("gsi1sk"),
                condition: Some(Condition::equals(NotificationRecord::READ, false)),
            },
            WriteOp::Update {
                table: Table::Users,
                key: counter_key(user),
                update: Update::new().add(COUNTER_UNREAD, -1),
                condition: None,
            },
        ];
        match self.store.transact(ops).await {
            Ok(()) => Ok(true),
            Err(StoreError::TransactionCancelled { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
