//! The order-statistics index of one board: exact ranks on a key-value store.
//!
//! Rows are items sorted by [`Standing::sort_key`] in the board's row partition, so the top of the
//! board and the neighbours of a row are keyset queries. Above the rows sit [`LEVELS`] levels of
//! *count items*, a B+tree that stores only separators and counts: an item of level 1 stands for
//! the rows from its lower bound (its sort key) to the next item's, and holds how many there are;
//! an item of level `k + 1` stands for the level-`k` items in its range and holds the sum of their
//! counts. The first item of every level has the lower bound [`FIRST`], below every row.
//!
//! The rank of a row is the sum of the counts of every range before it: all top-level items
//! before its own, then within its own, the children before its own, down to the rows of its
//! level-1 range, counted directly. Each level reads at most one item's children, so the cost is
//! bounded by the fan-out, whatever the board's size or how many people share a score.
//!
//! Counts are never incremented: after rows move, every count item whose range holds a moved key
//! is *recounted* from the level below and set, splitting items that grew past their maximum and
//! folding small ones into their neighbour. Recounting is idempotent, so a writer that died
//! half-way is repaired by replaying the same moves. The index assumes one writer per board at a
//! time (see [`crate::worker`]); reads may run at any time.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt, stream};
use serde_json::{Value, json};

use fittrack_domain::leaderboard::Standing;
use fittrack_platform::ports::{Item, ItemStore, Key, Query, StoreError, Table, WriteOp};

use crate::keys::{BoardId, counts_partition, rows_partition};

/// Count levels above the rows. Three levels of fan-out 16 to 64 over ranges of 16 to 64 rows
/// keep the top level under a hundred items up to tens of millions of rows.
pub const LEVELS: u8 = 3;
/// The lower bound of the first count item of every level: below every sort key (hex digits).
pub const FIRST: &str = "!";
/// Appended to a sort key, gives a bound above it and below every longer key that starts with it.
const ABOVE: &str = "~";

/// Rows per level-1 range, and children per higher range: a range above the maximum splits, one
/// below the minimum folds into its predecessor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fanout {
    pub max_rows: usize,
    pub min_rows: usize,
    pub max_children: usize,
    pub min_children: usize,
}

impl Default for Fanout {
    /// 16 to 64 rows per range keeps a level-1 recount and the last step of a rank under 2 read
    /// units; 16 to 64 children per range keeps each level's step at 1.
    fn default() -> Self {
        Self { max_rows: 64, min_rows: 16, max_children: 64, min_children: 16 }
    }
}

/// Writes in flight at once when rows move.
const PARALLEL_WRITES: usize = 16;

/// One person on one board: where they stand and the name the board may show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub standing: Standing,
    /// The display name of a public profile; none for a private one.
    pub name: Option<String>,
}

impl Row {
    pub fn key(&self) -> String {
        self.standing.sort_key()
    }

    /// The key holds the whole standing: a row is its key and, for a public profile, a name.
    fn to_item(&self, board: &BoardId) -> Item {
        let mut item = json!({"pk": rows_partition(board), "sk": self.key()});
        if let Some(name) = &self.name {
            item["n"] = name.as_str().into();
        }
        if let Some(at) = board.expires_at() {
            item["expires_at"] = at.into();
        }
        match item {
            Value::Object(map) => map,
            _ => Item::new(),
        }
    }

    fn from_item(item: &Item) -> Result<Row, StoreError> {
        let standing = sort_key(item)
            .and_then(Standing::from_sort_key)
            .ok_or_else(|| StoreError::Corrupt("leaderboard row".into()))?;
        Ok(Row { standing, name: item.get("n").and_then(Value::as_str).map(str::to_owned) })
    }
}

/// A row that changes place: `from` is where it stood (none: new on the board), `to` where it
/// stands now (none: off the board).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub from: Option<String>,
    pub to: Option<Row>,
}

