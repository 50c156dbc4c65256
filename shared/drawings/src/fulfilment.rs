//! Prize fulfilment: every winning place from notification to delivery.
//!
//! A place's record is written by the draw (winners `pending`, alternates `standby`). Notifying
//! a winner moves it to `winner_notified` with a claim deadline; the winner confirms a shipping
//! address (and, for prizes at or above the tax-reporting threshold, legal name and taxpayer id),
//! both sealed with the PII key; an admin ships it and marks it delivered, or marks the address
//! invalid for the winner to fix. The scheduler reminds a winner who has not confirmed after 7
//! days and forfeits the place at the deadline, when the next alternate on standby takes the
//! prize over and is notified with the same time to claim it.
//!
//! Every change is one transaction conditioned on the place's version (so a retried or raced
//! change happens once), records who made it in the place's history, and moves the place's
//! status-index item (`FSTATUS#<status>`, what the admin list reads) and its scheduler marker
//! (`FDUE`, what the timeouts read: never a scan).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use fittrack_audit::{ActionKind, Actor, Change, TargetKind};
use fittrack_domain::fulfilment::FulfilmentStatus;
use fittrack_domain::{FieldError, UsState, UserId, ValidationErrors};
use fittrack_notifications::{EmailCategory, NewNotification, NotificationKind};
use fittrack_platform::messages::EmailTemplate;
use fittrack_platform::ports::{Condition, Cursor, Item, Key, Query, StoreError, Table, WriteOp, from_item, to_item};
use serde_json::json;

use crate::records::{DrawingId, DrawingRecord, FulfilmentEvent, LoadAt, PlaceRecord};
use crate::{DrawingError, DrawingService, keys};

/// Days after notification a winner who has not confirmed an address is reminded.
pub const REMINDER_AFTER_DAYS: i64 = 7;
const DAY: i64 = 86_400;

const STATUS_INDEX_PREFIX: &str = "FSTATUS#";
const FULFILMENT_DUE: &str = "FDUE";

fn status_index_key(status: FulfilmentStatus, place: &PlaceRecord) -> Key {
    Key::new(format!("{STATUS_INDEX_PREFIX}{status}"), format!("{}#{}", place.drawing_id, place.slot()))
}

fn due_key(at: i64, place: &PlaceRecord) -> Key {
    Key::new(FULFILMENT_DUE, format!("{:010}#{}#{}", at.max(0), place.drawing_id, place.slot()))
}

/// The key of the place a fulfilment id (`<drawing>.w0001`, `<drawing>.a0001`) names.
fn place_key(id: &str) -> Option<Key> {
    let (drawing, slot) = id.split_once('.')?;
    let drawing = DrawingId::parse(drawing)?;
    let place: u32 = slot.get(1..).filter(|p| p.len() == 4)?.parse().ok()?;
    match slot.as_bytes().first() {
        Some(b'w') => Some(keys::winner_key(&drawing, place)),
        Some(b'a') => Some(keys::alternate_key(&drawing, place)),
        _ => None,
    }
}

/// A shipping address in the United States. Its `Debug` shows nothing of it: it is personal data.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingAddress {
    pub name: String,
    pub line1: String,
    #[serde(default)]
    pub line2: Option<String>,
    pub city: String,
    #[schema(value_type = String, example = "CA")]
    pub state: UsState,
    /// `12345` or `12345-6789`.
    pub postal_code: String,
}

/// What the tax reporting of a prize at or above the threshold needs. Never logged (no `Debug` of it shows it).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxDetails {
    pub legal_name: String,
    /// SSN or ITIN: nine digits, dashes allowed.
    pub taxpayer_id: String,
}

#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmAddress {
    pub address: ShippingAddress,
    /// Required for prizes at or above the tax-reporting threshold.
    #[serde(default)]
    pub tax: Option<TaxDetails>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// `address_invalid`, `delivered` or `forfeited` (shipping has its own route).
    pub status: String,
    pub note: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Shipment {
    pub carrier: String,
    pub tracking_number: String,
}

/// A place's fulfilment as its winner or an admin sees it.
#[derive(Clone, Serialize, ToSchema)]
pub struct FulfilmentView {
    pub id: String,
    pub drawing_id: String,
    pub drawing_title: String,
    pub place: u32,
    pub alternate: bool,
    pub prize_id: Option<String>,
    pub prize_name: Option<String>,
    pub prize_arv_cents: Option<u64>,
    pub status: FulfilmentStatus,
    pub notified_at: Option<DateTime<Utc>>,
    pub claim_deadline: Option<DateTime<Utc>>,
    pub address: Option<ShippingAddress>,
    /// Whether taxpayer details are on file; admins see them masked (initials, last four digits).
    pub tax_details_provided: bool,
    pub taxpayer_id_masked: Option<String>,
    pub legal_name_initials: Option<String>,
    /// Whether this prize needs taxpayer details (its ARV is at or above the threshold).
    pub tax_details_required: bool,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    /// Admins only: the winner's user id and every change with who made it.
    pub user_id: Option<UserId>,
    pub history: Option<Vec<FulfilmentEvent>>,
}

