//! The item store on SQLite. One connection behind a mutex serialises writers, so conditions are
//! checked and writes applied inside one `BEGIN IMMEDIATE` transaction, which gives the same
//! all-or-nothing, check-then-write atomicity as DynamoDB's conditional writes and transactions.
//!
//! Why SQLite rather than redb: the store needs ordered range scans on two keys (table and GSI),
//! transactions and crash safety; SQLite gives all three with a WAL journal, its file can be
//! inspected with standard tools, and `rusqlite` is among the most used crates for it.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use base64::Engine;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::Value;

use fittrack_platform::ports::store::key_of;
use fittrack_platform::ports::{
    Condition, Cursor, Index, Item, ItemStore, Key, Page, Query, StoreError, Table, Update, WriteOp,
};

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
CREATE TABLE IF NOT EXISTS items (
    tbl        TEXT NOT NULL,
    pk         TEXT NOT NULL,
    sk         TEXT NOT NULL,
    gsi1pk     TEXT,
    gsi1sk     TEXT,
    expires_at INTEGER,
    body       TEXT NOT NULL,
    PRIMARY KEY (tbl, pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_gsi1 ON items (tbl, gsi1pk, gsi1sk, pk, sk) WHERE gsi1pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_expiry ON items (expires_at) WHERE expires_at IS NOT NULL;
";

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::init(Connection::open(path).map_err(unavailable)?)
    }

    /// A private in-memory database, for tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory().map_err(unavailable)?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Runs `f` on the connection on the blocking pool.
    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| StoreError::Unavailable("store lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(unavailable)?
    }

    /// Deletes items whose `expires_at` has passed, as DynamoDB's TTL sweeper would.
    pub async fn sweep_expired(&self, now_epoch_secs: i64) -> Result<usize, StoreError> {
        self.with_conn(move |c| {
            c.execute("DELETE FROM items WHERE expires_at < ?1", params![now_epoch_secs]).map_err(unavailable)
        })
        .await
    }
}

fn read(tx: &rusqlite::Transaction<'_>, table: Table, key: &Key) -> Result<Option<Item>, StoreError> {
    let body: Option<String> = tx
        .query_row(
            "SELECT body FROM items WHERE tbl = ?1 AND pk = ?2 AND sk = ?3",
            params![table.name(), key.pk, key.sk],
            |r| r.get(0),
        )
        .optional()
        .map_err(unavailable)?;
    body.map(|b| parse_body(&b)).transpose()
}

fn parse_body(body: &str) -> Result<Item, StoreError> {
    match serde_json::from_str(body) {
        Ok(Value::Object(item)) => Ok(item),
        _ => Err(StoreError::Corrupt("stored item is not a JSON object".into())),
    }
}

fn write(tx: &rusqlite::Transaction<'_>, table: Table, item: &Item) -> Result<(), StoreError> {
    let key = key_of(item)?;
    let text = |name: &str| item.get(name).and_then(Value::as_str).map(str::to_owned);
    let body = serde_json::to_string(item).map_err(|e| StoreError::Invalid(e.to_string()))?;
    tx.execute(
        "INSERT OR REPLACE INTO items (tbl, pk, sk, gsi1pk, gsi1sk, expires_at, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            table.name(),
            key.pk,
            key.sk,
            text("gsi1pk"),
            text("gsi1sk"),
            item.get("expires_at").and_then(Value::as_i64),
            body
        ],
    )
    .map_err(unavailable)?;
    Ok(())
}

fn remove(tx: &rusqlite::Transaction<'_>, table: Table, key: &Key) -> Result<(), StoreError> {
    tx.execute("DELETE FROM items WHERE tbl = ?1 AND pk = ?2 AND sk = ?3", params![table.name(), key.pk, key.sk])
        .map_err(unavailable)?;
    Ok(())
}

fn check(
    tx: &rusqlite::Transaction<'_>,
    table: Table,
    key: &Key,
    condition: Option<&Condition>,
) -> Result<bool, StoreError> {
    match condition {
        None => Ok(true),
        Some(c) => Ok(c.holds(read(tx, table, key)?.as_ref())),
    }
}

/// Applies one write inside an open transaction; `Ok(false)` when its condition does not hold.
fn apply(tx: &rusqlite::Transaction<'_>, op: &WriteOp) -> Result<bool, StoreError> {
    match op {
        WriteOp::Put { table, item, condition } => {
            let key = key_of(item)?;
            if !check(tx, *table, &key, condition.as_ref())? {
                return Ok(false);
            }
            write(tx, *table, item)?;
        }
        WriteOp::Update { table, key, update, condition } => {
            let current = read(tx, *table, key)?;
            if !condition.as_ref().is_none_or(|c| c.holds(current.as_ref())) {
                return Ok(false);
            }
            write(tx, *table, &update.apply(key, current))?;
        }
        WriteOp::Delete { table, key, condition } => {
            if !check(tx, *table, key, condition.as_ref())? {
                return Ok(false);
            }
            remove(tx, *table, key)?;
        }
        WriteOp::Check { table, key, condition } => return check(tx, *table, key, Some(condition)),
    }
    Ok(true)
}

/// Cursor: base64url of the JSON array of sort values after which the next page starts.
fn encode_cursor(values: &[String]) -> Cursor {
    Cursor(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(values).unwrap_or_default()))
}

fn decode_cursor(cursor: &Cursor, parts: usize) -> Result<Vec<String>, StoreError> {
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&cursor.0).map_err(|_| StoreError::InvalidCursor)?;
    let values: Vec<String> = serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)?;
    if values.len() != parts {
        return Err(StoreError::InvalidCursor);
    }
    Ok(values)
}

