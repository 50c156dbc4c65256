//! What the API answers and accepts about drawings: the request bodies and the views.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use fittrack_domain::drawing::{DrawingStatus, DrawingType, EntryRules, Ineligibility};
use fittrack_platform::ports::{BeaconCommitment, BeaconReveal};

use crate::records::{EntryMethod, Prize, SnapshotInfo, SponsorStatus};

/// A new sponsor.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SponsorInput {
    pub name: String,
    /// Postal address, printed in the official rules.
    pub address: String,
    pub contact_email: String,
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub logo_url: Option<String>,
    /// `active` by default.
    #[serde(default)]
    pub status: Option<SponsorStatus>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SponsorView {
    pub id: String,
    pub name: String,
    pub address: String,
    pub contact_email: String,
    pub website: Option<String>,
    pub logo_url: Option<String>,
    pub status: SponsorStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The sponsor as entrants see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SponsorSummary {
    pub id: String,
    pub name: String,
    pub website: Option<String>,
    pub logo_url: Option<String>,
}

/// A prize to add to a draft drawing.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrizeInput {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Approximate retail value of one unit, in cents.
    pub arv_cents: u64,
    /// Units (1 to 30; a drawing has at most 30 places in all).
    pub quantity: u32,
    #[serde(default)]
    pub sponsor_id: Option<String>,
    #[serde(default)]
    pub image_url: Option<String>,
}

/// A drawing's settings: the body of create and (whole, for a draft) update.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrawingInput {
    #[serde(rename = "type")]
    pub drawing_type: DrawingType,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub sponsor_id: String,
    /// Points per ticket.
    pub ticket_cost: u64,
    /// When entries open; when the drawing is scheduled if absent.
    #[serde(default)]
    pub opens_at: Option<DateTime<Utc>>,
    /// When entries close; 5 minutes before the drawing if absent.
    #[serde(default)]
    pub closes_at: Option<DateTime<Utc>>,
    pub draw_at: DateTime<Utc>,
    #[serde(default)]
    pub min_account_age_days: u32,
    #[serde(default)]
    pub premium_only: bool,
    /// State codes this drawing excludes.
    #[serde(default)]
    pub excluded_states: Vec<String>,
    /// State codes where the drawing is registered and bonded (the value guard then leaves them open).
    #[serde(default)]
    pub registered_states: Vec<String>,
    pub max_tickets_per_person: u64,
    /// Tickets per free entry (online once a day, or by mail).
    pub free_entry_tickets: u64,
    #[serde(default)]
    pub prizes: Vec<PrizeInput>,
}

/// Tickets so far: live counts while entries are open, the snapshot's after.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct DrawingCounts {
    pub tickets: u64,
    pub entrants: u64,
}

/// Whether the caller may enter, and if not, why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EligibilityView {
    pub eligible: bool,
    pub reasons: Vec<Ineligibility>,
    pub tickets_held: u64,
    /// Tickets the caller may still obtain (the per-person maximum less what they hold).
    pub tickets_left: u64,
    /// Whether today's free entry is still there to take.
    pub free_entry_available: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DrawingLinks {
    pub rules: String,
    pub results: String,
    pub snapshot: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DrawingView {
    pub id: String,
    #[serde(rename = "type")]
    pub drawing_type: DrawingType,
    pub title: String,
    pub description: String,
    pub status: DrawingStatus,
    pub ticket_cost: u64,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: DateTime<Utc>,
    pub draw_at: DateTime<Utc>,
    pub entry_rules: EntryRules,
    /// Every state the drawing is closed to: its own, the operator's and the value guard's
    /// (fixed when it is scheduled).
    #[schema(value_type = Vec<String>)]
    pub excluded_states: Vec<fittrack_domain::UsState>,
    pub max_tickets_per_person: u64,
    pub free_entry_tickets: u64,
    pub prizes: Vec<Prize>,
    pub total_arv_cents: u64,
    pub sponsor: Option<SponsorSummary>,
    pub counts: DrawingCounts,
    /// Published at close.
    pub snapshot: Option<SnapshotInfo>,
    /// The randomness the drawing committed to at close (drand round, or commit-reveal commitment).
    #[schema(value_type = Option<Object>)]
    pub beacon: Option<BeaconCommitment>,
    /// The caller's eligibility (absent for admins' lists).
    pub eligibility: Option<EligibilityView>,
    pub links: DrawingLinks,
}

/// `quantity` tickets.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseRequest {
    pub quantity: u64,
}

/// What an entry gave. A retried purchase (same `Idempotency-Key`) answers the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct EntryReceipt {
    pub drawing_id: String,
    pub method: EntryMethod,
    pub quantity: u64,
    pub points_spent: u64,
    /// Spendable points after the purchase.
    pub balance_after: i64,
    /// The caller's tickets in this drawing after it.
    pub tickets_held: u64,
    pub created_at: DateTime<Utc>,
}

/// A mail-in entry, as the admin reads it off the card.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailInRequest {
    pub user_id: String,
    /// `YYYY-MM-DD`: one mail-in entry per person per postmark day.
    pub postmarked_on: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EntryView {
    pub method: EntryMethod,
    pub quantity: u64,
    pub points: u64,
    pub created_at: DateTime<Utc>,
    /// The points came back (the drawing was cancelled).
    pub refunded: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketRangeView {
    pub first: u64,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyTickets {
    pub drawing_id: String,
    pub status: DrawingStatus,
    pub tickets: u64,
    pub bought: u64,
    pub free: u64,
    pub mail_in: u64,
    pub entries: Vec<EntryView>,
    /// After close: the caller's entrant id in the snapshot and results (only they can tell it is theirs).
    pub entrant_id: Option<String>,
    /// After close: the caller's ticket numbers.
    pub ticket_range: Option<TicketRangeView>,
}

/// The beacon as the results publish it: the commitment made at close and what was revealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PublishedBeacon {
    #[schema(value_type = Object)]
    pub commitment: BeaconCommitment,
    #[schema(value_type = Object)]
    pub reveal: BeaconReveal,
}

/// What a drawing publishes at close, before anyone can know the randomness: record it then, and
/// the results cannot later claim another snapshot, drawing time or round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PublishedCommitment {
    pub drawing_id: String,
    pub draw_at: DateTime<Utc>,
    pub closed_at: DateTime<Utc>,
    /// N: tickets 0..N-1.
    pub tickets: u64,
    pub entrants: u64,
    /// SHA-256 of the snapshot file, hex.
    pub snapshot_hash: String,
    /// The randomness that will decide the drawing: a drand round not yet published, or a
    /// commit-reveal commitment.
    #[schema(value_type = Object)]
    pub beacon: BeaconCommitment,
}