/// What a recount of one range read.
struct Plan {
    lo: String,
    stored: Option<Counted>,
    children: Vec<(String, u64)>,
    previous: Option<Counted>,
    /// Neither the first range of the level nor the first child of a range above it.
    removable: bool,
}

/// The writes of one level's recount: groups that may run in any order, then folds in order.
#[derive(Default)]
struct Decided {
    independent: Vec<Vec<WriteOp>>,
    folds: Vec<Vec<WriteOp>>,
}

/// A count item as read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Counted {
    lo: String,
    /// Rows in the range.
    n: u64,
    /// Children in the range (rows, for level 1).
    c: u64,
}

impl Counted {
    fn from_item(item: &Item) -> Option<Counted> {
        Some(Counted {
            lo: item.get("sk")?.as_str()?.to_owned(),
            n: item.get("n")?.as_u64()?,
            c: item.get("c")?.as_u64()?,
        })
    }
}

#[derive(Clone)]
pub struct BoardIndex {
    store: Arc<dyn ItemStore>,
    fanout: Fanout,
}

impl BoardIndex {
    pub fn new(store: Arc<dyn ItemStore>) -> Self {
        Self { store, fanout: Fanout::default() }
    }

    /// An index with other range sizes: tests use tiny ones to exercise every level.
    pub fn with_fanout(store: Arc<dyn ItemStore>, fanout: Fanout) -> Self {
        Self { store, fanout }
    }

    /// People on the board.
    ///
    /// # Errors
    /// The store's failures.
    pub async fn size(&self, board: &BoardId) -> Result<u64, StoreError> {
        let query = Query::partition(Table::Leaderboards, counts_partition(board, LEVELS)).limit(1000);
        Ok(self.all(query).await?.iter().filter_map(Counted::from_item).map(|c| c.n).sum())
    }

    /// How many rows sort before `key`: the 0-based rank of the row with that key.
    ///
    /// # Errors
    /// The store's failures.
    pub async fn rows_before(&self, board: &BoardId, key: &str) -> Result<u64, StoreError> {
        let up_to_key = format!("{key}{ABOVE}");
        let top =
            Query::partition(Table::Leaderboards, counts_partition(board, LEVELS)).sort_below(&up_to_key).limit(1000);
        let top: Vec<Counted> = self.all(top).await?.iter().filter_map(Counted::from_item).collect();
        let Some((own, before)) = top.split_last() else { return Ok(0) };
        let mut rank = before.iter().map(|c| c.n).sum::<u64>();
        let mut parent = own.clone();
        for level in (1..LEVELS).rev() {
            // The children of `parent` up to the key are the first ones going down from the key.
            let query = Query::partition(Table::Leaderboards, counts_partition(board, level))
                .sort_below(&up_to_key)
                .descending()
                .limit(u32::try_from(parent.c.max(1)).unwrap_or(u32::MAX));
            let page = self.store.query(query).await?;
            let children: Vec<Counted> =
                page.items.iter().filter_map(Counted::from_item).filter(|c| c.lo >= parent.lo).collect();
            let Some((own, before)) = children.split_first() else { break };
            rank += before.iter().map(|c| c.n).sum::<u64>();
            parent = own.clone();
        }
        let rows = Query::partition(Table::Leaderboards, rows_partition(board))
            .sort_below(key)
            .descending()
            .limit(u32::try_from(parent.n.max(1)).unwrap_or(u32::MAX));
        let page = self.store.query(rows).await?;
        rank += page.items.iter().filter(|item| sort_key(item).is_some_and(|k| k >= parent.lo.as_str())).count() as u64;
        Ok(rank)
    }

