//! Leaderboards: exact ranks per competition tier for the daily, weekly, monthly and all-time
//! boards, kept up to date from the point events.
//!
//! - [`index`]: the order-statistics index of one board (rows plus levels of counts), which gives
//!   an exact rank with a bounded number of reads however large the board.
//! - [`standings`]: each person's days and boards, counting every ledger entry once.
//! - [`worker`]: the consumer of the point-events queue, one writer per tier through a lease.
//! - [`service`]: what the API reads: the top of a board, a person's place and neighbours.
//! - [`rebuild`]: the boards recomputed from the ledger, to recover or to check.
//!
//! The design and its costs are in docs/data-model.md ("leaderboards").

pub mod index;
pub mod keys;
pub mod rebuild;
pub mod service;
pub mod standings;
pub mod worker;

pub use keys::BoardId;
pub use service::{LeaderboardError, LeaderboardService};
pub use standings::{Contribution, Standings};
pub use worker::LeaderboardWorker;
