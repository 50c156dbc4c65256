//! Reading the log back: newest first, one partition per listing.

use std::sync::Arc;

use fittrack_domain::UserId;
use fittrack_platform::ports::{Cursor, Index, ItemStore, Query, StoreError, Table, from_item};

use crate::records::{ActionEntry, ActionKind, LOG_PARTITION, action_partition, admin_partition, user_partition};

/// Which entries to list. With both set, the admin's partition is read and the action filtered
/// on the page (a page may then hold fewer entries than asked, and still have a next one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActionFilter {
    pub admin: Option<UserId>,
    pub action: Option<ActionKind>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionPage {
    pub entries: Vec<ActionEntry>,
    pub next: Option<Cursor>,
}

/// The read side of the log.
#[derive(Clone)]
pub struct AuditLog {
    store: Arc<dyn ItemStore>,
}

impl AuditLog {
    pub fn new(store: Arc<dyn ItemStore>) -> Self {
        Self { store }
    }

    /// Entries matching `filter`, newest first.
    ///
    /// # Errors
    /// The store's failures ([`StoreError::InvalidCursor`] among them); [`StoreError::Corrupt`] for an
    /// entry that does not read.
    pub async fn list(
        &self,
        filter: ActionFilter,
        limit: u32,
        cursor: Option<Cursor>,
    ) -> Result<ActionPage, StoreError> {
        let query = match (filter.admin, filter.action) {
            (Some(admin), _) => Query::partition(Table::Audit, admin_partition(admin)).on_index(Index::Gsi1),
            (None, Some(action)) => Query::partition(Table::Audit, action_partition(action)),
            (None, None) => Query::partition(Table::Audit, LOG_PARTITION),
        };
        let mut page = self.page(query, limit, cursor).await?;
        if let (Some(_), Some(action)) = (filter.admin, filter.action) {
            page.entries.retain(|e| e.action == action);
        }
        Ok(page)
    }

    /// The entries about `user`, newest first.
    ///
    /// # Errors
    /// As [`Self::list`].
    pub async fn about_user(&self, user: UserId, limit: u32, cursor: Option<Cursor>) -> Result<ActionPage, StoreError> {
        self.page(Query::partition(Table::Audit, user_partition(user)), limit, cursor).await
    }

    async fn page(&self, query: Query, limit: u32, cursor: Option<Cursor>) -> Result<ActionPage, StoreError> {
        let page = self.store.query(query.descending().limit(limit).after(cursor)).await?;
        let entries = page.items.into_iter().map(from_item::<ActionEntry>).collect::<Result<_, _>>()?;
        Ok(ActionPage { entries, next: page.next })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::{Actor, Change, TargetKind, write_with_entry};
    use fittrack_platform::ports::{Condition, Key, WriteOp};

    #[tokio::test]
    async fn entries_list_by_admin_action_and_user_and_a_failed_change_leaves_none() {
        let store: Arc<dyn ItemStore> = Arc::new(fittrack_local::SqliteStore::in_memory().unwrap());
        let log = AuditLog::new(Arc::clone(&store));
        let (ada, bob, user) = (UserId::generate(), UserId::generate(), UserId::generate());
        let marker = |n: u32| {
            let mut item = fittrack_platform::ports::Item::new();
            item.insert("pk".into(), "THING".into());
            item.insert("sk".into(), n.to_string().into());
            WriteOp::Put { table: Table::Users, item, condition: Some(Condition::NotExists) }
        };
        let adjust = Change::on_user(ActionKind::PointsAdjusted, user);
        write_with_entry(store.as_ref(), vec![marker(1)], &Actor::new(ada, "r1").entry(adjust.clone(), Utc::now()))
            .await
            .unwrap();
        let sponsor = Change::new(ActionKind::SponsorCreated, TargetKind::Sponsor, "s1");
        write_with_entry(store.as_ref(), vec![marker(2)], &Actor::new(bob, "r2").entry(sponsor, Utc::now()))
            .await
            .unwrap();
        // The change's condition fails: neither it nor its entry is written.
        let failed =
            write_with_entry(store.as_ref(), vec![marker(1)], &Actor::new(bob, "r3").entry(adjust, Utc::now())).await;
        assert_eq!(failed, Err(StoreError::ConditionFailed));

        let all = log.list(ActionFilter::default(), 10, None).await.unwrap();
        assert_eq!(all.entries.iter().map(|e| e.request_id.as_str()).collect::<Vec<_>>(), ["r2", "r1"]);
        let bobs = log.list(ActionFilter { admin: Some(bob), action: None }, 10, None).await.unwrap();
        assert_eq!(bobs.entries.len(), 1);
        let ada_sponsors = log
            .list(ActionFilter { admin: Some(ada), action: Some(ActionKind::SponsorCreated) }, 10, None)
            .await
            .unwrap();
        assert!(ada_sponsors.entries.is_empty());
        let adjustments =
            log.list(ActionFilter { admin: None, action: Some(ActionKind::PointsAdjusted) }, 10, None).await.unwrap();
        assert_eq!(adjustments.entries.len(), 1);
        let about = log.about_user(user, 10, None).await.unwrap();
        assert_eq!(about.entries[0].admin_id, ada);
        assert!(store.get(Table::Users, &Key::new("THING", "1")).await.unwrap().is_some());
    }
}