/// Personal data stays out of logs: these show only that they hold something.
macro_rules! redacted_debug {
    ($($name:ident),*) => {$(
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(..)"))
            }
        }
    )*};
}
redacted_debug!(ShippingAddress, TaxDetails, ConfirmAddress, FulfilmentView);

impl DrawingService {
    /// The writes that move `read` (none: create) to `next`: the place under its version, its
    /// status-index item and its scheduler marker.
    pub(crate) fn place_ops(
        &self,
        read: Option<&PlaceRecord>,
        next: &PlaceRecord,
    ) -> Result<Vec<WriteOp>, DrawingError> {
        let table = Table::Tickets;
        let condition = match read {
            Some(read) => Condition::equals(PlaceRecord::VERSION, read.version),
            None => Condition::NotExists,
        };
        let mut ops = vec![WriteOp::Put { table, item: to_item(next)?, condition: Some(condition) }];
        let indexed = |status: FulfilmentStatus| status != FulfilmentStatus::Standby;
        let old_status = read.map(|r| r.status);
        if old_status != Some(next.status) {
            if let Some(old) = old_status.filter(|s| indexed(*s)) {
                ops.push(WriteOp::Delete { table, key: status_index_key(old, next), condition: None });
            }
            if indexed(next.status) {
                let key = status_index_key(next.status, next);
                ops.push(WriteOp::Put { table, item: marker(key, next, None)?, condition: None });
            }
        }
        let old_due = read.and_then(|r| r.due_at);
        if old_due != next.due_at {
            if let Some(at) = old_due {
                ops.push(WriteOp::Delete { table, key: due_key(at, next), condition: None });
            }
            if let Some(at) = next.due_at {
                ops.push(WriteOp::Put { table, item: marker(due_key(at, next), next, Some(at))?, condition: None });
            }
        }
        Ok(ops)
    }

