//! The drawing items in the tickets table, typed. Keys are in [`crate::keys`]; the attribute
//! names conditions and updates use sit beside each record.

use std::fmt;

use serde::{Deserialize, Serialize};

use fittrack_domain::UsState;
use fittrack_domain::UserId;
use fittrack_domain::drawing::{DrawingStatus, DrawingType, EntryRules};
use fittrack_domain::fulfilment::FulfilmentStatus;
use fittrack_platform::ports::{BeaconCommitment, BeaconReveal, BeaconSecret, Key, StoreError, Table, from_item};
use fittrack_platform::records::Record;

use crate::keys;

/// A drawing's id: a UUIDv7 in its simple form (time-ordered, URL-safe).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DrawingId(pub String);

impl DrawingId {
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().simple().to_string())
    }

    /// An id as a client sent it: 32 lowercase hex digits, or nothing.
    pub fn parse(raw: &str) -> Option<Self> {
        let valid = raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| Self(raw.to_owned()))
    }
}

impl fmt::Display for DrawingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SponsorStatus {
    Active,
    Inactive,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SponsorRecord {
    pub pk: String,
    pub sk: String,
    pub gsi1pk: String,
    pub gsi1sk: String,
    pub id: String,
    pub name: String,
    /// The postal address the official rules give for the sponsor.
    pub address: String,
    pub contact_email: String,
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub logo_url: Option<String>,
    pub status: SponsorStatus,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Record for SponsorRecord {
    const TABLE: Table = Table::Tickets;
    fn key(&self) -> Key {
        keys::sponsor_key(&self.id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Prize {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Approximate retail value of one unit, in cents.
    pub arv_cents: u64,
    pub quantity: u32,
    /// The sponsor of this prize when it is not the drawing's.
    #[serde(default)]
    pub sponsor_id: Option<String>,
    #[serde(default)]
    pub image_url: Option<String>,
}

/// What the snapshot fixed at close.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SnapshotInfo {
    /// SHA-256 of the snapshot file, hex.
    pub hash: String,
    /// N: tickets numbered 0..N-1.
    pub tickets: u64,
    pub entrants: u64,
    pub chunks: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawingRecord {
    pub pk: String,
    pub sk: String,
    pub gsi1pk: String,
    pub gsi1sk: String,
    pub id: DrawingId,
    #[serde(rename = "type")]
    pub drawing_type: DrawingType,
    pub title: String,
    pub description: String,
    pub sponsor_id: String,
    pub ticket_cost: u64,
    /// When entries open (epoch seconds); on scheduling when unset.
    #[serde(default)]
    pub opens_at: Option<i64>,
    pub closes_at: i64,
    pub draw_at: i64,
    #[serde(default)]
    pub entry_rules: EntryRules,
    /// States where the drawing is registered and bonded: the value guard leaves them open.
    #[serde(default)]
    pub registered_states: Vec<UsState>,
    pub max_tickets_per_person: u64,
    /// Tickets per free entry (online once a day, or by mail).
    pub free_entry_tickets: u64,
    #[serde(default)]
    pub prizes: Vec<Prize>,
    pub status: DrawingStatus,
    /// Bumped by every change: writers condition on the version they read.
    pub version: u64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Every excluded state, fixed when the drawing is scheduled (the rules print them).
    #[serde(default)]
    pub excluded_states: Vec<UsState>,
    #[serde(default)]
    pub snapshot: Option<SnapshotInfo>,
    #[serde(default)]
    pub beacon: Option<BeaconCommitment>,
    /// Commit-reveal's R until the draw; never served.
    #[serde(default)]
    pub beacon_secret: Option<BeaconSecret>,
    #[serde(default)]
    pub reveal: Option<BeaconReveal>,
    /// The time of the scheduler's `DUE` item for this drawing, if it has one.
    #[serde(default)]
    pub due_at: Option<i64>,
    #[serde(default)]
    pub closed_at: Option<i64>,
    #[serde(default)]
    pub completed_at: Option<i64>,
    #[serde(default)]
    pub cancelled_at: Option<i64>,
    /// A cancelled drawing has given every ticket's points back.
    #[serde(default)]
    pub refunds_done: bool,
    /// A completed drawing has queued every winner's email.
    #[serde(default)]
    pub winners_notified: bool,
}

impl Record for DrawingRecord {
    const TABLE: Table = Table::Tickets;
    fn key(&self) -> Key {
        keys::meta_key(&self.id)
    }
}

impl DrawingRecord {
    pub const STATUS: &'static str = "status";
    pub const VERSION: &'static str = "version";

    /// Places: every prize, each repeated by its quantity, in the order listed.
    pub fn places(&self) -> u32 {
        self.prizes.iter().map(|p| p.quantity).sum()
    }

    pub fn total_arv_cents(&self) -> u64 {
        self.prizes.iter().map(|p| p.arv_cents * u64::from(p.quantity)).sum()
    }

    /// The prize of place `place` (1-based).
    pub fn prize_of_place(&self, place: u32) -> Option<&Prize> {
        let mut left = place;
        for prize in &self.prizes {
            if left <= prize.quantity {
                return Some(prize);
            }
            left -= prize.quantity;
        }
        None
    }
}

/// One shard's gate: entries land only while it is open; it counts the shard's tickets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateRecord {
    #[serde(default)]
    pub open: bool,
    #[serde(default)]
    pub tickets: u64,
    #[serde(default)]
    pub entrants: u64,
}

impl GateRecord {
    pub const OPEN: &'static str = "open";
    pub const TICKETS: &'static str = "tickets";
    pub const ENTRANTS: &'static str = "entrants";
}

/// A person's tickets in one drawing, however they were obtained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntrantRecord {
    pub user_id: UserId,
    /// Their opaque id in this drawing (hex), what the snapshot lists.
    pub entrant: String,
    #[serde(default)]
    pub tickets: u64,
    #[serde(default)]
    pub bought: u64,
    #[serde(default)]
    pub free: u64,
    #[serde(default)]
    pub mail_in: u64,
    /// The competition day of the last free online entry.
    #[serde(default)]
    pub free_day: Option<String>,
    /// Withdrawn because the account was banned while the drawing was open: no tickets, and no
    /// more entries (see `disqualify`).
    #[serde(default)]
    pub void: bool,
}

impl EntrantRecord {
    pub const USER_ID: &'static str = "user_id";
    pub const ENTRANT: &'static str = "entrant";
    pub const TICKETS: &'static str = "tickets";
    pub const BOUGHT: &'static str = "bought";
    pub const FREE: &'static str = "free";
    pub const MAIL_IN: &'static str = "mail_in";
    pub const FREE_DAY: &'static str = "free_day";
    pub const VOID: &'static str = "void";
}

/// How tickets were obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryMethod {
    Purchase,
    FreeEntry,
    MailIn,
}

/// One way tickets were obtained: a purchase (keyed by its idempotency key), a day's free entry,
/// or a mail-in entry (keyed by its postmark day). Written in the transaction that grants them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryRecord {
    pub pk: String,
    pub sk: String,
    pub user_id: UserId,
    /// The entry's name among the person's: `P#<idempotency key>`, `F#<day>` or `M#<postmark day>`;
    /// the ledger causes of its debit and refund end with it.
    pub name: String,
    pub method: EntryMethod,
    pub quantity: u64,
    /// Points debited (0 for free and mail-in entries).
    pub points: u64,
    /// The ledger entry of the debit.
    #[serde(default)]
    pub ledger_seq: Option<u64>,
    /// What the purchase answered, so a retry answers the same.
    pub balance_after: i64,
    pub tickets_after: u64,
    pub created_at: i64,
    /// Points given back (a cancelled drawing), with the refund's ledger entry.
    #[serde(default)]
    pub refunded: bool,
    #[serde(default)]
    pub refund_seq: Option<u64>,
    /// Who recorded a mail-in entry.
    #[serde(default)]
    pub recorded_by: Option<UserId>,
}

impl EntryRecord {
    pub const REFUNDED: &'static str = "refunded";
    pub const REFUND_SEQ: &'static str = "refund_seq";
}

/// A thousand lines of the snapshot file, and (privately) whose each line is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRecord {
    pub pk: String,
    pub sk: String,
    pub index: u64,
    /// The file's lines, as published.
    pub lines: String,
    /// The user of each line, in order: who the winners are; never published.
    pub users: Vec<UserId>,
}

