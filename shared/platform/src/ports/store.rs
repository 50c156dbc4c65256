//! The storage port: a key-value item store with DynamoDB's semantics (conditional writes,
//! all-or-nothing transactions, sorted partitions), small enough that SQLite can honour it exactly.
//!
//! Items are JSON objects. Every item has string attributes `pk` and `sk`; an item may carry
//! `gsi1pk`/`gsi1sk` to appear in [`Index::Gsi1`], and `expires_at` (epoch seconds) to be removed
//! some time after that instant. Expiry is lazy on every backend (DynamoDB takes up to two days),
//! so callers compare `expires_at` themselves and never rely on an expired item being gone.

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub type Item = serde_json::Map<String, Value>;

/// The logical tables; adapters map them to physical names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Users,
    Points,
    Tickets,
    /// Boards, their counts and each competitor's standing: derived from the points ledger and
    /// rebuildable from it.
    Leaderboards,
    /// The admin action log: append-only (see `fittrack-audit`).
    Audit,
}

impl Table {
    pub const ALL: [Table; 5] = [Table::Users, Table::Points, Table::Tickets, Table::Leaderboards, Table::Audit];

    pub fn name(self) -> &'static str {
        match self {
            Table::Users => "users",
            Table::Points => "points",
            Table::Tickets => "tickets",
            Table::Leaderboards => "leaderboards",
            Table::Audit => "audit",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Index {
    /// Keys `gsi1pk` (partition) and `gsi1sk` (sort), projecting all attributes.
    Gsi1,
}

impl Index {
    pub fn name(self) -> &'static str {
        "gsi1"
    }
    pub fn partition_attr(self) -> &'static str {
        "gsi1pk"
    }
    pub fn sort_attr(self) -> &'static str {
        "gsi1sk"
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self { pk: pk.into(), sk: sk.into() }
    }
}

/// A condition on the item currently stored under a key. Attribute comparisons on a missing
/// item or attribute are false, as in DynamoDB; numbers compare numerically, strings bytewise.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Exists,
    NotExists,
    Equals(String, Value),
    LessThan(String, Value),
    GreaterOrEqual(String, Value),
    AttributeMissing(String),
    And(Vec<Condition>),
    Or(Vec<Condition>),
}

impl Condition {
    pub fn equals(attr: &str, value: impl Into<Value>) -> Self {
        Self::Equals(attr.to_owned(), value.into())
    }
    pub fn less_than(attr: &str, value: impl Into<Value>) -> Self {
        Self::LessThan(attr.to_owned(), value.into())
    }
    pub fn at_least(attr: &str, value: impl Into<Value>) -> Self {
        Self::GreaterOrEqual(attr.to_owned(), value.into())
    }
    pub fn missing(attr: &str) -> Self {
        Self::AttributeMissing(attr.to_owned())
    }

    /// Evaluates the condition against the stored item, the reference semantics that the
    /// embedded adapter uses directly and the DynamoDB adapter compiles to an expression.
    pub fn holds(&self, item: Option<&Item>) -> bool {
        use std::cmp::Ordering;
        let attr = |name: &str| item.and_then(|i| i.get(name));
        match self {
            Condition::Exists => item.is_some(),
            Condition::NotExists => item.is_none(),
            Condition::Equals(a, v) => attr(a).is_some_and(|x| compare(x, v) == Some(Ordering::Equal)),
            Condition::LessThan(a, v) => attr(a).is_some_and(|x| compare(x, v) == Some(Ordering::Less)),
            Condition::GreaterOrEqual(a, v) => {
                attr(a).is_some_and(|x| matches!(compare(x, v), Some(Ordering::Greater | Ordering::Equal)))
            }
            Condition::AttributeMissing(a) => attr(a).is_none(),
            Condition::And(all) => all.iter().all(|c| c.holds(item)),
            Condition::Or(any) => any.iter().any(|c| c.holds(item)),
        }
    }
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
        },
        (Value::String(x), Value::String(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => (a == b).then_some(std::cmp::Ordering::Equal),
    }
}

/// Changes to one item. An update of a missing item creates it (with its key), as in DynamoDB.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    pub set: Vec<(String, Value)>,
    /// Atomic increments of integer attributes (a missing attribute counts as 0).
    pub add: Vec<(String, i64)>,
    pub remove: Vec<String>,
}

impl Update {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn set(mut self, attr: &str, value: impl Into<Value>) -> Self {
        self.set.push((attr.to_owned(), value.into()));
        self
    }
    pub fn add(mut self, attr: &str, delta: i64) -> Self {
        self.add.push((attr.to_owned(), delta));
        self
    }
    pub fn remove(mut self, attr: &str) -> Self {
        self.remove.push(attr.to_owned());
        self
    }