    /// Up to `limit` rows in board order, starting after the first `offset` (select by rank: the
    /// counts lead down to the range holding that position, as they lead to a rank).
    ///
    /// # Errors
    /// The store's failures; [`StoreError::Corrupt`] for a row that does not read.
    pub async fn rows_at(&self, board: &BoardId, offset: u64, limit: u32) -> Result<Vec<Row>, StoreError> {
        if offset == 0 {
            return self.rows_after(board, None, limit).await;
        }
        let top = Query::partition(Table::Leaderboards, counts_partition(board, LEVELS)).limit(1000);
        let top: Vec<Counted> = self.all(top).await?.iter().filter_map(Counted::from_item).collect();
        let mut remaining = offset;
        let Some(mut parent) = pick(&top, &mut remaining) else { return Ok(Vec::new()) };
        for level in (1..LEVELS).rev() {
            let query = Query::partition(Table::Leaderboards, counts_partition(board, level))
                .sort_from(&parent.lo)
                .limit(u32::try_from(parent.c.max(1)).unwrap_or(u32::MAX));
            let children: Vec<Counted> =
                self.store.query(query).await?.items.iter().filter_map(Counted::from_item).collect();
            let Some(child) = pick(&children, &mut remaining) else { break };
            parent = child;
        }
        let skip = u32::try_from(remaining).unwrap_or(u32::MAX);
        let query = Query::partition(Table::Leaderboards, rows_partition(board))
            .sort_from(&parent.lo)
            .limit(skip.saturating_add(limit));
        let page = self.store.query(query).await?;
        page.items.iter().skip(skip as usize).map(Row::from_item).collect()
    }

    /// Up to `limit` rows in board order, after the row with key `after` (from the top without).
    ///
    /// # Errors
    /// The store's failures; [`StoreError::Corrupt`] for a row that does not read.
    pub async fn rows_after(&self, board: &BoardId, after: Option<&str>, limit: u32) -> Result<Vec<Row>, StoreError> {
        let mut query = Query::partition(Table::Leaderboards, rows_partition(board)).limit(limit);
        if let Some(key) = after {
            query = query.sort_from(format!("{key}{ABOVE}"));
        }
        self.store.query(query).await?.items.iter().map(Row::from_item).collect()
    }

    /// Up to `limit` rows just before `key`, in board order.
    ///
    /// # Errors
    /// The store's failures; [`StoreError::Corrupt`] for a row that does not read.
    pub async fn rows_before_key(&self, board: &BoardId, key: &str, limit: u32) -> Result<Vec<Row>, StoreError> {
        let query =
            Query::partition(Table::Leaderboards, rows_partition(board)).sort_below(key).descending().limit(limit);
        let mut rows: Vec<Row> =
            self.store.query(query).await?.items.iter().map(Row::from_item).collect::<Result<_, _>>()?;
        rows.reverse();
        Ok(rows)
    }

    /// The row stored under `key`, if any.
    ///
    /// # Errors
    /// The store's failures; [`StoreError::Corrupt`] for a row that does not read.
    pub async fn row(&self, board: &BoardId, key: &str) -> Result<Option<Row>, StoreError> {
        let item = self.store.get(Table::Leaderboards, &Key::new(rows_partition(board), key)).await?;
        item.as_ref().map(Row::from_item).transpose()
    }

    /// Moves rows and brings every count above them up to date. Safe to repeat: replaying the same
    /// moves after a crash leaves the index as one complete run would. One writer per board.
    ///
    /// # Errors
    /// The store's failures; a repeat repairs what a failed run left.
    pub async fn apply(&self, board: &BoardId, moves: &[Move]) -> Result<(), StoreError> {
        let mut touched = BTreeSet::new();
        let mut deletes = Vec::new();
        let mut puts = Vec::new();
        for change in moves {
            let to_key = change.to.as_ref().map(Row::key);
            if let Some(from) = &change.from {
                touched.insert(from.clone());
                if to_key.as_ref() != Some(from) {
                    deletes.push(Key::new(rows_partition(board), from.clone()));
                }
            }
            if let (Some(row), Some(key)) = (&change.to, to_key) {
                touched.insert(key);
                puts.push(row.to_item(board));
            }
        }
        // Deletes first: a row's old and new keys differ, and no two people share a key.
        stream::iter(deletes.into_iter().map(|key| {
            let store = Arc::clone(&self.store);
            async move { store.delete(Table::Leaderboards, &key, None).await }
        }))
        .buffer_unordered(PARALLEL_WRITES)
        .try_collect::<Vec<()>>()
        .await?;
        stream::iter(puts.into_iter().map(|item| {
            let store = Arc::clone(&self.store);
            async move { store.put(Table::Leaderboards, item, None).await }
        }))
        .buffer_unordered(PARALLEL_WRITES)
        .try_collect::<Vec<()>>()
        .await?;
        self.repair(board, &touched).await
    }

