//! The scheduler's steps, each safe to run twice at once: open a scheduled drawing, close its
//! entries into the snapshot, draw once the beacon round exists, notify the winners; and for a
//! cancelled drawing, give every ticket's points back.
//!
//! Every step ends in a transition conditioned on the version it read (see
//! `DrawingService::transition`): of two overlapping runs one moves the drawing and the other
//! reads it again and finds nothing left to do. What a step writes before its transition (gates,
//! snapshot chunks) is the same whoever writes it, so doing it twice changes nothing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use fittrack_audit::{ActionKind, Actor, Change, TargetKind};
use fittrack_domain::UserId;
use fittrack_domain::draw_protocol::{self, EntrantId, PROTOCOL, Snapshot};
use fittrack_domain::drawing::DrawingStatus;
use fittrack_domain::fulfilment::FulfilmentStatus;
use fittrack_notifications::{NewNotification, NotificationKind};
use fittrack_platform::ports::{Condition, Item, Query, StoreError, Table, Update, WriteOp, from_item, to_item};
use futures_util::{StreamExt, TryStreamExt};

use crate::records::LoadAt;
use crate::records::{
    ChunkRecord, DrawingId, DrawingRecord, EntrantRecord, EntryRecord, GateRecord, PlaceRecord, SnapshotInfo,
};
use crate::results::{PublishedPlace, PublishedResults};
use crate::views::PublishedBeacon;
use crate::{DrawingError, DrawingService, backoff, keys};

/// Snapshot lines per stored chunk (about 45 KB).
pub const CHUNK_LINES: usize = 1000;
/// Re-reads of a drawing another writer moved while a step ran.
const STEP_ATTEMPTS: u32 = 5;
/// Results notifications written at once (one small transaction each).
const ANNOUNCE_CONCURRENCY: usize = 16;

/// What one run of the scheduler did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DueReport {
    pub opened: usize,
    pub closed: usize,
    pub drawn: usize,
    /// Closed drawings whose beacon round does not exist yet: tried again next run.
    pub waiting: usize,
    pub notified: usize,
    pub refunded: usize,
    pub failed: usize,
}

impl DueReport {
    /// Steps taken (waiting and failed drawings not counted).
    pub fn steps(&self) -> usize {
        self.opened + self.closed + self.drawn + self.notified + self.refunded
    }
}

/// What one step did to a drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Opened,
    Closed,
    Drawn,
    Waiting,
    Notified,
    Refunded,
    Nothing,
}