    /// Applies the update to an item in memory (the reference semantics).
    pub fn apply(&self, key: &Key, item: Option<Item>) -> Item {
        let mut item = item.unwrap_or_else(|| {
            let mut fresh = Item::new();
            fresh.insert("pk".into(), key.pk.clone().into());
            fresh.insert("sk".into(), key.sk.clone().into());
            fresh
        });
        for (attr, value) in &self.set {
            item.insert(attr.clone(), value.clone());
        }
        for (attr, delta) in &self.add {
            let current = item.get(attr).and_then(Value::as_i64).unwrap_or(0);
            item.insert(attr.clone(), (current + delta).into());
        }
        for attr in &self.remove {
            item.remove(attr);
        }
        item
    }
}

/// An opaque position in a query's results, safe to hand to clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(pub String);

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub table: Table,
    pub index: Option<Index>,
    pub partition: String,
    /// Only items whose sort key starts with this.
    pub sort_prefix: Option<String>,
    /// Only items whose sort key sorts strictly before this (not together with `sort_prefix`:
    /// DynamoDB takes one sort-key condition).
    pub sort_below: Option<String>,
    /// Only items whose sort key sorts at or after this (alone, like the other two).
    pub sort_from: Option<String>,
    pub ascending: bool,
    pub limit: u32,
    pub cursor: Option<Cursor>,
}

impl Query {
    pub fn partition(table: Table, partition: impl Into<String>) -> Self {
        Self {
            table,
            index: None,
            partition: partition.into(),
            sort_prefix: None,
            sort_below: None,
            sort_from: None,
            ascending: true,
            limit: 100,
            cursor: None,
        }
    }
    pub fn on_index(mut self, index: Index) -> Self {
        self.index = Some(index);
        self
    }
    pub fn sort_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.sort_prefix = Some(prefix.into());
        self
    }
    pub fn sort_below(mut self, bound: impl Into<String>) -> Self {
        self.sort_below = Some(bound.into());
        self
    }
    pub fn sort_from(mut self, bound: impl Into<String>) -> Self {
        self.sort_from = Some(bound.into());
        self
    }

    /// Rejects what DynamoDB cannot express.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a query with more than one sort-key condition.
    pub fn validate(&self) -> Result<(), StoreError> {
        let conditions = [self.sort_prefix.is_some(), self.sort_below.is_some(), self.sort_from.is_some()];
        if conditions.into_iter().filter(|c| *c).count() > 1 {
            return Err(StoreError::Invalid("a query takes one sort-key condition".into()));
        }
        Ok(())
    }

    pub fn descending(mut self) -> Self {
        self.ascending = false;
        self
    }
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }
    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
    /// Where the next page starts; `None` when there is certainly no more. A backend may hand out
    /// a cursor whose page turns out empty (DynamoDB does when the limit lands on the last item).
    pub next: Option<Cursor>,
}

/// One write of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    Put { table: Table, item: Item, condition: Option<Condition> },
    Update { table: Table, key: Key, update: Update, condition: Option<Condition> },
    Delete { table: Table, key: Key, condition: Option<Condition> },
    Check { table: Table, key: Key, condition: Condition },
}

impl WriteOp {
    /// The table and key the operation writes or checks.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a `Put` whose item has no string `pk` or `sk`.
    pub fn target(&self) -> Result<(Table, Key), StoreError> {
        Ok(match self {
            WriteOp::Put { table, item, .. } => (*table, key_of(item)?),
            WriteOp::Update { table, key, .. }
            | WriteOp::Delete { table, key, .. }
            | WriteOp::Check { table, key, .. } => (*table, key.clone()),
        })
    }

    /// The condition the operation carries, if any.
    pub fn condition(&self) -> Option<&Condition> {
        match self {
            WriteOp::Put { condition, .. } | WriteOp::Update { condition, .. } | WriteOp::Delete { condition, .. } => {
                condition.as_ref()
            }
            WriteOp::Check { condition, .. } => Some(condition),
        }
    }

