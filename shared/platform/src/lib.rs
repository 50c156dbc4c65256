//! What every capability stands on.
//!
//! - [`ports`]: the traits the outside world implements (item store, queue, mailer, tracker
//!   provider), each with a documented contract that `tests/contract` checks on every adapter.
//! - [`messages`]: the typed messages that travel through the queues, and [`batch`], the one
//!   runner every queue consumer uses (on Lambda and in `fittrack serve`).
//! - [`keys`]: the key parts several capabilities share (a user's partition); [`records`]: the
//!   typed layer on the item store (a record knows its table, key and attribute names).
//! - [`config`]: the one typed configuration, read once; [`clock`]: time as a dependency.
//! - [`crypto`]: the PII cipher, opaque tokens and their hashes; [`ratelimit`]: per-client limits.
//! - [`telemetry`]: JSON logs for every function.

pub mod batch;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod keys;
pub mod messages;
pub mod ports;
pub mod ratelimit;
pub mod records;
pub mod telemetry;

pub use config::Config;

/// A function or service that cannot be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{name}: {reason}")]
    InvalidKey { name: &'static str, reason: String },
    #[error("HTTP client: {0}")]
    Http(String),
}