/// A winning place or an alternate, with the person behind it (private: the results publish the
/// entrant id only), and the prize's fulfilment: its status, the claim deadline, the shipping
/// address and taxpayer details (sealed), the shipment, and every change with who made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceRecord {
    pub pk: String,
    pub sk: String,
    pub gsi1pk: String,
    pub gsi1sk: String,
    pub drawing_id: DrawingId,
    pub place: u32,
    pub alternate: bool,
    pub user_id: UserId,
    pub entrant: String,
    pub ticket: u64,
    /// The prize: a winner's from the draw, a promoted alternate's from the place it took over.
    #[serde(default)]
    pub prize_id: Option<String>,
    pub status: FulfilmentStatus,
    /// Bumped by every change: writers condition on the version they read.
    #[serde(default)]
    pub version: u64,
    #[serde(default)]
    pub notified_at: Option<i64>,
    /// The winner must confirm an address by then, or the prize goes to the next alternate.
    #[serde(default)]
    pub claim_deadline: Option<i64>,
    #[serde(default)]
    pub reminded_at: Option<i64>,
    /// The shipping address, sealed with the PII key (JSON inside).
    #[serde(default)]
    pub address_enc: Option<String>,
    /// Legal name and taxpayer id, sealed; only for prizes at or above the reporting threshold.
    #[serde(default)]
    pub tax_enc: Option<String>,
    #[serde(default)]
    pub carrier: Option<String>,
    #[serde(default)]
    pub tracking_number: Option<String>,
    /// The place this alternate took over (`w0001`), or the alternate that took this one over.
    #[serde(default)]
    pub replaces: Option<String>,
    #[serde(default)]
    pub replaced_by: Option<String>,
    /// The time of this place's fulfilment marker (reminder or deadline), if it has one.
    #[serde(default)]
    pub due_at: Option<i64>,
    #[serde(default)]
    pub history: Vec<FulfilmentEvent>,
}

