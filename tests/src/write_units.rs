//! A store wrapper that meters DynamoDB write capacity units by DynamoDB's published sizing
//! rules, so benchmarks can report what a workload would cost on DynamoDB while running on any
//! store:
//! - a write costs one unit per started KB of the larger of the item before and after it;
//! - an item written to the index costs the same again there (twice when its index key moves);
//! - every write in a transaction costs double; a condition check costs as a write;
//! - failed conditional writes are charged too, as DynamoDB does.
//!
//! Reads are metered too, as strongly consistent reads: a `GetItem` costs one unit per started
//! 4 KB of the item (one for an item that is not there), a `Query` one unit per started 4 KB of
//! all the items it returns together (at least one).
//!
//! Item sizes follow DynamoDB's rules: attribute names plus values (strings by UTF-8 length,
//! numbers by about one byte per two digits, plus overhead for maps and lists). Metering reads
//! the item before each write, so wrap only stores used for measurement.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;

use fittrack_platform::ports::{Condition, Item, ItemStore, Key, Page, Query, StoreError, Table, Update, WriteOp};

pub struct WriteUnitMeter {
    inner: Arc<dyn ItemStore>,
    units: AtomicU64,
    read_units: AtomicU64,
    by_kind: Mutex<BTreeMap<String, u64>>,
    /// Writes per item since the last [`WriteUnitMeter::take_item_writes`].
    item_writes: Mutex<std::collections::HashMap<(String, String), u64>>,
}

impl WriteUnitMeter {
    pub fn new(inner: Arc<dyn ItemStore>) -> Self {
        Self {
            inner,
            units: AtomicU64::new(0),
            read_units: AtomicU64::new(0),
            by_kind: Mutex::default(),
            item_writes: Mutex::default(),
        }
    }

    /// Read units metered so far (strongly consistent).
    pub fn read_units(&self) -> u64 {
        self.read_units.load(Ordering::Relaxed)
    }

    /// The most writes any one item received since the last call, and which item; resets the count.
    pub fn take_item_writes(&self) -> Option<((String, String), u64)> {
        let mut writes = self.item_writes.lock().ok()?;
        let top = writes.iter().max_by_key(|(_, n)| **n).map(|(k, n)| (k.clone(), *n));
        writes.clear();
        top
    }

    fn count_write(&self, key: &Key) {
        if let Ok(mut writes) = self.item_writes.lock() {
            *writes.entry((key.pk.clone(), key.sk.clone())).or_default() += 1;
        }
    }

    fn charge_read(&self, bytes: usize) {
        self.read_units.fetch_add((bytes as u64).div_ceil(4096).max(1), Ordering::Relaxed);
    }

    /// Units metered so far.
    pub fn units(&self) -> u64 {
        self.units.load(Ordering::Relaxed)
    }

    /// Units so far by kind of item (the sort key up to its first `#`, or the partition's prefix
    /// for items whose sort key is not typed, such as outbox events).
    pub fn units_by_kind(&self) -> BTreeMap<String, u64> {
        self.by_kind.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn charge(&self, key: &Key, units: u64) {
        self.count_write(key);
        self.units.fetch_add(units, Ordering::Relaxed);
        let kind = |s: &str| s.split('#').next().unwrap_or_default().to_owned();
        let sk_kind = kind(&key.sk);
        let name = if sk_kind.chars().all(|c| c.is_ascii_uppercase()) && !sk_kind.is_empty() {
            sk_kind
        } else {
            kind(&key.pk)
        };
        if let Ok(mut map) = self.by_kind.lock() {
            *map.entry(name).or_default() += units;
        }
    }

    /// The units of writing `after` over what `key` holds now (`None`: a delete).
    async fn cost(&self, table: Table, key: &Key, after: Option<&Item>) -> Result<u64, StoreError> {
        let before = self.inner.get(table, key).await?;
        let size = before.as_ref().map_or(0, item_size).max(after.map_or(0, item_size));
        let index_key = |item: Option<&Item>| {
            item.and_then(|i| i.get("gsi1pk").zip(i.get("gsi1sk"))).map(|(p, s)| (p.clone(), s.clone()))
        };
        let (was, is) = (index_key(before.as_ref()), index_key(after));
        let index_units = match (&was, &is) {
            (None, None) => 0,
            (Some(a), Some(b)) if a == b => units_of(size),
            _ => {
                u64::from(was.is_some()) * units_of(before.as_ref().map_or(0, item_size))
                    + u64::from(is.is_some()) * units_of(after.map_or(0, item_size))
            }
        };
        Ok(units_of(size) + index_units)
    }

    async fn op_cost(&self, op: &WriteOp) -> Result<u64, StoreError> {
        match op {
            WriteOp::Put { table, item, .. } => {
                let key = fittrack_platform::ports::store::key_of(item)?;
                self.cost(*table, &key, Some(item)).await
            }
            WriteOp::Update { table, key, update, .. } => {
                let after = update.apply(key, self.inner.get(*table, key).await?);
                self.cost(*table, key, Some(&after)).await
            }
            WriteOp::Delete { table, key, .. } => self.cost(*table, key, None).await,
            WriteOp::Check { table, key, .. } => {
                Ok(units_of(self.inner.get(*table, key).await?.as_ref().map_or(0, item_size)))
            }
        }
    }
}

fn units_of(size: usize) -> u64 {
    (size as u64).div_ceil(1024).max(1)
}

/// An item's size as DynamoDB counts it.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
}

