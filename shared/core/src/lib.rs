//! The application core: ports, the use cases built on them, crypto and configuration.
//!
//! A guided tour:
//! - [`ports`]: the traits the outside world must implement (item store, queue, mailer), each
//!   with a documented contract that `tests/contract` checks against every adapter.
//! - [`accounts`]: the accounts use cases (registration, sessions, recovery, social sign-in).
//! - [`points`]: the points ledger (balances, entries, day bookings, outbox events).
//! - [`antigaming`]: shared-device flags and the admins' review queue.
//! - [`sync`]: tracker connections, the scheduled fan-out and the sync worker's job.
//! - [`email`]: email jobs, their templates, and the worker logic that delivers them.
//! - [`crypto`], [`social`], [`ratelimit`]: the security building blocks.
//! - [`config`]: the one typed configuration, read once; [`clock`]: time as a dependency.
//! - [`app`]: wiring a ready-to-use [`AccountService`] from a config and adapters.

pub mod accounts;
pub mod antigaming;
pub mod app;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod email;
pub mod points;
pub mod ports;
pub mod ratelimit;
pub mod social;
pub mod sync;
pub mod telemetry;

pub use accounts::{AccountError, AccountService};
pub use config::Config;