    /// Moves `read` to `next` once: `false` when someone else changed the place first.
    async fn move_place(
        &self,
        read: &PlaceRecord,
        mut next: PlaceRecord,
        by: Option<UserId>,
        admin: Option<&Actor>,
        note: Option<String>,
        mut extra: Vec<WriteOp>,
    ) -> Result<bool, DrawingError> {
        next.version = read.version + 1;
        if next.status != read.status {
            let event = FulfilmentEvent { at: self.now(), by, from: read.status, to: next.status, note: note.clone() };
            next.history.push(event);
        }
        let mut ops = self.place_ops(Some(read), &next)?;
        ops.append(&mut extra);
        if let Some(note) = self.winner_notification(read, &next).await? {
            ops.extend(self.notifications.ops_for(&note).await?);
        }
        if let Some(admin) = admin {
            let action = if next.status == FulfilmentStatus::Shipped {
                ActionKind::FulfilmentShipped
            } else {
                ActionKind::FulfilmentStatusChanged
            };
            let change = Change::new(action, TargetKind::Fulfilment, read.fulfilment_id())
                .about(read.user_id)
                // The carrier but not the tracking number: the log keeps no delivery details.
                .from_to(
                    json!({ "status": read.status, "carrier": read.carrier }),
                    json!({ "status": next.status, "carrier": next.carrier }),
                )
                .because(note);
            ops.extend(admin.entry(change, self.clock.now()).ops()?);
        }
        match self.store.transact(ops).await {
            Ok(()) => Ok(true),
            Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => Ok(false),
            Err(StoreError::Contention) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn place(&self, key: &Key) -> Result<Option<PlaceRecord>, DrawingError> {
        Ok(self.store.load_record_at::<PlaceRecord>(key).await?)
    }

    /// What the winner of a place is told when it moves from `read` to `next` (in the move's own
    /// transaction): selected (as a winner or as an alternate taking a prize over, emailed as
    /// essential), shipped and delivered (emailed by preference), address refused, forfeited.
    async fn winner_notification(
        &self,
        read: &PlaceRecord,
        next: &PlaceRecord,
    ) -> Result<Option<NewNotification>, DrawingError> {
        if read.status == next.status {
            return Ok(None);
        }
        let drawing = self.drawing(&next.drawing_id).await?;
        let prize = next
            .prize_id
            .as_deref()
            .and_then(|id| drawing.prizes.iter().find(|p| p.id == id))
            .map_or_else(|| "a prize".to_owned(), |p| p.name.clone());
        let id = next.fulfilment_id();
        let link = format!("/fulfillments/{id}");
        let data = json!({ "fulfilment_id": id, "drawing_id": next.drawing_id.to_string(), "status": next.status });
        let note = |kind, title: String, body: String| {
            NewNotification::new(next.user_id, kind, title, body).link(link.clone()).data(data.clone())
        };
        let claim = |deadline: Option<i64>| {
            deadline
                .and_then(|d| DateTime::<Utc>::from_timestamp(d, 0))
                .map_or_else(String::new, |d| format!(" Confirm your shipping address by {}.", d.format("%B %-d, %Y")))
        };
        Ok(Some(match next.status {
            FulfilmentStatus::WinnerNotified if next.replaces.is_some() => note(
                NotificationKind::AlternateSelected,
                format!("{prize} is yours"),
                format!(
                    "A winner of \"{}\" did not claim {prize}, and you were the next alternate.{}",
                    drawing.title,
                    claim(next.claim_deadline)
                ),
            )
            .email(EmailTemplate::AlternateSelected, EmailCategory::Essential),
            FulfilmentStatus::WinnerNotified => note(
                NotificationKind::WinnerSelected,
                format!("You won {prize}"),
                format!("One of your tickets won {prize} in \"{}\".{}", drawing.title, claim(next.claim_deadline)),
            )
            .email(EmailTemplate::DrawingWinner, EmailCategory::Essential),
            FulfilmentStatus::Shipped => note(
                NotificationKind::FulfilmentStatusChanged,
                format!("{prize} has shipped"),
                format!(
                    "Carrier: {}. Tracking number: {}.",
                    next.carrier.as_deref().unwrap_or_default(),
                    next.tracking_number.as_deref().unwrap_or_default()
                ),
            )
            .email(EmailTemplate::PrizeShipped, EmailCategory::PrizeUpdates),
            FulfilmentStatus::Delivered => note(
                NotificationKind::FulfilmentStatusChanged,
                format!("{prize} was delivered"),
                format!("{prize} from \"{}\" was marked delivered.", drawing.title),
            )
            .email(EmailTemplate::PrizeDelivered, EmailCategory::PrizeUpdates),
            FulfilmentStatus::AddressInvalid => note(
                NotificationKind::FulfilmentStatusChanged,
                format!("We could not ship {prize}"),
                format!(
                    "The shipping address for {prize} did not work. Please confirm a new one.{}",
                    claim(next.claim_deadline)
                ),
            )
            // The winner has to act before the deadline: a claim email, always sent.
            .email(EmailTemplate::PrizeAddressInvalid, EmailCategory::Essential),
            FulfilmentStatus::Forfeited => note(
                NotificationKind::FulfilmentStatusChanged,
                format!("{prize} was forfeited"),
                format!("{prize} from \"{}\" was forfeited and goes to the next alternate.", drawing.title),
            ),
            _ => return Ok(None),
        }))
    }

    /// Starts the claim period of a `pending` place (a winner from the draw, or an alternate that
    /// took a prize over). The winner is notified, and emailed through the outbox, in the same
    /// transaction, so overlapping scheduler runs notify once. A banned winner is disqualified
    /// instead: the place is forfeited to the next alternate.
    pub(crate) async fn notify_place(&self, place: &PlaceRecord) -> Result<(), DrawingError> {
        if place.status != FulfilmentStatus::Pending {
            return Ok(());
        }
        // A banned winner (or alternate) is disqualified: the prize goes to the next alternate.
        if self.account(place.user_id).await?.is_some_and(|a| a.status == fittrack_domain::AccountStatus::Banned) {
            Box::pin(self.forfeit(place, None, Some("disqualified: the account is closed".into()))).await?;
            return Ok(());
        }
        let now = self.now();
        let mut next = place.clone();
        next.status = FulfilmentStatus::WinnerNotified;
        next.notified_at = Some(now);
        next.claim_deadline = Some(now + i64::from(self.settings.claim_days) * DAY);
        next.due_at = Some(now + REMINDER_AFTER_DAYS * DAY);
        if !self.move_place(place, next, None, None, None, Vec::new()).await? {
            // Someone else moved it: fine if they notified it, not if it is still pending.
            let key = Key::new(place.pk.clone(), place.sk.clone());
            return match self.place(&key).await? {
                Some(now) if now.status == FulfilmentStatus::Pending => Err(DrawingError::Busy),
                _ => Ok(()),
            };
        }
        Ok(())
    }

    /// The caller's won prizes (promoted alternates included), newest first.
    ///
    /// # Errors
    /// [`DrawingError::Store`].
    pub async fn my_fulfilments(&self, user: UserId) -> Result<Vec<FulfilmentView>, DrawingError> {
        let query = Query::partition(Table::Tickets, format!("WINS#{user}"))
            .on_index(fittrack_platform::ports::Index::Gsi1)
            .descending()
            .limit(100);
        let page = self.store.query(query).await?;
        let places = page.items.into_iter().map(from_item).collect::<Result<Vec<PlaceRecord>, _>>()?;
        self.fulfilment_views(&places, false).await
    }

    /// The winner confirms where the prize goes (and, above the threshold, the tax details).
    ///
    /// # Errors
    /// [`DrawingError::NotFound`] for a place that is not the caller's; [`DrawingError::Invalid`]
    /// for a bad address or missing tax details; [`DrawingError::FulfilmentTransition`] when the
    /// place is not waiting for an address; [`DrawingError::Busy`].
    pub async fn confirm_address(
        &self,
        user: UserId,
        id: &str,
        input: ConfirmAddress,
    ) -> Result<FulfilmentView, DrawingError> {
        let key = place_key(id).ok_or(DrawingError::NotFound)?;
        let read = self.place(&key).await?.filter(|p| p.user_id == user).ok_or(DrawingError::NotFound)?;
        if !read.status.can_become(FulfilmentStatus::AddressConfirmed) {
            return Err(DrawingError::FulfilmentTransition {
                from: read.status,
                to: FulfilmentStatus::AddressConfirmed,
            });
        }
        let drawing = self.drawing(&read.drawing_id).await?;
        let required = self.tax_required(&drawing, &read);
        validate_address(&input.address, input.tax.as_ref(), required)?;
        let id = read.fulfilment_id();
        let mut next = read.clone();
        next.status = FulfilmentStatus::AddressConfirmed;
        let address = serde_json::to_string(&input.address).map_err(|e| DrawingError::Corrupt(e.to_string()))?;
        next.address_enc = Some(self.pii.encrypt(&address, &format!("fulfilment:{id}:address")));
        if let Some(tax) = &input.tax {
            let tax = serde_json::to_string(tax).map_err(|e| DrawingError::Corrupt(e.to_string()))?;
            next.tax_enc = Some(self.pii.encrypt(&tax, &format!("fulfilment:{id}:tax")));
        }
        next.due_at = None;
        if !self.move_place(&read, next, Some(user), None, None, Vec::new()).await? {
            return Err(DrawingError::Busy);
        }
        let place = self.place(&key).await?.ok_or(DrawingError::NotFound)?;
        self.fulfilment_view(&place, false).await
    }

    /// Admin: places by status (`address_confirmed` by default) or of one drawing.
    ///
    /// # Errors
    /// [`DrawingError::Store`] (an invalid cursor among them).
    pub async fn admin_fulfilments(
        &self,
        status: Option<FulfilmentStatus>,
        drawing: Option<&DrawingId>,
        limit: u32,
        cursor: Option<Cursor>,
    ) -> Result<(Vec<FulfilmentView>, Option<Cursor>), DrawingError> {
        let mut places = Vec::new();
        let next = match drawing {
            Some(drawing) => {
                let query = Query::partition(Table::Tickets, keys::drawing_partition(drawing)).limit(200);
                let page = self.store.query(query).await?;
                for item in page.items {
                    let sk = item.get("sk").and_then(|v| v.as_str()).unwrap_or_default();
                    if !(sk.starts_with(keys::WINNER_PREFIX) || sk.starts_with(keys::ALTERNATE_PREFIX)) {
                        continue;
                    }
                    let place: PlaceRecord = from_item(item)?;
                    if status.is_none_or(|s| s == place.status) {
                        places.push(place);
                    }
                }
                None
            }
            None => {
                let status = status.unwrap_or(FulfilmentStatus::AddressConfirmed);
                let query = Query::partition(Table::Tickets, format!("{STATUS_INDEX_PREFIX}{status}"))
                    .limit(limit)
                    .after(cursor);
                let page = self.store.query(query).await?;
                for item in page.items {
                    let key = item
                        .get("place_pk")
                        .zip(item.get("place_sk"))
                        .and_then(|(pk, sk)| Some(Key::new(pk.as_str()?, sk.as_str()?)));
                    if let Some(place) = match key {
                        Some(key) => self.place(&key).await?,
                        None => None,
                    } {
                        places.push(place);
                    }
                }
                page.next
            }
        };
        Ok((self.fulfilment_views(&places, true).await?, next))
    }

    /// Admin: marks an address invalid, a prize delivered, or a place forfeited, with a note.
    ///
    /// # Errors
    /// [`DrawingError::NotFound`]; [`DrawingError::Invalid`] for another status or an empty note;
    /// [`DrawingError::FulfilmentTransition`] for an illegal change; [`DrawingError::Busy`].
    pub async fn set_fulfilment_status(
        &self,
        admin: &Actor,
        id: &str,
        change: StatusChange,
    ) -> Result<FulfilmentView, DrawingError> {
        let status: FulfilmentStatus = change.status.parse().map_err(ValidationErrors::single)?;
        if !matches!(
            status,
            FulfilmentStatus::AddressInvalid | FulfilmentStatus::Delivered | FulfilmentStatus::Forfeited
        ) {
            return Err(ValidationErrors::single(FieldError::new(
                "status",
                "invalid_status",
                "an admin sets address_invalid, delivered or forfeited (ship with /ship)",
            ))
            .into());
        }
        let note = change.note.trim();
        if note.is_empty() || note.chars().count() > 1000 {
            return Err(
                ValidationErrors::single(FieldError::new("note", "invalid_length", "1 to 1000 characters")).into()
            );
        }
        let key = place_key(id).ok_or(DrawingError::NotFound)?;
        for _ in 0..5 {
            let read = self.place(&key).await?.ok_or(DrawingError::NotFound)?;
            if !read.status.can_become(status) {
                return Err(DrawingError::FulfilmentTransition { from: read.status, to: status });
            }
            let mut next = read.clone();
            next.status = status;
            next.due_at = match status {
                // The winner has the rest of the claim period to give a good address.
                FulfilmentStatus::AddressInvalid => read.claim_deadline.map(|d| d.max(self.now() + 7 * DAY)),
                _ => None,
            };
            if status == FulfilmentStatus::AddressInvalid {
                next.claim_deadline = next.due_at;
            }
            if status == FulfilmentStatus::Forfeited {
                return self.forfeit(&read, Some(admin), Some(note.to_owned())).await;
            }
            if self
                .move_place(&read, next, Some(admin.admin_id), Some(admin), Some(note.to_owned()), Vec::new())
                .await?
            {
                let place = self.place(&key).await?.ok_or(DrawingError::NotFound)?;
                return self.fulfilment_view(&place, true).await;
            }
        }
        Err(DrawingError::Busy)
    }

    /// Admin: the prize is on its way.
    ///
    /// # Errors
    /// As [`Self::set_fulfilment_status`].
    pub async fn ship(&self, admin: &Actor, id: &str, shipment: Shipment) -> Result<FulfilmentView, DrawingError> {
        let mut errors = ValidationErrors::default();
        for (field, value) in [("carrier", &shipment.carrier), ("tracking_number", &shipment.tracking_number)] {
            if value.trim().is_empty() || value.chars().count() > 100 {
                errors.0.push(FieldError::new(field, "invalid_length", "1 to 100 characters"));
            }
        }
        errors.into_result()?;
        let key = place_key(id).ok_or(DrawingError::NotFound)?;
        for _ in 0..5 {
            let read = self.place(&key).await?.ok_or(DrawingError::NotFound)?;
            if self.account(read.user_id).await?.is_some_and(|a| a.status == fittrack_domain::AccountStatus::Banned) {
                let banned = fittrack_domain::drawing::Ineligibility {
                    code: "account_restricted",
                    message: "the winner's account is closed".into(),
                };
                return Err(DrawingError::NotEligible(vec![banned]));
            }
            if !read.status.can_become(FulfilmentStatus::Shipped) {
                return Err(DrawingError::FulfilmentTransition { from: read.status, to: FulfilmentStatus::Shipped });
            }
            let mut next = read.clone();
            next.status = FulfilmentStatus::Shipped;
            next.carrier = Some(shipment.carrier.trim().to_owned());
            next.tracking_number = Some(shipment.tracking_number.trim().to_owned());
            let note = format!("{} {}", shipment.carrier.trim(), shipment.tracking_number.trim());
            if self.move_place(&read, next, Some(admin.admin_id), Some(admin), Some(note), Vec::new()).await? {
                let place = self.place(&key).await?.ok_or(DrawingError::NotFound)?;
                return self.fulfilment_view(&place, true).await;
            }
        }
        Err(DrawingError::Busy)
    }

    /// The scheduler's fulfilment steps: reminders, forfeits (with the next alternate taking
    /// over), and notifying promoted alternates. Returns the steps taken.
    ///
    /// # Errors
    /// [`DrawingError::Store`] when the markers cannot be read; a failing place is logged and
    /// retried next run.
    pub async fn run_fulfilment_due(&self) -> Result<usize, DrawingError> {
        let now = self.now();
        let query = Query::partition(Table::Tickets, FULFILMENT_DUE).sort_below(format!("{:010}", now + 1)).limit(100);
        let page = self.store.query(query).await?;
        let mut steps = 0;
        for item in page.items {
            let marker = key_of_item(&item);
            let Some(key) = item
                .get("place_pk")
                .zip(item.get("place_sk"))
                .and_then(|(pk, sk)| Some(Key::new(pk.as_str()?, sk.as_str()?)))
            else {
                continue;
            };
            let at = item.get("at").and_then(serde_json::Value::as_i64);
            match self.fulfilment_step(&key, now, at).await {
                Ok(true) => steps += 1,
                Ok(false) => {}
                Err(DrawingError::NotFound) => {
                    // A marker whose place is gone: nothing will ever clear it but this.
                    if let Some(marker) = marker {
                        self.store.delete(Table::Tickets, &marker, None).await?;
                    }
                }
                Err(error) => {
                    tracing::error!(place = key.sk.as_str(), %error, "fulfilment step failed; retried next run")
                }
            }
        }
        Ok(steps)
    }

    async fn fulfilment_step(&self, key: &Key, now: i64, marker_at: Option<i64>) -> Result<bool, DrawingError> {
        let Some(place) = self.place(key).await? else { return Err(DrawingError::NotFound) };
        if marker_at.is_some() && marker_at != place.due_at {
            // A marker the place no longer points at (left by a change that raced): drop it.
            if let Some(at) = marker_at {
                self.store.delete(Table::Tickets, &due_key(at, &place), None).await?;
            }
            return Ok(false);
        }
        if place.status == FulfilmentStatus::Pending {
            self.notify_place(&place).await?;
            return Ok(true);
        }
        let deadline = place.claim_deadline.unwrap_or(i64::MAX);
        // A prize that was shipped (and came back) is an admin's to decide, never a timeout's.
        let shipped = place.carrier.is_some();
        if place.status.awaits_winner() && now >= deadline && !shipped {
            self.forfeit(&place, None, Some("not claimed in time".into())).await?;
            return Ok(true);
        }
        if place.status == FulfilmentStatus::WinnerNotified && place.reminded_at.is_none() {
            let mut next = place.clone();
            next.reminded_at = Some(now);
            next.due_at = Some(deadline);
            let reminder = NewNotification::new(
                place.user_id,
                NotificationKind::AddressReminder,
                "Your prize is waiting",
                "You won a prize a week ago and we still need your shipping address. Unclaimed prizes go to the next alternate.",
            )
            .link(format!("/fulfillments/{}", place.fulfilment_id()))
            .data(json!({ "fulfilment_id": place.fulfilment_id(), "drawing_id": place.drawing_id.to_string() }))
            .email(EmailTemplate::PrizeClaimReminder, EmailCategory::Essential);
            let reminder = self.notifications.ops_for(&reminder).await?;
            return self.move_place(&place, next, None, None, None, reminder).await;
        }
        // Nothing due any more (the winner acted, or a shipped prize waits for an admin): drop
        // the marker, or keep it at the deadline while the winner may still act.
        let mut next = place.clone();
        next.due_at = (place.status.awaits_winner() && !shipped && now < deadline).then_some(deadline);
        if next.due_at == place.due_at {
            return Ok(false);
        }
        self.move_place(&place, next, None, None, None, Vec::new()).await
    }

    /// Forfeits `read` and, in the same transaction, gives its prize to the first alternate on
    /// standby (who is then notified). Exactly once: both writes are conditioned on the versions
    /// read; a run that loses a race reads both again and decides again.
    pub(crate) async fn forfeit(
        &self,
        read: &PlaceRecord,
        by: Option<&Actor>,
        note: Option<String>,
    ) -> Result<FulfilmentView, DrawingError> {
        let key = Key::new(read.pk.clone(), read.sk.clone());
        let mut read = read.clone();
        for _ in 0..5 {
            if !read.status.can_become(FulfilmentStatus::Forfeited) {
                return Err(DrawingError::FulfilmentTransition { from: read.status, to: FulfilmentStatus::Forfeited });
            }
            let mut alternates = Vec::new();
            self.for_each_in(keys::drawing_partition(&read.drawing_id), keys::ALTERNATE_PREFIX, |item| {
                alternates.push(from_item::<PlaceRecord>(item)?);
                Ok(())
            })
            .await?;
            alternates.sort_by_key(|a| a.place);
            let mut next = read.clone();
            next.status = FulfilmentStatus::Forfeited;
            next.due_at = None;
            let mut extra = Vec::new();
            let mut promoted_key = None;
            if let Some(alternate) = alternates.iter().find(|a| a.status == FulfilmentStatus::Standby) {
                next.replaced_by = Some(alternate.slot());
                let mut promoted = alternate.clone();
                promoted.status = FulfilmentStatus::Pending;
                promoted.prize_id = read.prize_id.clone();
                promoted.replaces = Some(read.slot());
                promoted.gsi1pk = format!("WINS#{}", promoted.user_id);
                promoted.due_at = Some(self.now());
                promoted.version = alternate.version + 1;
                promoted.history.push(FulfilmentEvent {
                    at: self.now(),
                    by: by.map(|a| a.admin_id),
                    from: FulfilmentStatus::Standby,
                    to: FulfilmentStatus::Pending,
                    note: Some(format!("takes over {}", read.slot())),
                });
                extra = self.place_ops(Some(alternate), &promoted)?;
                promoted_key = Some(Key::new(alternate.pk.clone(), alternate.sk.clone()));
            }
            let moved = match self.move_place(&read, next, by.map(|a| a.admin_id), by, note.clone(), extra).await {
                Ok(moved) => moved,
                // The alternate changed since it was read (another forfeit took it): again.
                Err(DrawingError::Store(StoreError::TransactionCancelled { .. })) => false,
                Err(e) => return Err(e),
            };
            if moved {
                // Notify the alternate now; the scheduler does it (its marker is due) if this fails.
                if let Some(key) = promoted_key
                    && let Ok(Some(promoted)) = self.place(&key).await
                    && let Err(error) = self.notify_place(&promoted).await
                {
                    tracing::warn!(%error, "alternate notification deferred to the scheduler");
                }
                let forfeited = self.place(&key).await?.ok_or(DrawingError::NotFound)?;
                return self.fulfilment_view(&forfeited, true).await;
            }
            read = self.place(&key).await?.ok_or(DrawingError::NotFound)?;
        }
        Err(DrawingError::Busy)
    }

    fn tax_required(&self, drawing: &DrawingRecord, place: &PlaceRecord) -> bool {
        let prize = place.prize_id.as_deref().and_then(|id| drawing.prizes.iter().find(|p| p.id == id));
        prize.is_some_and(|p| p.arv_cents >= self.settings.tax_threshold_cents)
    }

    async fn fulfilment_view(&self, place: &PlaceRecord, admin: bool) -> Result<FulfilmentView, DrawingError> {
        let drawing = self.drawing(&place.drawing_id).await?;
        self.view_of(place, &drawing, admin)
    }

    /// The views of `places`, reading each of their drawings once.
    async fn fulfilment_views(&self, places: &[PlaceRecord], admin: bool) -> Result<Vec<FulfilmentView>, DrawingError> {
        let mut drawings: std::collections::HashMap<DrawingId, DrawingRecord> = std::collections::HashMap::new();
        let mut views = Vec::with_capacity(places.len());
        for place in places {
            if !drawings.contains_key(&place.drawing_id) {
                drawings.insert(place.drawing_id.clone(), self.drawing(&place.drawing_id).await?);
            }
            let drawing = drawings.get(&place.drawing_id).ok_or(DrawingError::NotFound)?;
            views.push(self.view_of(place, drawing, admin)?);
        }
        Ok(views)
    }

    fn view_of(
        &self,
        place: &PlaceRecord,
        drawing: &DrawingRecord,
        admin: bool,
    ) -> Result<FulfilmentView, DrawingError> {
        let prize = place.prize_id.as_deref().and_then(|id| drawing.prizes.iter().find(|p| p.id == id));
        let id = place.fulfilment_id();
        let at = |t: i64| DateTime::<Utc>::from_timestamp(t, 0).unwrap_or_default();
        let unreadable = |what: &str| {
            tracing::error!(fulfilment = %id, what, "sealed fulfilment details do not open");
            DrawingError::Corrupt(format!("the {what} of prize {id} does not decrypt"))
        };
        let address = match &place.address_enc {
            Some(sealed) => {
                let plain =
                    self.pii.decrypt(sealed, &format!("fulfilment:{id}:address")).map_err(|_| unreadable("address"))?;
                Some(serde_json::from_str::<ShippingAddress>(&plain).map_err(|_| unreadable("address"))?)
            }
            None => None,
        };
        let tax = match (&place.tax_enc, admin) {
            (Some(sealed), true) => {
                let plain =
                    self.pii.decrypt(sealed, &format!("fulfilment:{id}:tax")).map_err(|_| unreadable("tax details"))?;
                Some(serde_json::from_str::<TaxDetails>(&plain).map_err(|_| unreadable("tax details"))?)
            }
            _ => None,
        };
        Ok(FulfilmentView {
            id,
            drawing_id: place.drawing_id.to_string(),
            drawing_title: drawing.title.clone(),
            place: place.place,
            alternate: place.alternate,
            prize_id: place.prize_id.clone(),
            prize_name: prize.map(|p| p.name.clone()),
            prize_arv_cents: prize.map(|p| p.arv_cents),
            status: place.status,
            notified_at: place.notified_at.map(at),
            claim_deadline: place.claim_deadline.map(at),
            address,
            tax_details_provided: place.tax_enc.is_some(),
            taxpayer_id_masked: tax.as_ref().map(|t| mask(&t.taxpayer_id)),
            legal_name_initials: tax.map(|t| mask_name(&t.legal_name)),
            tax_details_required: self.tax_required(drawing, place),
            carrier: place.carrier.clone(),
            tracking_number: place.tracking_number.clone(),
            user_id: admin.then_some(place.user_id),
            history: admin.then(|| place.history.clone()),
        })
    }
}

fn key_of_item(item: &Item) -> Option<Key> {
    Some(Key::new(item.get("pk")?.as_str()?, item.get("sk")?.as_str()?))
}

/// An index or marker item pointing at `place`.
fn marker(key: Key, place: &PlaceRecord, at: Option<i64>) -> Result<Item, DrawingError> {
    let mut item = Item::new();
    item.insert("pk".into(), key.pk.into());
    item.insert("sk".into(), key.sk.into());
    item.insert("place_pk".into(), place.pk.clone().into());
    item.insert("place_sk".into(), place.sk.clone().into());
    if let Some(at) = at {
        item.insert("at".into(), at.into());
    }
    Ok(item)
}

/// `A. Q. E…`: initials, enough to match a form, not the name.
fn mask_name(name: &str) -> String {
    let initials: Vec<String> =
        name.split_whitespace().filter_map(|w| w.chars().next()).map(|c| format!("{c}.")).collect();
    initials.join(" ")
}

/// `***-**-1234`: enough for an admin to match a form, never the number.
fn mask(taxpayer_id: &str) -> String {
    let digits: String = taxpayer_id.chars().filter(char::is_ascii_digit).collect();
    format!("***-**-{}", digits.get(digits.len().saturating_sub(4)..).unwrap_or(""))
}

fn validate_address(
    address: &ShippingAddress,
    tax: Option<&TaxDetails>,
    tax_required: bool,
) -> Result<(), DrawingError> {
    let mut errors = ValidationErrors::default();
    let text = |field: &str, value: &str, max: usize, errors: &mut ValidationErrors| {
        if value.trim().is_empty() || value.chars().count() > max {
            errors.0.push(FieldError::new(field, "invalid_length", format!("1 to {max} characters")));
        }
    };
    text("address.name", &address.name, 100, &mut errors);
    text("address.line1", &address.line1, 200, &mut errors);
    if let Some(line2) = &address.line2
        && line2.chars().count() > 200
    {
        errors.0.push(FieldError::new("address.line2", "invalid_length", "at most 200 characters"));
    }
    text("address.city", &address.city, 100, &mut errors);
    let zip = address.postal_code.as_bytes();
    let zip_ok = (zip.len() == 5 && zip.iter().all(u8::is_ascii_digit))
        || (zip.len() == 10 && zip[5] == b'-' && zip.iter().enumerate().all(|(i, b)| i == 5 || b.is_ascii_digit()));
    if !zip_ok {
        errors.0.push(FieldError::new("address.postal_code", "invalid_postal_code", "12345 or 12345-6789"));
    }
    match (tax, tax_required) {
        (None, true) => errors.0.push(FieldError::new(
            "tax",
            "tax_details_required",
            "this prize is reported on Form 1099-MISC: give your legal name and taxpayer id",
        )),
        (Some(tax), _) => {
            text("tax.legal_name", &tax.legal_name, 200, &mut errors);
            let digits: Vec<char> = tax.taxpayer_id.chars().filter(|c| *c != '-').collect();
            if digits.len() != 9 || !digits.iter().all(char::is_ascii_digit) {
                errors.0.push(FieldError::new("tax.taxpayer_id", "invalid_taxpayer_id", "nine digits"));
            }
        }
        (None, false) => {}
    }
    Ok(errors.into_result()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_places() {
        let drawing = "0".repeat(32);
        assert_eq!(place_key(&format!("{drawing}.w0002")).unwrap().sk, "WINNER#0002");
        assert_eq!(place_key(&format!("{drawing}.a0001")).unwrap().sk, "ALTERNATE#0001");
        for bad in ["x.w0001", &format!("{drawing}.x0001"), &format!("{drawing}.w1"), &format!("{drawing}w0001")] {
            assert!(place_key(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn taxpayer_ids_are_masked() {
        assert_eq!(mask("123-45-6789"), "***-**-6789");
        assert_eq!(mask("12"), "***-**-12");
    }
}