fn value_size(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Number(n) => {
            let digits = n.to_string().chars().filter(char::is_ascii_digit).count();
            digits.div_ceil(2) + 1
        }
        Value::Bool(_) | Value::Null => 1,
        Value::Array(items) => 3 + items.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        Value::Object(map) => 3 + map.iter().map(|(k, v)| 1 + k.len() + value_size(v)).sum::<usize>(),
    }
}

#[async_trait]
impl ItemStore for WriteUnitMeter {
    async fn get(&self, table: Table, key: &Key) -> Result<Option<Item>, StoreError> {
        let item = self.inner.get(table, key).await?;
        self.charge_read(item.as_ref().map_or(0, item_size));
        Ok(item)
    }
    async fn put(&self, table: Table, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        let key = fittrack_platform::ports::store::key_of(&item)?;
        self.charge(&key, self.cost(table, &key, Some(&item)).await?);
        self.inner.put(table, item, condition).await
    }
    async fn update(
        &self,
        table: Table,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        let op = WriteOp::Update { table, key: key.clone(), update: update.clone(), condition: None };
        self.charge(key, self.op_cost(&op).await?);
        self.inner.update(table, key, update, condition).await
    }
    async fn delete(&self, table: Table, key: &Key, condition: Option<Condition>) -> Result<(), StoreError> {
        self.charge(key, self.cost(table, key, None).await?);
        self.inner.delete(table, key, condition).await
    }
    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        let page = self.inner.query(query).await?;
        self.charge_read(page.items.iter().map(item_size).sum());
        Ok(page)
    }
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        for op in &ops {
            let (_, key) = op.target()?;
            self.charge(&key, 2 * self.op_cost(op).await?);
        }
        self.inner.transact(ops).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fittrack_local::SqliteStore;
    use fittrack_platform::ports::to_item;

    #[test]
    fn sizes_follow_dynamodb_rules() {
        let item = to_item(&serde_json::json!({"pk": "USER#1", "n": 12345, "ok": true, "m": {"a": "xy"}})).unwrap();
        // pk: 2 + 6; n: 1 + (3 + 1); ok: 2 + 1; m: 1 + 3 + (1 + 1 + 2)
        assert_eq!(item_size(&item), 8 + 5 + 3 + 8);
    }

    #[tokio::test]
    async fn writes_are_metered_by_size_index_and_transaction() {
        let meter = WriteUnitMeter::new(Arc::new(SqliteStore::in_memory().unwrap()));
        let small = to_item(&serde_json::json!({"pk": "a", "sk": "b"})).unwrap();
        meter.put(Table::Points, small.clone(), None).await.unwrap();
        assert_eq!(meter.units(), 1);
        let big = to_item(&serde_json::json!({"pk": "a", "sk": "c", "blob": "x".repeat(2_500)})).unwrap();
        meter.put(Table::Points, big, None).await.unwrap();
        assert_eq!(meter.units(), 1 + 3, "2.5 KB is three units");
        let indexed = to_item(&serde_json::json!({"pk": "a", "sk": "d", "gsi1pk": "p", "gsi1sk": "s"})).unwrap();
        meter.transact(vec![WriteOp::Put { table: Table::Points, item: indexed, condition: None }]).await.unwrap();
        assert_eq!(meter.units(), 4 + 2 * (1 + 1), "table and index, doubled in a transaction");
        meter.delete(Table::Points, &Key::new("a", "c"), None).await.unwrap();
        assert_eq!(meter.units(), 8 + 3, "a delete costs the size of what it removes");
        assert_eq!(meter.take_item_writes().map(|(_, n)| n), Some(2), "`c` was written, then deleted");
        assert_eq!(meter.take_item_writes(), None, "and the count starts again");
    }

    #[tokio::test]
    async fn reads_are_metered_by_size_per_get_and_per_query() {
        let meter = WriteUnitMeter::new(Arc::new(SqliteStore::in_memory().unwrap()));
        for i in 0..10 {
            let item = serde_json::json!({"pk": "p", "sk": format!("{i:02}"), "blob": "x".repeat(1_000)});
            meter.put(Table::Points, to_item(&item).unwrap(), None).await.unwrap();
        }
        meter.get(Table::Points, &Key::new("p", "nothing")).await.unwrap();
        assert_eq!(meter.read_units(), 1, "a miss costs one");
        meter.query(Query::partition(Table::Points, "p").limit(3)).await.unwrap();
        assert_eq!(meter.read_units(), 2, "three 1 KB items fit one 4 KB unit");
        meter.query(Query::partition(Table::Points, "p").limit(10)).await.unwrap();
        assert_eq!(meter.read_units(), 2 + 3, "ten 1 KB items are three units");
    }
}