fn run_query(conn: &Connection, query: &Query) -> Result<Page, StoreError> {
    query.validate()?;
    let (order, cmp) = if query.ascending { ("ASC", ">") } else { ("DESC", "<") };
    let prefix = query.sort_prefix.clone().unwrap_or_default();
    let limit = i64::from(query.limit.max(1));
    // Sort columns: the base table orders by sk; the index by gsi1sk, with the item key breaking ties.
    let (partition_col, sort_cols): (&str, &[&str]) = match query.index {
        None => ("pk", &["sk"]),
        Some(Index::Gsi1) => ("gsi1pk", &["gsi1sk", "pk", "sk"]),
    };
    let after = query.cursor.as_ref().map(|c| decode_cursor(c, sort_cols.len())).transpose()?;
    let order_by = sort_cols.iter().map(|c| format!("{c} {order}")).collect::<Vec<_>>().join(", ");
    let tuple = format!("({})", sort_cols.join(", "));
    let placeholders =
        format!("({})", (0..sort_cols.len()).map(|i| format!("?{}", i + 5)).collect::<Vec<_>>().join(", "));
    let after_clause = if after.is_some() { format!("AND {tuple} {cmp} {placeholders}") } else { String::new() };
    // ?5.. hold the cursor; the upper bound goes last.
    let bound_index = 5 + sort_cols.len();
    let below_clause = if query.sort_below.is_some() {
        format!("AND {} < ?{bound_index}", sort_cols[0])
    } else if query.sort_from.is_some() {
        format!("AND {} >= ?{bound_index}", sort_cols[0])
    } else {
        String::new()
    };
    let sql = format!(
        "SELECT body FROM items WHERE tbl = ?1 AND {partition_col} = ?2 AND substr({sort}, 1, length(?3)) = ?3 {after_clause} {below_clause} \
         ORDER BY {order_by} LIMIT ?4",
        sort = sort_cols[0],
    );
    let mut stmt = conn.prepare(&sql).map_err(unavailable)?;
    let mut values: Vec<rusqlite::types::Value> =
        vec![query.table.name().to_owned().into(), query.partition.clone().into(), prefix.into(), (limit + 1).into()];
    // Placeholders ?5.. are the cursor values; without a cursor they are only filled (and never
    // read) when the bound after them is used.
    match after {
        Some(after) => values.extend(after.into_iter().map(rusqlite::types::Value::from)),
        None if query.sort_below.is_some() || query.sort_from.is_some() => {
            values.extend(vec![rusqlite::types::Value::Null; sort_cols.len()]);
        }
        None => {}
    }
    if let Some(bound) = query.sort_below.as_ref().or(query.sort_from.as_ref()) {
        values.push(bound.clone().into());
    }
    let bodies: Vec<String> = stmt
        .query_map(rusqlite::params_from_iter(values), |r| r.get(0))
        .map_err(unavailable)?
        .collect::<Result<_, _>>()
        .map_err(unavailable)?;
    let more = bodies.len() as i64 > limit;
    let items: Vec<Item> = bodies.iter().take(limit as usize).map(|b| parse_body(b)).collect::<Result<_, _>>()?;
    let next = match items.last() {
        Some(last) if more => {
            let attr = |name: &str| last.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
            Some(encode_cursor(&sort_cols.iter().map(|c| attr(c)).collect::<Vec<_>>()))
        }
        _ => None,
    };
    Ok(Page { items, next })
}

#[async_trait]
impl ItemStore for SqliteStore {
    async fn get(&self, table: Table, key: &Key) -> Result<Option<Item>, StoreError> {
        let key = key.clone();
        self.with_conn(move |c| {
            let tx = c.transaction().map_err(unavailable)?;
            read(&tx, table, &key)
        })
        .await
    }

    async fn put(&self, table: Table, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        self.single(WriteOp::Put { table, item, condition }).await.map(|_| ())
    }

    async fn update(
        &self,
        table: Table,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        let key = key.clone();
        self.with_conn(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            if !apply(&tx, &WriteOp::Update { table, key: key.clone(), update, condition })? {
                return Err(StoreError::ConditionFailed);
            }
            let item = read(&tx, table, &key)?.ok_or_else(|| StoreError::Corrupt("updated item vanished".into()))?;
            tx.commit().map_err(unavailable)?;
            Ok(item)
        })
        .await
    }

    async fn delete(&self, table: Table, key: &Key, condition: Option<Condition>) -> Result<(), StoreError> {
        self.single(WriteOp::Delete { table, key: key.clone(), condition }).await
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.with_conn(move |c| run_query(c, &query)).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        WriteOp::validate_transaction(&ops)?;
        self.with_conn(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            // Check every condition first (as DynamoDB does), then write.
            let mut failed = Vec::new();
            for (i, op) in ops.iter().enumerate() {
                let (table, key) = op.target()?;
                if !check(&tx, table, &key, op.condition())? {
                    failed.push(i);
                }
            }
            if !failed.is_empty() {
                return Err(StoreError::TransactionCancelled { failed });
            }
            for op in &ops {
                apply(&tx, op)?;
            }
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.with_conn(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(unavailable)).await
    }
}

impl SqliteStore {
    async fn single(&self, op: WriteOp) -> Result<(), StoreError> {
        self.with_conn(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            if !apply(&tx, &op)? {
                return Err(StoreError::ConditionFailed);
            }
            tx.commit().map_err(unavailable)
        })
        .await
    }
}
