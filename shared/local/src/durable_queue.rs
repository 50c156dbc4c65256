//! The embedded queue `fittrack serve` runs on: SQS's delivery semantics kept in a SQLite file, so
//! a killed server loses no queued email, sync job or point event (the outbox relay deletes an
//! event from the ledger's outbox once the queue accepted it, so the queue must not forget it).
//!
//! A received message stays, invisible, until it is acknowledged or its visibility timeout ends;
//! then it is delivered again. After `max_receives` deliveries it moves to the dead letters.
//! Times are wall-clock milliseconds, so visibility survives a restart.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rusqlite::{Connection, params};
use tokio::sync::Notify;

use fittrack_platform::ports::queue::MAX_MESSAGE_BYTES;
use fittrack_platform::ports::{Queue, QueueError, QueueId, ReceivedMessage};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    visible_at INTEGER NOT NULL,
    receipt TEXT,
    receive_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages (queue, visible_at);
CREATE INDEX IF NOT EXISTS messages_receipt ON messages (receipt) WHERE receipt IS NOT NULL;
CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL
);
";

pub struct SqliteQueue {
    conn: Arc<Mutex<Connection>>,
    notify: Notify,
    visibility_timeout: Duration,
    max_receives: u32,
}

fn unavailable(e: impl std::fmt::Display) -> QueueError {
    QueueError::Unavailable(e.to_string())
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl SqliteQueue {
    /// Opens (creating if needed) the queue file at `path`.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`] when the file cannot be opened or set up.
    pub fn open(path: &Path, visibility_timeout: Duration, max_receives: u32) -> Result<Self, QueueError> {
        Self::init(Connection::open(path).map_err(unavailable)?, visibility_timeout, max_receives)
    }

    /// A private in-memory queue, for tests.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`] when SQLite cannot set it up.
    pub fn in_memory(visibility_timeout: Duration, max_receives: u32) -> Result<Self, QueueError> {
        Self::init(Connection::open_in_memory().map_err(unavailable)?, visibility_timeout, max_receives)
    }

    fn init(conn: Connection, visibility_timeout: Duration, max_receives: u32) -> Result<Self, QueueError> {
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)), notify: Notify::new(), visibility_timeout, max_receives })
    }

    /// Runs `f` on the connection on the blocking pool.
    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, QueueError> + Send + 'static,
    ) -> Result<T, QueueError> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| unavailable("queue lock poisoned"))?;
            f(&mut guard)
        })
        .await
        .map_err(unavailable)?
    }

    fn count(&self, sql: &str, queue: QueueId) -> usize {
        let Ok(conn) = self.conn.lock() else { return 0 };
        conn.query_row(sql, params![queue.name()], |row| row.get::<_, i64>(0))
            .map_or(0, |n| usize::try_from(n).unwrap_or(0))
    }

    /// Messages waiting or in flight.
    pub fn depth(&self, queue: QueueId) -> usize {
        self.count("SELECT COUNT(*) FROM messages WHERE queue = ?1", queue)
    }

    /// Bodies that exhausted their deliveries (the local dead-letter queue), oldest first.
    pub fn dead_letters(&self, queue: QueueId) -> Vec<String> {
        let Ok(conn) = self.conn.lock() else { return Vec::new() };
        let Ok(mut statement) = conn.prepare("SELECT body FROM dead_letters WHERE queue = ?1 ORDER BY seq") else {
            return Vec::new();
        };
        statement
            .query_map(params![queue.name()], |row| row.get::<_, String>(0))
            .map(|rows| rows.filter_map(Result::ok).collect())
            .unwrap_or_default()
    }

    /// Receives up to `max` visible messages in one transaction; also returns when the next
    /// invisible one becomes visible.
    async fn take_visible(
        &self,
        queue: QueueId,
        max: usize,
    ) -> Result<(Vec<ReceivedMessage>, Option<i64>), QueueError> {
        let (visibility, max_receives) = (self.visibility_timeout, self.max_receives);
        self.with_conn(move |conn| {
            let now = now_ms();
            let tx = conn.transaction().map_err(unavailable)?;
            // Exhausted messages go to the dead letters when they next become visible.
            tx.execute(
                "INSERT INTO dead_letters (queue, id, body) SELECT queue, id, body FROM messages
                 WHERE queue = ?1 AND visible_at <= ?2 AND receive_count >= ?3 ORDER BY seq",
                params![queue.name(), now, max_receives],
            )
            .map_err(unavailable)?;
            tx.execute(
                "DELETE FROM messages WHERE queue = ?1 AND visible_at <= ?2 AND receive_count >= ?3",
                params![queue.name(), now, max_receives],
            )
            .map_err(unavailable)?;
            let visible: Vec<(i64, String, String, u32)> = {
                let mut statement = tx
                    .prepare(
                        "SELECT seq, id, body, receive_count FROM messages
                         WHERE queue = ?1 AND visible_at <= ?2 ORDER BY seq LIMIT ?3",
                    )
                    .map_err(unavailable)?;
                let rows = statement
                    .query_map(params![queue.name(), now, i64::try_from(max).unwrap_or(i64::MAX)], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                    })
                    .map_err(unavailable)?;
                rows.collect::<Result<_, _>>().map_err(unavailable)?
            };
            let invisible_until = now + i64::try_from(visibility.as_millis()).unwrap_or(i64::MAX / 2);
            let mut received = Vec::with_capacity(visible.len());
            for (seq, id, body, receive_count) in visible {
                let receipt = uuid::Uuid::new_v4().to_string();
                tx.execute(
                    "UPDATE messages SET receive_count = receive_count + 1, visible_at = ?1, receipt = ?2 WHERE seq = ?3",
                    params![invisible_until, receipt, seq],
                )
                .map_err(unavailable)?;
                received.push(ReceivedMessage { id, receipt, body, receive_count: receive_count + 1 });
            }
            let next_visible: Option<i64> = tx
                .query_row("SELECT MIN(visible_at) FROM messages WHERE queue = ?1", params![queue.name()], |row| {
                    row.get(0)
                })
                .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok((received, next_visible))
        })
        .await
    }
}