    /// Recounts, level by level, every count item whose range holds one of `keys`. At each level
    /// the reads run in parallel (one plan per range, all against the same state of the level
    /// below), then the writes: splits, deletions and plain recounts in parallel (each touches
    /// its own items), folds one by one, each from the planned counts of both ranges.
    async fn repair(&self, board: &BoardId, keys: &BTreeSet<String>) -> Result<(), StoreError> {
        for level in 1..=LEVELS {
            let lookups: Vec<_> = keys.iter().map(|key| Box::pin(self.containing(board, level, key))).collect();
            let ranges: BTreeSet<String> = stream::iter(lookups)
                .buffer_unordered(PARALLEL_WRITES)
                .map_ok(|found| found.map_or_else(|| FIRST.to_owned(), |c| c.lo))
                .try_collect()
                .await?;
            let plans: Vec<_> = ranges.iter().map(|lo| Box::pin(self.plan(board, level, lo))).collect();
            let mut plans: Vec<Plan> = stream::iter(plans).buffer_unordered(PARALLEL_WRITES).try_collect().await?;
            plans.sort_by(|a, b| a.lo.cmp(&b.lo));
            let ops = self.decide(board, level, plans);
            stream::iter(ops.independent.into_iter().map(|ops| {
                let store = Arc::clone(&self.store);
                async move {
                    match <[WriteOp; 1]>::try_from(ops) {
                        Ok([WriteOp::Put { table, item, .. }]) => store.put(table, item, None).await,
                        Ok([WriteOp::Delete { table, key, .. }]) => store.delete(table, &key, None).await,
                        Ok([other]) => store.transact(vec![other]).await,
                        Err(ops) => store.transact(ops).await,
                    }
                }
            }))
            .buffer_unordered(PARALLEL_WRITES)
            .try_collect::<Vec<()>>()
            .await?;
            for fold in ops.folds {
                self.store.transact(fold).await?;
            }
        }
        Ok(())
    }

    /// Everything a recount of the range at `lo` needs, read.
    async fn plan(&self, board: &BoardId, level: u8, lo: &str) -> Result<Plan, StoreError> {
        let partition = counts_partition(board, level);
        let stored = self.store.get(Table::Leaderboards, &Key::new(&partition, lo)).await?;
        let next = self.next_lo(board, level, lo).await?;
        let children = self.children(board, level, lo, next.as_deref()).await?;
        let is_parent_bound = level < LEVELS
            && self.store.get(Table::Leaderboards, &Key::new(counts_partition(board, level + 1), lo)).await?.is_some();
        let removable = lo != FIRST && !is_parent_bound;
        let previous = if removable { self.previous(board, level, lo).await? } else { None };
        Ok(Plan {
            lo: lo.to_owned(),
            stored: stored.as_ref().and_then(Counted::from_item),
            children,
            previous,
            removable,
        })
    }

