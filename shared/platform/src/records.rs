//! Typed items on the item store. A record type knows its table and its key, and names the
//! attributes that conditions and updates touch in one place (associated `const`s beside its
//! fields), so no capability spells another's attribute names, or its own twice.
//!
//! The generic [`ItemStore`] port stays what adapters implement (one contract suite, transactions
//! across tables); [`RecordStore`] is the typed layer every store gets for free.

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ports::{Condition, ItemStore, Key, StoreError, Table, from_item, to_item};

/// An item type of one table.
pub trait Record: Serialize + DeserializeOwned + Send + Sync {
    /// The table its items live in.
    const TABLE: Table;

    /// Its item's key.
    fn key(&self) -> Key;
}

/// Typed reads and writes of [`Record`]s.
#[async_trait]
pub trait RecordStore {
    /// The record at `key`, if any.
    ///
    /// # Errors
    /// The store's failures; [`StoreError::Corrupt`] when the item does not read as `R`.
    async fn load_record<R: Record>(&self, key: &Key) -> Result<Option<R>, StoreError>;

    /// Writes `record` under its own key, if `condition` holds.
    ///
    /// # Errors
    /// [`StoreError::ConditionFailed`] when it does not; the store's failures.
    async fn save_record<R: Record>(&self, record: &R, condition: Option<Condition>) -> Result<(), StoreError>;
}

#[async_trait]
impl<S: ItemStore + ?Sized> RecordStore for S {
    async fn load_record<R: Record>(&self, key: &Key) -> Result<Option<R>, StoreError> {
        self.get(R::TABLE, key).await?.map(from_item).transpose()
    }

    async fn save_record<R: Record>(&self, record: &R, condition: Option<Condition>) -> Result<(), StoreError> {
        self.put(R::TABLE, to_item(record)?, condition).await
    }
}
