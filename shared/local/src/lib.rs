//! Local adapters for `fittrack serve` and fast tests: everything in one process, no AWS.
//!
//! - [`SqliteStore`]: the item store on an embedded SQLite database (bundled, no system library).
//! - [`SqliteQueue`]: at-least-once queues with visibility timeouts and dead letters in a SQLite
//!   file: what `fittrack serve` runs on, so a killed server loses no queued message.
//! - [`InProcessQueue`]: the same semantics in memory, for tests that need no file.
//! - [`OutboxMailer`]: writes each email as an RFC 5322 `.eml` file.

mod durable_queue;
mod outbox;
mod queue;
mod sqlite;

pub use durable_queue::SqliteQueue;
pub use outbox::OutboxMailer;
pub use queue::InProcessQueue;
pub use sqlite::SqliteStore;