    /// DynamoDB's limits, enforced on every backend: 1 to 100 operations, each on its own item.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for no operations or more than 100, two on the same item, or a `Put` of an
    /// item without its key.
    pub fn validate_transaction(ops: &[WriteOp]) -> Result<(), StoreError> {
        if ops.is_empty() || ops.len() > 100 {
            return Err(StoreError::Invalid("a transaction has 1 to 100 operations".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for op in ops {
            if !seen.insert(op.target()?) {
                return Err(StoreError::Invalid("a transaction may touch each item once".into()));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    #[error("the condition of a write did not hold")]
    ConditionFailed,
    /// Nothing of the transaction was written; `failed` lists the operations (by position) whose
    /// condition did not hold.
    #[error("transaction cancelled; conditions failed at {failed:?}")]
    TransactionCancelled { failed: Vec<usize> },
    /// Another transaction touched the same items at the same time; retrying may succeed.
    #[error("contention on the same items, try again")]
    Contention,
    #[error("invalid pagination cursor")]
    InvalidCursor,
    #[error("invalid request to the store: {0}")]
    Invalid(String),
    #[error("stored item could not be read: {0}")]
    Corrupt(String),
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// # Contract (checked by `tests/contract/store.rs` against every adapter)
/// - `put`, `update` and `delete` with a condition MUST return [`StoreError::ConditionFailed`]
///   and change nothing when the condition does not hold.
/// - `transact` MUST write all of its operations or none; when conditions fail it MUST return
///   [`StoreError::TransactionCancelled`] naming them. At most 100 operations, each on a distinct key.
/// - `query` MUST return items of one partition in sort-key order (ascending or descending),
///   at most `limit` per page, and following `next` MUST visit every item exactly once.
/// - Reads MUST observe every write that completed before them (strong consistency).
#[async_trait]
pub trait ItemStore: Send + Sync {
    /// The item under `key` in `table`, if any.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the backend fails.
    async fn get(&self, table: Table, key: &Key) -> Result<Option<Item>, StoreError>;
    /// Writes `item` under its key, replacing what is there, if `condition` holds.
    ///
    /// # Errors
    /// [`StoreError::ConditionFailed`] when `condition` does not hold; [`StoreError::Invalid`] for an item
    /// the backend cannot store; [`StoreError::Unavailable`] when the backend fails.
    async fn put(&self, table: Table, item: Item, condition: Option<Condition>) -> Result<(), StoreError>;
    /// Returns the item as it is after the update.
    ///
    /// # Errors
    /// [`StoreError::ConditionFailed`] when `condition` does not hold; [`StoreError::Unavailable`] when the
    /// backend fails.
    async fn update(
        &self,
        table: Table,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError>;
    /// Deletes the item under `key` in `table`, if `condition` holds.
    ///
    /// # Errors
    /// [`StoreError::ConditionFailed`] when `condition` does not hold; [`StoreError::Unavailable`] when the
    /// backend fails.
    async fn delete(&self, table: Table, key: &Key, condition: Option<Condition>) -> Result<(), StoreError>;
    /// One page of `query`'s partition, in sort-key order.
    ///
    /// # Errors
    /// [`StoreError::InvalidCursor`] for a cursor this store did not hand out; [`StoreError::Invalid`] for a
    /// query [`Query::validate`] rejects; [`StoreError::Unavailable`] when the backend fails.
    async fn query(&self, query: Query) -> Result<Page, StoreError>;
    /// Writes all of `ops` or none of them.
    ///
    /// # Errors
    /// [`StoreError::TransactionCancelled`] when conditions fail; [`StoreError::Contention`] when another
    /// transaction touched the same items (retrying may succeed); [`StoreError::Invalid`] for what
    /// [`WriteOp::validate_transaction`] rejects; [`StoreError::Unavailable`] when the backend fails.
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError>;
    /// Cheap round trip for readiness checks.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the backend does not answer.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Serialises a record into an item.
///
/// # Errors
/// [`StoreError::Invalid`] when `record` does not serialise, or not to a JSON object.
pub fn to_item<T: Serialize>(record: &T) -> Result<Item, StoreError> {
    match serde_json::to_value(record) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(StoreError::Invalid("records must serialise to objects".into())),
        Err(e) => Err(StoreError::Invalid(e.to_string())),
    }
}

/// Reads a record out of an item.
///
/// # Errors
/// [`StoreError::Corrupt`] when the item does not deserialise into `T`.
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_json::from_value(Value::Object(item)).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Reads the key attributes of an item.
///
/// # Errors
/// [`StoreError::Invalid`] when `pk` or `sk` is missing or not a string.
pub fn key_of(item: &Item) -> Result<Key, StoreError> {
    let attr = |name: &str| {
        item.get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| StoreError::Invalid(format!("item has no string `{name}`")))
    };
    Ok(Key { pk: attr("pk")?, sk: attr("sk")? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(v: Value) -> Item {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn attribute_conditions_are_false_on_missing_items() {
        assert!(!Condition::equals("a", 1).holds(None));
        assert!(!Condition::at_least("a", 1).holds(None));
        assert!(Condition::missing("a").holds(None));
        assert!(Condition::NotExists.holds(None));
    }

    #[test]
    fn numbers_compare_numerically_and_strings_bytewise() {
        let stored = item(json!({"n": 10, "s": "b"}));
        assert!(Condition::at_least("n", 9).holds(Some(&stored)));
        assert!(Condition::less_than("n", 11).holds(Some(&stored)));
        assert!(!Condition::less_than("n", 10).holds(Some(&stored)));
        assert!(Condition::less_than("s", "c").holds(Some(&stored)));
        assert!(!Condition::equals("n", "10").holds(Some(&stored)));
    }

    #[test]
    fn update_creates_missing_items_with_their_key_and_adds_from_zero() {
        let key = Key::new("P", "S");
        let created = Update::new().add("count", 2).set("x", "y").apply(&key, None);
        assert_eq!(Value::Object(created), json!({"pk": "P", "sk": "S", "count": 2, "x": "y"}));
    }
}