/// One change of a place's fulfilment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FulfilmentEvent {
    pub at: i64,
    /// The admin or winner who made it; none for the scheduler.
    pub by: Option<UserId>,
    pub from: FulfilmentStatus,
    pub to: FulfilmentStatus,
    #[serde(default)]
    pub note: Option<String>,
}

impl PlaceRecord {
    pub const VERSION: &'static str = "version";

    /// The place's public id: the drawing, then `w` and the place for a winner, `a` for an alternate.
    pub fn fulfilment_id(&self) -> String {
        format!("{}.{}", self.drawing_id, self.slot())
    }

    /// `w0001` or `a0001`.
    pub fn slot(&self) -> String {
        format!("{}{:04}", if self.alternate { 'a' } else { 'w' }, self.place)
    }
}

/// The scheduler's marker: the drawing has a step due at `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueRecord {
    pub pk: String,
    pub sk: String,
    pub drawing_id: DrawingId,
    pub at: i64,
}

/// Typed reads of items that may hold only some of a record's fields.
#[async_trait::async_trait]
pub(crate) trait LoadAt {
    async fn load_record_at<T: serde::de::DeserializeOwned + Send>(
        &self,
        key: &fittrack_platform::ports::Key,
    ) -> Result<Option<T>, StoreError>;
}

#[async_trait::async_trait]
impl<S: fittrack_platform::ports::ItemStore + ?Sized> LoadAt for S {
    async fn load_record_at<T: serde::de::DeserializeOwned + Send>(
        &self,
        key: &fittrack_platform::ports::Key,
    ) -> Result<Option<T>, StoreError> {
        self.get(Table::Tickets, key).await?.map(from_item).transpose()
    }
}