#[async_trait]
impl Queue for SqliteQueue {
    async fn send(&self, queue: QueueId, body: &str) -> Result<(), QueueError> {
        if body.len() > MAX_MESSAGE_BYTES {
            return Err(QueueError::TooLarge(body.len()));
        }
        let (id, body) = (uuid::Uuid::new_v4().to_string(), body.to_owned());
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO messages (queue, id, body, visible_at) VALUES (?1, ?2, ?3, ?4)",
                params![queue.name(), id, body, now_ms()],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await?;
        self.notify.notify_waiters();
        Ok(())
    }

    async fn receive(&self, queue: QueueId, max: usize, wait: Duration) -> Result<Vec<ReceivedMessage>, QueueError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.notify.notified();
            let (received, next_visible) = self.take_visible(queue, max.max(1)).await?;
            if !received.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(received);
            }
            let until_visible = next_visible
                .map(|at| Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0).max(1)))
                .map(|d| tokio::time::Instant::now() + d);
            let wake_at = until_visible.map_or(deadline, |t| t.min(deadline));
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep_until(wake_at) => {}
            }
        }
    }

    async fn ack(&self, queue: QueueId, receipt: &str) -> Result<(), QueueError> {
        let receipt = receipt.to_owned();
        self.with_conn(move |conn| {
            conn.execute("DELETE FROM messages WHERE queue = ?1 AND receipt = ?2", params![queue.name(), receipt])
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn release(&self, queue: QueueId, receipt: &str) -> Result<(), QueueError> {
        let receipt = receipt.to_owned();
        self.with_conn(move |conn| {
            conn.execute(
                "UPDATE messages SET visible_at = ?1 WHERE queue = ?2 AND receipt = ?3",
                params![now_ms(), queue.name(), receipt],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await?;
        self.notify.notify_waiters();
        Ok(())
    }
}