    /// The writes that bring the planned ranges up to date: each in its own group, except folds.
    fn decide(&self, board: &BoardId, level: u8, plans: Vec<Plan>) -> Decided {
        let table = Table::Leaderboards;
        let partition = counts_partition(board, level);
        let fanout = self.fanout;
        let (max, min) =
            if level == 1 { (fanout.max_rows, fanout.min_rows) } else { (fanout.max_children, fanout.min_children) };
        let item = |lo: &str, n: u64, c: usize| {
            let mut item = json!({"pk": partition, "sk": lo, "n": n, "c": c});
            if let Some(at) = board.expires_at() {
                item["expires_at"] = at.into();
            }
            match item {
                Value::Object(map) => map,
                _ => Item::new(),
            }
        };
        // The counts each planned range will have, as folds change them.
        let mut planned: BTreeMap<String, (u64, usize)> =
            plans.iter().map(|p| (p.lo.clone(), (p.children.iter().map(|(_, n)| n).sum(), p.children.len()))).collect();
        let mut gone: BTreeSet<String> = BTreeSet::new();
        let mut folded_into: BTreeSet<String> = BTreeSet::new();
        // Small range -> the predecessor it folds into.
        let mut folds: Vec<(String, String)> = Vec::new();
        let mut decided = Decided::default();
        for plan in &plans {
            let (n, c) = planned[&plan.lo];
            if c > max {
                // Split into ranges of half the maximum; the new bounds sit between two children.
                let chunk = (max / 2).max(1);
                let parts = plan.children.chunks(chunk).enumerate().map(|(i, part)| {
                    let bound = if i == 0 {
                        plan.lo.clone()
                    } else {
                        separator(&plan.children[i * chunk - 1].0, &part[0].0, level == 1)
                    };
                    WriteOp::Put {
                        table,
                        item: item(&bound, part.iter().map(|(_, n)| n).sum(), part.len()),
                        condition: None,
                    }
                });
                let parts: Vec<WriteOp> = parts.collect();
                decided.independent.extend(parts.chunks(100).map(<[WriteOp]>::to_vec));
                continue;
            }
            if plan.removable && c == 0 {
                gone.insert(plan.lo.clone());
                if plan.stored.is_some() {
                    decided.independent.push(vec![WriteOp::Delete {
                        table,
                        key: Key::new(&partition, &plan.lo),
                        condition: None,
                    }]);
                }
                continue;
            }
            let fold_target = plan.previous.as_ref().filter(|previous| {
                let (_, previous_c) = planned.get(&previous.lo).copied().unwrap_or((previous.n, previous.c as usize));
                plan.removable
                    && c < min
                    && !gone.contains(&previous.lo)
                    && !folded_into.contains(&previous.lo)
                    && previous_c + c <= max
            });
            if let Some(previous) = fold_target {
                let (previous_n, previous_c) =
                    planned.get(&previous.lo).copied().unwrap_or((previous.n, previous.c as usize));
                planned.insert(previous.lo.clone(), (previous_n + n, previous_c + c));
                gone.insert(plan.lo.clone());
                folded_into.insert(previous.lo.clone());
                folds.push((plan.lo.clone(), previous.lo.clone()));
                continue;
            }
            if plan.stored.as_ref().is_none_or(|s| (s.n, s.c) != (n, c as u64)) {
                decided.independent.push(vec![WriteOp::Put { table, item: item(&plan.lo, n, c), condition: None }]);
            }
        }
        // A fold deletes the small range and writes its predecessor with both counts, at once. A
        // predecessor that was also planned is written here and not above.
        for target in &folded_into {
            decided.independent.retain(|ops| {
                !matches!(ops.as_slice(), [WriteOp::Put { item, .. }] if item.get("sk").and_then(Value::as_str) == Some(target.as_str()))
            });
        }
        for (small, previous) in folds {
            let (n, c) = planned[&previous];
            decided.folds.push(vec![
                WriteOp::Delete { table, key: Key::new(&partition, &small), condition: None },
                WriteOp::Put { table, item: item(&previous, n, c), condition: None },
            ]);
        }
        decided
    }

