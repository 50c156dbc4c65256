//! Analytics without scans.
//!
//! Every figure is a counter kept up to date by the event it counts, in the event's own
//! transaction where the event is one ([`counters`]), or once per user and day through a marker
//! written once ([`active`]): a registration adds to the day's registrations, a ledger entry to
//! the day's points, a booked day to its activity, a drawing's transition moves it between its
//! type's status groups. Counters that every user's events touch are sharded by user (8 shards),
//! so no item takes more than an eighth of them; a report reads a handful of items per day
//! ([`report`]). What each figure costs per event and per query is in docs/data-model.md.

pub mod active;
pub mod counters;
pub mod report;

pub use report::{Analytics, Bucket};
