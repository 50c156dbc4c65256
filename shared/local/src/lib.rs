//! Local adapters for `fittrack serve` and fast tests: everything in one process, no AWS.
//!
//! - [`SqliteStore`]: the item store on an embedded SQLite database (bundled, no system library).
//! - [`InProcessQueue`]: at-least-once queues with visibility timeouts, in memory.
//! - [`OutboxMailer`]: writes each email as an RFC 5322 `.eml` file.

mod outbox;
mod queue;
mod sqlite;

pub use outbox::OutboxMailer;
pub use queue::InProcessQueue;
pub use sqlite::SqliteStore;
