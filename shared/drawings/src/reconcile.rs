//! `fittrack drawings reconcile <id>`: every debited point has its tickets, and every ticket
//! (in the totals and in the snapshot) its debit or its free entry, checked from both sides:
//! from the drawing's entries to the ledger, and from the entrants' ledgers back to the entries.

use std::collections::{BTreeMap, HashMap};

use fittrack_domain::UserId;
use fittrack_domain::drawing::DrawingStatus;
use fittrack_platform::ports::from_item;
use fittrack_points::EntryKind;

use crate::records::{DrawingId, EntrantRecord, EntryRecord};
use crate::{DrawingError, DrawingService, keys};

/// What the reconciliation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    pub drawing_id: String,
    pub status: DrawingStatus,
    pub entrants: u64,
    pub tickets: u64,
    pub points_debited: u64,
    pub points_refunded: u64,
    /// Every mismatch, in words; empty when the drawing reconciles.
    pub problems: Vec<String>,
}

impl Reconciliation {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

impl DrawingService {
    /// Checks the drawing's entries, totals, snapshot and the ledgers of its entrants against each other.
    ///
    /// # Errors
    /// [`DrawingError::NotFound`]; [`DrawingError::Store`]; [`DrawingError::Corrupt`] for a snapshot
    /// that does not match its published hash.
    pub async fn reconcile(&self, id: &DrawingId) -> Result<Reconciliation, DrawingError> {
        let drawing = self.drawing(id).await?;
        let mut totals: BTreeMap<UserId, EntrantRecord> = BTreeMap::new();
        let mut entries: HashMap<UserId, Vec<EntryRecord>> = HashMap::new();
        for shard in 0..keys::SHARDS {
            self.for_each_in(keys::totals_partition(id, shard), keys::USER_PREFIX, |item| {
                let record: EntrantRecord = from_item(item)?;
                totals.insert(record.user_id, record);
                Ok(())
            })
            .await?;
            self.for_each_in(keys::entries_partition(id, shard), keys::USER_PREFIX, |item| {
                let record: EntryRecord = from_item(item)?;
                entries.entry(record.user_id).or_default().push(record);
                Ok(())
            })
            .await?;
        }
        let mut report = Reconciliation {
            drawing_id: id.to_string(),
            status: drawing.status,
            entrants: totals.values().filter(|t| t.tickets > 0).count() as u64,
            tickets: totals.values().map(|t| t.tickets).sum(),
            points_debited: 0,
            points_refunded: 0,
            problems: Vec::new(),
        };
        let none = Vec::new();
        for (user, total) in &totals {
            let mine = entries.get(user).unwrap_or(&none);
            let granted: u64 = mine.iter().map(|e| e.quantity).sum();
            if granted != total.tickets {
                report
                    .problems
                    .push(format!("user {user}: {} tickets held, {granted} granted by entries", total.tickets));
            }
        }
        for user in entries.keys().filter(|u| !totals.contains_key(u)) {
            report.problems.push(format!("user {user}: entries but no tickets held"));
        }
        for (user, mine) in &entries {
            self.check_ledger(id, *user, mine, &mut report).await?;
        }
        if drawing.snapshot.is_some() {
            let (snapshot, users) = self.load_snapshot(&drawing).await?;
            let mut listed: HashMap<UserId, u64> = HashMap::new();
            for (range, user) in snapshot.ranges().iter().zip(&users) {
                *listed.entry(*user).or_default() += range.count;
            }
            if snapshot.total() != report.tickets {
                report.problems.push(format!("snapshot has {} tickets, totals {}", snapshot.total(), report.tickets));
            }
            for (user, total) in totals.iter().filter(|(_, t)| t.tickets > 0) {
                let in_snapshot = listed.get(user).copied().unwrap_or(0);
                if in_snapshot != total.tickets {
                    report
                        .problems
                        .push(format!("user {user}: {} tickets held, {in_snapshot} in the snapshot", total.tickets));
                }
            }
            for user in listed.keys().filter(|u| !totals.contains_key(u)) {
                report.problems.push(format!("user {user}: in the snapshot without tickets"));
            }
        }
        Ok(report)
    }

    /// Each purchase has its debit (and its refund, if refunded) in `user`'s ledger, and every
    /// debit or refund the ledger has for this drawing belongs to one of `mine`.
    async fn check_ledger(
        &self,
        id: &DrawingId,
        user: UserId,
        mine: &[EntryRecord],
        report: &mut Reconciliation,
    ) -> Result<(), DrawingError> {
        let prefix = format!("drawing:{id}:");
        let mut expected: HashMap<String, (EntryKind, i64)> = HashMap::new();
        for entry in mine.iter().filter(|e| e.points > 0) {
            let name = &entry.name;
            let points = i64::try_from(entry.points).unwrap_or(i64::MAX);
            expected.insert(format!("{prefix}{name}"), (EntryKind::Spend, -points));
            report.points_debited += entry.points;
            if entry.refunded {
                expected.insert(format!("{prefix}refund:{name}"), (EntryKind::Refund, points));
                report.points_refunded += entry.points;
            }
        }
        let mut cursor = None;
        loop {
            let (page, next) = self.ledger.entries(user, 100, cursor).await?;
            for entry in page.into_iter().filter(|e| e.cause.starts_with(&prefix)) {
                match expected.remove(&entry.cause) {
                    Some((kind, amount)) if kind == entry.kind && amount == entry.amount => {}
                    Some((kind, amount)) => report.problems.push(format!(
                        "user {user}: ledger entry {} is {:?} {} but the drawing expects {kind:?} {amount}",
                        entry.seq, entry.kind, entry.amount
                    )),
                    None => report.problems.push(format!(
                        "user {user}: ledger entry {} ({}) has no entry in the drawing",
                        entry.seq, entry.cause
                    )),
                }
            }
            match next {
                Some(more) => cursor = Some(more),
                None => break,
            }
        }
        for cause in expected.keys() {
            report.problems.push(format!("user {user}: no ledger entry for {cause}"));
        }
        Ok(())
    }
}
