//! What a ban does to drawings (the rule is in docs/decisions.md, "Account status and bans"):
//!
//! - In every drawing still open, the banned person's tickets are withdrawn (their entrant holds
//!   none and is marked void, so no entry can land after) and every purchase is refunded once,
//!   as for a cancelled drawing. The ban leaves a marker (`BANNED` / `U#<user>`, with the time)
//!   in the same transaction as the status; the scheduler withdraws every minute for five
//!   minutes (an entry that passed its checks just before the ban is caught), then removes it.
//! - A drawing already closed keeps its published snapshot (changing it would break the
//!   verification). The person's prizes waiting on them (notified, or with a refused address)
//!   are forfeited to the next alternate; a pending one is disqualified when the scheduler comes
//!   to notify it; shipping to a banned winner is refused.

use fittrack_domain::drawing::DrawingStatus;
use fittrack_domain::{AccountStatus, UserId};
use fittrack_platform::ports::{Condition, Item, Key, Query, StoreError, Table, Update, WriteOp, from_item};

use crate::records::{DrawingId, DrawingRecord, EntrantRecord, EntryRecord, GateRecord, LoadAt};
use crate::{DrawingError, DrawingService, keys};

/// The partition of the bans waiting to be applied to open drawings.
pub const BANNED_PARTITION: &str = "BANNED";

/// How long a ban's marker stays: the withdrawal runs every minute until then, so an entry that
/// passed its checks before the ban and landed after a withdrawal is withdrawn too (no request
/// lives this long).
const MARKER_SECONDS: i64 = 300;

/// The marker a ban writes (in the ban's transaction, at `at`) for the scheduler.
pub fn ban_marker(user: UserId, at: i64) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), BANNED_PARTITION.into());
    item.insert("sk".into(), format!("{}{user}", keys::USER_PREFIX).into());
    item.insert("user_id".into(), user.to_string().into());
    item.insert("banned_at".into(), at.into());
    item
}

pub fn ban_marker_key(user: UserId) -> Key {
    Key::new(BANNED_PARTITION, format!("{}{user}", keys::USER_PREFIX))
}

impl DrawingService {
    /// Applies every waiting ban to the open drawings; returns how many bans were applied.
    ///
    /// # Errors
    /// [`DrawingError::Store`] when the markers or the open drawings cannot be read; a ban that
    /// fails is logged and retried on the next run.
    pub async fn apply_bans(&self) -> Result<usize, DrawingError> {
        let page = self.store.query(Query::partition(Table::Tickets, BANNED_PARTITION).limit(100)).await?;
        if page.items.is_empty() {
            return Ok(0);
        }
        let open = self.open_drawings().await?;
        let mut applied = 0;
        for item in page.items {
            let Some(user) = item.get("user_id").and_then(|u| u.as_str()).and_then(|u| u.parse::<UserId>().ok()) else {
                continue;
            };
            let banned_at = item.get("banned_at").and_then(serde_json::Value::as_i64).unwrap_or(0);
            match self.withdraw_everywhere(user, &open).await {
                Ok(()) if self.now() - banned_at >= MARKER_SECONDS => {
                    self.store.delete(Table::Tickets, &ban_marker_key(user), None).await?;
                    applied += 1;
                }
                Ok(()) => applied += 1,
                Err(error) => tracing::error!(user_id = %user, %error, "applying a ban failed; retried next run"),
            }
        }
        Ok(applied)
    }

    async fn open_drawings(&self) -> Result<Vec<DrawingRecord>, DrawingError> {
        let mut open = Vec::new();
        let mut cursor = None;
        loop {
            let query = Query::partition(Table::Tickets, keys::status_index(DrawingStatus::Open))
                .on_index(fittrack_platform::ports::Index::Gsi1)
                .after(cursor);
            let page = self.store.query(query).await?;
            for item in page.items {
                open.push(from_item::<DrawingRecord>(item)?);
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(open),
            }
        }
    }

    async fn withdraw_everywhere(&self, user: UserId, open: &[DrawingRecord]) -> Result<(), DrawingError> {
        // Reinstated before the scheduler came round: nothing to withdraw.
        if self.account(user).await?.is_none_or(|a| a.status != AccountStatus::Banned) {
            return Ok(());
        }
        for drawing in open {
            self.withdraw(user, &drawing.id).await?;
        }
        self.disqualify_prizes(user).await
    }

    /// Forfeits the banned user's prizes still waiting on them (notified, or with a refused
    /// address): each goes to its drawing's next alternate. Pending places are disqualified when
    /// the scheduler comes to notify them; a confirmed address is an admin's to stop (shipping
    /// to a banned account is refused).
    async fn disqualify_prizes(&self, user: UserId) -> Result<(), DrawingError> {
        let query = Query::partition(Table::Tickets, format!("WINS#{user}"))
            .on_index(fittrack_platform::ports::Index::Gsi1)
            .limit(100);
        let places = self.store.query(query).await?;
        for item in places.items {
            let place: crate::records::PlaceRecord = from_item(item)?;
            if matches!(
                place.status,
                fittrack_domain::fulfilment::FulfilmentStatus::WinnerNotified
                    | fittrack_domain::fulfilment::FulfilmentStatus::AddressInvalid
            ) {
                self.forfeit(&place, None, Some("disqualified: the account is closed".into())).await?;
            }
        }
        Ok(())
    }

    /// Withdraws `user`'s tickets from one open drawing and refunds their purchases, once.
    async fn withdraw(&self, user: UserId, drawing: &DrawingId) -> Result<(), DrawingError> {
        let entrant_key = keys::entrant_key(drawing, user);
        for attempt in 1..=crate::entries::MAX_ATTEMPTS {
            let Some(held) = self.store.load_record_at::<EntrantRecord>(&entrant_key).await? else { return Ok(()) };
            if held.void {
                break;
            }
            let tickets = i64::try_from(held.tickets).unwrap_or(i64::MAX);
            let ops = vec![
                WriteOp::Update {
                    table: Table::Tickets,
                    key: entrant_key.clone(),
                    update: Update::new().set(EntrantRecord::TICKETS, 0).set(EntrantRecord::VOID, true),
                    condition: Some(Condition::equals(EntrantRecord::TICKETS, tickets)),
                },
                WriteOp::Update {
                    table: Table::Tickets,
                    key: keys::gate_key(drawing, keys::shard_of(user)),
                    update: Update::new().add(GateRecord::TICKETS, -tickets).add(GateRecord::ENTRANTS, -1),
                    condition: Some(Condition::equals(GateRecord::OPEN, true)),
                },
            ];
            match self.store.transact(ops).await {
                Ok(()) => break,
                // Closed meanwhile: the snapshot keeps the tickets; a win is disqualified later.
                Err(StoreError::TransactionCancelled { failed }) if failed.contains(&1) => return Ok(()),
                Err(StoreError::TransactionCancelled { .. } | StoreError::Contention) => {
                    crate::backoff(attempt).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        if !self.store.load_record_at::<EntrantRecord>(&entrant_key).await?.is_some_and(|h| h.void) {
            return Err(DrawingError::Busy);
        }
        let mut purchases = Vec::new();
        self.for_each_in(keys::entries_partition(drawing, keys::shard_of(user)), &keys::entries_prefix(user), |item| {
            let entry: EntryRecord = from_item(item)?;
            if entry.points > 0 && !entry.refunded {
                purchases.push(entry);
            }
            Ok(())
        })
        .await?;
        for entry in purchases {
            self.refund(drawing, &entry).await?;
        }
        tracing::info!(user_id = %user, drawing = %drawing, "a banned account's tickets were withdrawn");
        Ok(())
    }
}
