//! One decorator for the test doubles that wrap a real store: it forwards every call to the
//! store underneath, after asking its hooks (slow every call down, fail a transaction, pause
//! after a query), so each double states only what it changes.

use std::sync::Arc;

use async_trait::async_trait;

use fittrack_platform::ports::{Condition, Item, ItemStore, Key, Page, Query, StoreError, Table, Update, WriteOp};

/// Which call is about to reach the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Get,
    Put,
    Update,
    Delete,
    Query,
    Transact,
    Ping,
}

#[async_trait]
pub trait StoreHooks: Send + Sync {
    /// Runs before every call; an error is the call's answer and the store is not reached.
    async fn before(&self, _call: Call) -> Result<(), StoreError> {
        Ok(())
    }
    /// Runs after a query answered, before its page is handed back.
    async fn after_query(&self, _query: &Query) {}
}

/// Shared hooks: a test keeps a handle to flip them while the store is in use.
#[async_trait]
impl<H: StoreHooks + ?Sized> StoreHooks for Arc<H> {
    async fn before(&self, call: Call) -> Result<(), StoreError> {
        (**self).before(call).await
    }
    async fn after_query(&self, query: &Query) {
        (**self).after_query(query).await;
    }
}

/// `inner`, with `hooks` around every call.
pub struct HookedStore<H> {
    pub inner: Arc<dyn ItemStore>,
    pub hooks: H,
}

impl<H: StoreHooks> HookedStore<H> {
    pub fn new(inner: Arc<dyn ItemStore>, hooks: H) -> Self {
        Self { inner, hooks }
    }
}

#[async_trait]
impl<H: StoreHooks> ItemStore for HookedStore<H> {
    async fn get(&self, table: Table, key: &Key) -> Result<Option<Item>, StoreError> {
        self.hooks.before(Call::Get).await?;
        self.inner.get(table, key).await
    }
    async fn put(&self, table: Table, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        self.hooks.before(Call::Put).await?;
        self.inner.put(table, item, condition).await
    }
    async fn update(
        &self,
        table: Table,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        self.hooks.before(Call::Update).await?;
        self.inner.update(table, key, update, condition).await
    }
    async fn delete(&self, table: Table, key: &Key, condition: Option<Condition>) -> Result<(), StoreError> {
        self.hooks.before(Call::Delete).await?;
        self.inner.delete(table, key, condition).await
    }
    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.hooks.before(Call::Query).await?;
        let reported = query.clone();
        let page = self.inner.query(query).await?;
        self.hooks.after_query(&reported).await;
        Ok(page)
    }
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.hooks.before(Call::Transact).await?;
        self.inner.transact(ops).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.hooks.before(Call::Ping).await?;
        self.inner.ping().await
    }
}