    /// The count item of `level` whose range holds `key`; none while the level is empty.
    async fn containing(&self, board: &BoardId, level: u8, key: &str) -> Result<Option<Counted>, StoreError> {
        let query = Query::partition(Table::Leaderboards, counts_partition(board, level))
            .sort_below(format!("{key}{ABOVE}"))
            .descending()
            .limit(1);
        Ok(self.store.query(query).await?.items.first().and_then(Counted::from_item))
    }

    /// The lower bound of the count item after the one at `lo`.
    async fn next_lo(&self, board: &BoardId, level: u8, lo: &str) -> Result<Option<String>, StoreError> {
        let query = Query::partition(Table::Leaderboards, counts_partition(board, level)).sort_from(lo).limit(2);
        let page = self.store.query(query).await?;
        Ok(page.items.iter().filter_map(sort_key).find(|k| *k != lo).map(str::to_owned))
    }

    /// The count item of `level` before the one at `lo`.
    async fn previous(&self, board: &BoardId, level: u8, lo: &str) -> Result<Option<Counted>, StoreError> {
        let query =
            Query::partition(Table::Leaderboards, counts_partition(board, level)).sort_below(lo).descending().limit(1);
        Ok(self.store.query(query).await?.items.first().and_then(Counted::from_item))
    }

    /// The children of the range `[lo, next)` at `level`: rows for level 1 (each counting 1),
    /// count items of the level below otherwise. Returns each child's key and count.
    async fn children(
        &self,
        board: &BoardId,
        level: u8,
        lo: &str,
        next: Option<&str>,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let partition = if level == 1 { rows_partition(board) } else { counts_partition(board, level - 1) };
        let mut children = Vec::new();
        let mut cursor = None;
        loop {
            let query =
                Query::partition(Table::Leaderboards, partition.clone()).sort_from(lo).limit(100).after(cursor.take());
            let page = self.store.query(query).await?;
            for item in &page.items {
                let Some(key) = sort_key(item) else { continue };
                if next.is_some_and(|next| key >= next) {
                    return Ok(children);
                }
                let count = if level == 1 { 1 } else { Counted::from_item(item).map_or(0, |c| c.n) };
                children.push((key.to_owned(), count));
            }
            match page.next {
                Some(next_page) if !page.items.is_empty() => cursor = Some(next_page),
                _ => return Ok(children),
            }
        }
    }

    async fn all(&self, query: Query) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.store.query(query.clone().after(cursor.take())).await?;
            let empty = page.items.is_empty();
            items.extend(page.items);
            match page.next {
                Some(next) if !empty => cursor = Some(next),
                _ => return Ok(items),
            }
        }
    }
}

/// The range holding position `remaining` among `ranges` (in order), leaving in `remaining` the
/// position within it.
fn pick(ranges: &[Counted], remaining: &mut u64) -> Option<Counted> {
    for range in ranges {
        if *remaining < range.n {
            return Some(range.clone());
        }
        *remaining -= range.n;
    }
    None
}

fn sort_key(item: &Item) -> Option<&str> {
    item.get("sk").and_then(Value::as_str)
}

/// A bound above `previous` and at most `next`: for rows, the shortest prefix of `next` that
/// sorts after `previous` (short bounds keep count items small); for count items, `next` itself,
/// so every bound of a level is also a bound of the level below (ranges nest).
fn separator(previous: &str, next: &str, rows: bool) -> String {
    if !rows {
        return next.to_owned();
    }
    (1..=next.len())
        .filter(|&len| next.is_char_boundary(len))
        .map(|len| &next[..len])
        .find(|prefix| *prefix > previous)
        .unwrap_or(next)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_are_short_and_between() {
        assert_eq!(separator("3a10", "3a25", true), "3a2");
        assert_eq!(separator("3a", "3a0", true), "3a0");
        assert_eq!(separator("19ff", "2000", true), "2");
        assert_eq!(separator("19ff", "2000", false), "2000");
    }
}
