//! Where each drawing item lives in the tickets table (see docs/data-model.md, "tickets table").
//!
//! Entries are spread over [`SHARDS`] partitions per drawing by user, so no item and no
//! partition is written by every purchase: the last minutes before a popular drawing closes
//! touch sixteen gates and sixteen partitions of totals and entries, each taking a sixteenth.

use fittrack_domain::UserId;
use fittrack_domain::draw_protocol::EntrantId;
use fittrack_platform::ports::Key;

use crate::records::DrawingId;

/// Partitions per drawing for entrants' totals and entries.
pub const SHARDS: u8 = 16;

pub const META: &str = "META";
pub const RULES: &str = "RULES";
pub const RESULTS: &str = "RESULTS";
/// The gate sorts before every `U#` item of its partition.
pub const GATE: &str = "!GATE";
pub const USER_PREFIX: &str = "U#";
pub const WINNER_PREFIX: &str = "WINNER#";
pub const ALTERNATE_PREFIX: &str = "ALTERNATE#";

/// Drawings with a step due, by the time it is due: what the scheduler reads.
pub const DUE_PARTITION: &str = "DUE";
pub const SPONSORS_INDEX: &str = "SPONSORS";

/// The shard of `user`'s items: the last byte of the id, random in UUIDv4 and v7 alike.
pub fn shard_of(user: UserId) -> u8 {
    let simple = user.simple();
    let last = u8::from_str_radix(&simple[simple.len() - 2..], 16).unwrap_or(0);
    last % SHARDS
}

pub fn drawing_partition(drawing: &DrawingId) -> String {
    format!("DRAWING#{drawing}")
}

pub fn meta_key(drawing: &DrawingId) -> Key {
    Key::new(drawing_partition(drawing), META)
}

pub fn rules_key(drawing: &DrawingId) -> Key {
    Key::new(drawing_partition(drawing), RULES)
}

pub fn results_key(drawing: &DrawingId) -> Key {
    Key::new(drawing_partition(drawing), RESULTS)
}

pub fn winner_key(drawing: &DrawingId, place: u32) -> Key {
    Key::new(drawing_partition(drawing), format!("{WINNER_PREFIX}{place:04}"))
}

pub fn alternate_key(drawing: &DrawingId, place: u32) -> Key {
    Key::new(drawing_partition(drawing), format!("{ALTERNATE_PREFIX}{place:04}"))
}

/// Shard `shard`'s gate and entrants' totals.
pub fn totals_partition(drawing: &DrawingId, shard: u8) -> String {
    format!("DRAWING#{drawing}#T{shard:02}")
}

/// Shard `shard`'s entries (purchases, free and mail-in entries).
pub fn entries_partition(drawing: &DrawingId, shard: u8) -> String {
    format!("DRAWING#{drawing}#P{shard:02}")
}

pub fn gate_key(drawing: &DrawingId, shard: u8) -> Key {
    Key::new(totals_partition(drawing, shard), GATE)
}

pub fn entrant_key(drawing: &DrawingId, user: UserId) -> Key {
    Key::new(totals_partition(drawing, shard_of(user)), format!("{USER_PREFIX}{user}"))
}

/// The sort-key prefix of `user`'s entries in their entries partition.
pub fn entries_prefix(user: UserId) -> String {
    format!("{USER_PREFIX}{user}#")
}

pub fn entry_key(drawing: &DrawingId, user: UserId, entry: &str) -> Key {
    Key::new(entries_partition(drawing, shard_of(user)), format!("{}{entry}", entries_prefix(user)))
}

/// The snapshot's chunks, each under the id of its first entrant (ids and tickets sort alike).
pub fn snapshot_partition(drawing: &DrawingId) -> String {
    format!("DRAWING#{drawing}#S")
}

pub fn chunk_key(drawing: &DrawingId, first: &EntrantId) -> Key {
    Key::new(snapshot_partition(drawing), first.to_string())
}

pub fn due_key(at: i64, drawing: &DrawingId) -> Key {
    Key::new(DUE_PARTITION, due_sort(at, drawing))
}

pub fn due_sort(at: i64, drawing: &DrawingId) -> String {
    format!("{:010}#{drawing}", at.max(0))
}

pub fn sponsor_key(sponsor: &str) -> Key {
    Key::new(format!("SPONSOR#{sponsor}"), META)
}

/// The index partition listing drawings of one status.
pub fn status_index(status: fittrack_domain::drawing::DrawingStatus) -> String {
    format!("DRAWINGS#{status}")
}