impl DrawingService {
    /// Runs every step that is due: what the `drawings-scheduler` function does each minute.
    ///
    /// # Errors
    /// [`DrawingError::Store`] when the due markers cannot be read (a failing drawing is logged,
    /// counted and retried next run, never blocking the others).
    pub async fn run_due(&self) -> Result<DueReport, DrawingError> {
        let bound = format!("{:010}", self.now() + 1);
        let mut report = DueReport::default();
        let mut cursor = None;
        let mut due = std::collections::BTreeSet::new();
        loop {
            let query = Query::partition(Table::Tickets, keys::DUE_PARTITION).sort_below(bound.clone()).after(cursor);
            let page = self.store.query(query).await?;
            for item in page.items {
                if let Some(id) = item.get("drawing_id").and_then(|v| v.as_str()).and_then(DrawingId::parse) {
                    due.insert(id);
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        for id in due {
            match self.step(&id).await {
                Ok(Step::Opened) => report.opened += 1,
                Ok(Step::Closed) => report.closed += 1,
                Ok(Step::Drawn) => report.drawn += 1,
                Ok(Step::Waiting) => report.waiting += 1,
                Ok(Step::Notified) => report.notified += 1,
                Ok(Step::Refunded) => report.refunded += 1,
                Ok(Step::Nothing) => {}
                Err(error) => {
                    tracing::error!(drawing = %id, %error, "drawing step failed; retried next run");
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    /// Does what is due for one drawing now.
    ///
    /// # Errors
    /// [`DrawingError::Store`], [`DrawingError::Beacon`] (an answer that does not verify),
    /// [`DrawingError::Corrupt`] (a snapshot that no longer matches its hash).
    pub async fn step(&self, id: &DrawingId) -> Result<Step, DrawingError> {
        for _ in 0..STEP_ATTEMPTS {
            let drawing = self.drawing(id).await?;
            let now = self.now();
            let moved = match drawing.status {
                DrawingStatus::Scheduled if now >= drawing.opens_at.unwrap_or(0) => {
                    self.open(&drawing).await?.then_some(Step::Opened)
                }
                DrawingStatus::Open if now >= drawing.closes_at => self.close(&drawing).await?.then_some(Step::Closed),
                DrawingStatus::Closed if now >= drawing.draw_at => match self.draw(&drawing, None).await {
                    Ok(moved) => moved.then_some(Step::Drawn),
                    Err(DrawingError::BeaconPending) => Some(Step::Waiting),
                    Err(e) => return Err(e),
                },
                DrawingStatus::Completed if !drawing.winners_notified => {
                    self.notify_winners(&drawing).await?.then_some(Step::Notified)
                }
                DrawingStatus::Cancelled if !drawing.refunds_done => {
                    self.refund_all(&drawing).await?.then_some(Step::Refunded)
                }
                status if status.is_final() && drawing.due_at.is_some() => {
                    self.transition(&drawing, drawing.clone(), None, Vec::new()).await?.then_some(Step::Nothing)
                }
                _ => Some(Step::Nothing),
            };
            if let Some(step) = moved {
                return Ok(step);
            }
        }
        Err(DrawingError::Busy)
    }

    /// Admin: draw a closed drawing now (its round must exist).
    ///
    /// # Errors
    /// [`DrawingError::InvalidTransition`] unless closed; [`DrawingError::BeaconPending`] before the
    /// round exists; as [`Self::step`].
    pub async fn execute(&self, actor: &Actor, id: &DrawingId) -> Result<DrawingRecord, DrawingError> {
        for _ in 0..STEP_ATTEMPTS {
            let drawing = self.drawing(id).await?;
            if drawing.status != DrawingStatus::Closed {
                return Err(DrawingError::InvalidTransition {
                    from: drawing.status,
                    to: DrawingStatus::Completed,
                    reasons: vec!["only a closed drawing can be drawn".into()],
                });
            }
            // The winners are notified by the scheduler's next run (its marker is due at once),
            // not in this request: telling every entrant can take longer than a request may.
            if self.draw(&drawing, Some(actor)).await? {
                return self.drawing(id).await;
            }
        }
        Err(DrawingError::Busy)
    }

    /// Admin: cancel a drawing before its drawing time; every ticket's points come back, once,
    /// even if the cancel is retried or races purchases.
    ///
    /// # Errors
    /// [`DrawingError::InvalidTransition`] for a completed drawing, or a closed one past its drawing
    /// time; [`DrawingError::Busy`]; the store's.
    pub async fn cancel(&self, actor: &Actor, id: &DrawingId) -> Result<DrawingRecord, DrawingError> {
        for _ in 0..STEP_ATTEMPTS {
            let drawing = self.drawing(id).await?;
            match drawing.status {
                DrawingStatus::Completed => {
                    return Err(DrawingError::InvalidTransition {
                        from: drawing.status,
                        to: DrawingStatus::Cancelled,
                        reasons: vec!["a completed drawing and its results are final".into()],
                    });
                }
                DrawingStatus::Cancelled => {
                    if !drawing.refunds_done {
                        self.refund_all(&drawing).await?;
                    }
                    return self.drawing(id).await;
                }
                // Past the drawing time the deciding randomness may be public: anyone (the
                // operator included) could know the outcome, and calling it off then would be
                // choosing it. From then on the drawing is drawn, never cancelled.
                DrawingStatus::Closed if self.now() >= drawing.draw_at => {
                    return Err(DrawingError::InvalidTransition {
                        from: drawing.status,
                        to: DrawingStatus::Cancelled,
                        reasons: vec!["past its drawing time a drawing is drawn, not cancelled".into()],
                    });
                }
                _ => {
                    let mut next = drawing.clone();
                    next.status = DrawingStatus::Cancelled;
                    next.cancelled_at = Some(self.now());
                    next.beacon_secret = None;
                    let change = Change::new(ActionKind::DrawingCancelled, TargetKind::Drawing, id.to_string())
                        .from_to(crate::admin::drawing_audit(&drawing), crate::admin::drawing_audit(&next));
                    let entry = actor.entry(change, self.clock.now()).ops()?;
                    if self.transition(&drawing, next, Some(self.now()), entry).await? {
                        let cancelled = self.drawing(id).await?;
                        self.refund_all(&cancelled).await?;
                        return self.drawing(id).await;
                    }
                }
            }
        }
        Err(DrawingError::Busy)
    }

    async fn open(&self, drawing: &DrawingRecord) -> Result<bool, DrawingError> {
        let mut next = drawing.clone();
        next.status = DrawingStatus::Open;
        let mut gates = Vec::with_capacity(usize::from(keys::SHARDS));
        for shard in 0..keys::SHARDS {
            let key = keys::gate_key(&drawing.id, shard);
            let mut item = to_item(&GateRecord { open: true, tickets: 0, entrants: 0 })?;
            item.insert("pk".into(), key.pk.into());
            item.insert("sk".into(), key.sk.into());
            gates.push(WriteOp::Put { table: Table::Tickets, item, condition: Some(Condition::NotExists) });
        }
        self.transition(drawing, next, Some(drawing.closes_at), gates).await
    }

    /// Shuts every gate: once this returns, no entry can land any more.
    async fn shut_gates(&self, id: &DrawingId) -> Result<(), DrawingError> {
        for shard in 0..keys::SHARDS {
            let update = Update::new().set(GateRecord::OPEN, false);
            self.store.update(Table::Tickets, &keys::gate_key(id, shard), update, None).await?;
        }
        Ok(())
    }

    /// Freezes the entries into the snapshot, commits to the beacon round, publishes both.
    async fn close(&self, drawing: &DrawingRecord) -> Result<bool, DrawingError> {
        self.shut_gates(&drawing.id).await?;
        let mut entrants = Vec::new();
        let mut people: HashMap<EntrantId, UserId> = HashMap::new();
        for shard in 0..keys::SHARDS {
            self.for_each_in(keys::totals_partition(&drawing.id, shard), keys::USER_PREFIX, |item| {
                let record: EntrantRecord = from_item(item)?;
                let entrant: EntrantId = record
                    .entrant
                    .parse()
                    .map_err(|e: draw_protocol::ProtocolError| StoreError::Corrupt(e.to_string()))?;
                // A withdrawn entrant (banned while the drawing was open) holds no tickets.
                if record.tickets == 0 {
                    return Ok(());
                }
                people.insert(entrant, record.user_id);
                entrants.push((entrant, record.tickets));
                Ok(())
            })
            .await?;
        }
        let snapshot = Snapshot::assign(entrants);
        let mut chunks = 0u64;
        for (index, ranges) in snapshot.ranges().chunks(CHUNK_LINES).enumerate() {
            let Some(first) = ranges.first() else { continue };
            let key = keys::chunk_key(&drawing.id, &first.entrant);
            let chunk = ChunkRecord {
                pk: key.pk,
                sk: key.sk,
                index: index as u64,
                lines: ranges.iter().map(|r| r.line()).collect(),
                users: ranges
                    .iter()
                    .map(|r| people.get(&r.entrant).copied())
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| DrawingError::Corrupt("an entrant of the snapshot has no person".into()))?,
            };
            self.store.put(Table::Tickets, to_item(&chunk)?, None).await?;
            chunks += 1;
        }
        // The randomness must not exist yet: a close that runs late commits to a later round.
        let closed_at = self.now();
        let decided = draw_protocol::decided_at(drawing.draw_at, closed_at);
        let (commitment, secret) =
            self.beacon.commit(DateTime::<Utc>::from_timestamp(decided, 0).unwrap_or_default())?;
        let mut next = drawing.clone();
        next.status = DrawingStatus::Closed;
        next.closed_at = Some(closed_at);
        next.snapshot = Some(SnapshotInfo {
            hash: hex::encode(snapshot.hash()),
            tickets: snapshot.total(),
            entrants: snapshot.ranges().len() as u64,
            chunks,
        });
        next.beacon = Some(commitment);
        next.beacon_secret = secret;
        self.transition(drawing, next, Some(decided), Vec::new()).await
    }

    /// Draws from the snapshot with the revealed randomness and publishes the results; the
    /// places and alternates (with their people, privately) are written in the same transaction.
    /// An admin's draw (`by`) is logged in the draw's own transaction: at 30 places it holds 98
    /// writes (results, 60 for winners and their index, 30 alternates, the drawing, its markers,
    /// 2 counters and the 2 items of the entry).
    async fn draw(&self, drawing: &DrawingRecord, by: Option<&Actor>) -> Result<bool, DrawingError> {
        let commitment =
            drawing.beacon.as_ref().ok_or_else(|| DrawingError::Corrupt("closed without a beacon".into()))?;
        let reveal =
            self.beacon.reveal(commitment, drawing.beacon_secret.as_ref()).await?.ok_or(DrawingError::BeaconPending)?;
        let mut randomness = [0u8; 32];
        hex::decode_to_slice(&reveal.randomness, &mut randomness)
            .map_err(|_| DrawingError::Corrupt("beacon randomness is not 32 bytes of hex".into()))?;
        let (snapshot, users) = self.load_snapshot(drawing).await?;
        let snapshot_hash = snapshot.hash();
        let seed = draw_protocol::seed(&snapshot_hash, &randomness);
        let outcome = draw_protocol::draw(&snapshot, &seed, drawing.places());
        let now = self.now();
        let person = |ticket: u64| -> Option<UserId> {
            let index = snapshot.ranges().partition_point(|r| r.first + r.count <= ticket);
            users.get(index).copied()
        };
        let mut places = Vec::new();
        let mut place = 0u32;
        for prize in &drawing.prizes {
            for _ in 0..prize.quantity {
                place += 1;
                places.push(PublishedPlace { place, prize_id: prize.id.clone(), prize_name: prize.name.clone() });
            }
        }
        let results = PublishedResults {
            protocol: PROTOCOL.to_owned(),
            drawing_id: drawing.id.to_string(),
            draw_at: DateTime::from_timestamp(drawing.draw_at, 0).unwrap_or_default(),
            closed_at: DateTime::from_timestamp(drawing.closed_at.unwrap_or(drawing.draw_at), 0).unwrap_or_default(),
            tickets: snapshot.total(),
            entrants: snapshot.ranges().len() as u64,
            snapshot_hash: hex::encode(snapshot_hash),
            beacon: PublishedBeacon { commitment: commitment.clone(), reveal: reveal.clone() },
            seed: hex::encode(seed),
            places,
            winners: outcome.winners.clone(),
            alternates: outcome.alternates.clone(),
            completed_at: DateTime::from_timestamp(now, 0).unwrap_or_default(),
        };
        let mut ops = Vec::new();
        let key = keys::results_key(&drawing.id);
        let mut item = Item::new();
        item.insert("pk".into(), key.pk.into());
        item.insert("sk".into(), key.sk.into());
        item.insert(
            "results".into(),
            serde_json::to_value(&results).map_err(|e| DrawingError::Corrupt(e.to_string()))?,
        );
        ops.push(WriteOp::Put { table: Table::Tickets, item, condition: Some(Condition::NotExists) });
        for (alternate, list) in [(false, &outcome.winners), (true, &outcome.alternates)] {
            for placement in list {
                let user =
                    person(placement.ticket).ok_or_else(|| DrawingError::Corrupt("a ticket with no person".into()))?;
                let key = if alternate {
                    keys::alternate_key(&drawing.id, placement.place)
                } else {
                    keys::winner_key(&drawing.id, placement.place)
                };
                let record = PlaceRecord {
                    pk: key.pk,
                    sk: key.sk,
                    // Alternates are on standby, not winners: their own index, their own status.
                    gsi1pk: if alternate { format!("ALTS#{user}") } else { format!("WINS#{user}") },
                    gsi1sk: format!("{now:010}#{}#{}", drawing.id, placement.place),
                    drawing_id: drawing.id.clone(),
                    place: placement.place,
                    alternate,
                    user_id: user,
                    entrant: placement.entrant.to_string(),
                    ticket: placement.ticket,
                    prize_id: (!alternate)
                        .then(|| drawing.prize_of_place(placement.place).map(|p| p.id.clone()))
                        .flatten(),
                    status: if alternate { FulfilmentStatus::Standby } else { FulfilmentStatus::Pending },
                    version: 1,
                    notified_at: None,
                    claim_deadline: None,
                    reminded_at: None,
                    address_enc: None,
                    tax_enc: None,
                    carrier: None,
                    tracking_number: None,
                    replaces: None,
                    replaced_by: None,
                    due_at: None,
                    history: Vec::new(),
                };
                ops.extend(self.place_ops(None, &record)?);
            }
        }
        let mut next = drawing.clone();
        next.status = DrawingStatus::Completed;
        next.completed_at = Some(now);
        next.reveal = Some(reveal);
        next.beacon_secret = None;
        next.winners_notified = outcome.winners.is_empty();
        let due = (!outcome.winners.is_empty()).then_some(now);
        if let Some(admin) = by {
            let change = Change::new(ActionKind::DrawingExecuted, TargetKind::Drawing, drawing.id.to_string())
                .from_to(crate::admin::drawing_audit(drawing), crate::admin::drawing_audit(&next));
            ops.extend(admin.entry(change, self.clock.now()).ops()?);
        }
        self.transition(drawing, next, due, ops).await
    }

    /// Notifies each winner not yet notified (in the app, and by email through the outbox, in the
    /// place's own transaction), tells every entrant the results are out, then marks the drawing
    /// done. A crash on the way repeats only what was not done.
    async fn notify_winners(&self, drawing: &DrawingRecord) -> Result<bool, DrawingError> {
        let mut winners = Vec::new();
        self.for_each_in(keys::drawing_partition(&drawing.id), keys::WINNER_PREFIX, |item| {
            winners.push(from_item::<PlaceRecord>(item)?);
            Ok(())
        })
        .await?;
        for winner in &winners {
            self.notify_place(winner).await?;
        }
        self.announce_results(drawing).await?;
        let mut next = drawing.clone();
        next.winners_notified = true;
        self.transition(drawing, next, None, Vec::new()).await
    }

    /// Tells every entrant that the results are out, once each: the notification's key comes
    /// from the drawing, so a run that dies half way and runs again creates none twice.
    async fn announce_results(&self, drawing: &DrawingRecord) -> Result<(), DrawingError> {
        let mut people = Vec::new();
        for shard in 0..keys::SHARDS {
            self.for_each_in(keys::totals_partition(&drawing.id, shard), keys::USER_PREFIX, |item| {
                let entrant = from_item::<EntrantRecord>(item)?;
                // Withdrawn (banned while the drawing was open): not in the draw, not told.
                if !entrant.void {
                    people.push(entrant.user_id);
                }
                Ok(())
            })
            .await?;
        }
        let at =
            DateTime::<Utc>::from_timestamp(drawing.completed_at.unwrap_or_else(|| self.now()), 0).unwrap_or_default();
        let id = drawing.id.to_string();
        let announce = |user: UserId| {
            let note = NewNotification::new(
                user,
                NotificationKind::DrawingResultsPublished,
                format!("Results of \"{}\"", drawing.title),
                "The winners are drawn. See the results, and check the draw yourself from the published files.",
            )
            .link(format!("/drawings/{id}"))
            .data(serde_json::json!({ "drawing_id": id }))
            .once_per(format!("r{id}"));
            async move {
                match self.store.transact(note.ops(at, false)?).await {
                    // Told by an earlier run (the notification's own put failed; a conflict on the
                    // count is an error, and the next run tries again).
                    Ok(()) => Ok(()),
                    Err(StoreError::TransactionCancelled { failed }) if failed == [0] => Ok(()),
                    Err(e) => Err(DrawingError::from(e)),
                }
            }
        };
        futures_util::stream::iter(people.into_iter().map(announce))
            .buffer_unordered(ANNOUNCE_CONCURRENCY)
            .try_collect::<()>()
            .await
    }

    /// Gives back the points of every purchase of a cancelled drawing, each exactly once.
    async fn refund_all(&self, drawing: &DrawingRecord) -> Result<bool, DrawingError> {
        self.shut_gates(&drawing.id).await?;
        let mut purchases = Vec::new();
        for shard in 0..keys::SHARDS {
            self.for_each_in(keys::entries_partition(&drawing.id, shard), keys::USER_PREFIX, |item| {
                let entry: EntryRecord = from_item(item)?;
                if entry.points > 0 && !entry.refunded {
                    purchases.push(entry);
                }
                Ok(())
            })
            .await?;
        }
        for entry in purchases {
            self.refund(&drawing.id, &entry).await?;
        }
        let mut next = drawing.clone();
        next.refunds_done = true;
        self.transition(drawing, next, None, Vec::new()).await
    }

    pub(crate) async fn refund(&self, drawing: &DrawingId, entry: &EntryRecord) -> Result<(), DrawingError> {
        let key = fittrack_platform::ports::Key::new(entry.pk.clone(), entry.sk.clone());
        for attempt in 1..=crate::entries::MAX_ATTEMPTS {
            let read = self.ledger.balance(entry.user_id).await?;
            let amount = i64::try_from(entry.points).unwrap_or(i64::MAX);
            let cause = format!("drawing:{drawing}:refund:{}", entry.name);
            let mut ops = self.ledger.refund_ops(entry.user_id, &read, amount, cause)?;
            let at = ops.len();
            ops.push(WriteOp::Update {
                table: Table::Tickets,
                key: key.clone(),
                update: Update::new().set(EntryRecord::REFUNDED, true).set(EntryRecord::REFUND_SEQ, read.seq + 1),
                condition: Some(Condition::Or(vec![
                    Condition::missing(EntryRecord::REFUNDED),
                    Condition::equals(EntryRecord::REFUNDED, false),
                ])),
            });
            match self.store.transact(ops).await {
                Ok(()) => return Ok(()),
                Err(StoreError::TransactionCancelled { failed }) if failed.contains(&at) => {
                    // Refunded by another run of the cancel: once is what we want.
                    let done = self.store.load_record_at::<EntryRecord>(&key).await?;
                    if done.is_some_and(|d| d.refunded) {
                        return Ok(());
                    }
                    backoff(attempt).await;
                }
                Err(StoreError::TransactionCancelled { .. } | StoreError::Contention) => backoff(attempt).await,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DrawingError::Busy)
    }

    /// Calls `each` with every item of `partition` whose sort key starts with `prefix`.
    pub(crate) async fn for_each_in(
        &self,
        partition: String,
        prefix: &str,
        mut each: impl FnMut(Item) -> Result<(), StoreError>,
    ) -> Result<(), DrawingError> {
        let mut cursor = None;
        loop {
            let query =
                Query::partition(Table::Tickets, partition.clone()).sort_prefix(prefix).limit(500).after(cursor);
            let page = self.store.query(query).await?;
            for item in page.items {
                each(item)?;
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
        }
    }
}
