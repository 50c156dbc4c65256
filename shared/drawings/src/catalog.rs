//! Reading drawings: one, a list by status, the official rules, and the views the API answers.

use chrono::{DateTime, Utc};

use fittrack_domain::UserId;
use fittrack_domain::drawing::{DrawingStatus, DrawingType};
use fittrack_platform::ports::{Cursor, Index, Query, Table, from_item};
use fittrack_platform::records::RecordStore;

use crate::entries::Caller;
use crate::records::{DrawingId, DrawingRecord, GateRecord, LoadAt};
use crate::views::{DrawingCounts, DrawingLinks, DrawingView, PublishedCommitment, SponsorSummary};
use crate::{DrawingError, DrawingService, keys};

/// The official rules in both forms.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct StoredRules {
    pub html: String,
    pub text: String,
}

impl DrawingService {
    /// The drawing, whatever its status.
    ///
    /// # Errors
    /// [`DrawingError::NotFound`]; [`DrawingError::Store`].
    pub async fn drawing(&self, id: &DrawingId) -> Result<DrawingRecord, DrawingError> {
        self.store.load_record::<DrawingRecord>(&keys::meta_key(id)).await?.ok_or(DrawingError::NotFound)
    }

    /// The drawing as someone may see it: drafts only for admins.
    ///
    /// # Errors
    /// [`DrawingError::NotFound`] (a draft, for a non-admin); [`DrawingError::Store`].
    pub async fn visible_drawing(&self, id: &DrawingId, admin: bool) -> Result<DrawingRecord, DrawingError> {
        let record = self.drawing(id).await?;
        if record.status == DrawingStatus::Draft && !admin {
            return Err(DrawingError::NotFound);
        }
        Ok(record)
    }

    /// Drawings of one status, soonest drawing first, optionally of one type: pages of the status
    /// index are read until `limit` drawings of the type are found (or ten pages were read, when
    /// the page may come back short with a cursor).
    ///
    /// # Errors
    /// [`DrawingError::Store`] (an invalid cursor among them).
    pub async fn list(
        &self,
        status: DrawingStatus,
        drawing_type: Option<DrawingType>,
        limit: u32,
        mut cursor: Option<Cursor>,
    ) -> Result<(Vec<DrawingRecord>, Option<Cursor>), DrawingError> {
        let mut drawings = Vec::new();
        for _ in 0..10 {
            let wanted = limit.saturating_sub(u32::try_from(drawings.len()).unwrap_or(u32::MAX));
            let query = Query::partition(Table::Tickets, keys::status_index(status))
                .on_index(Index::Gsi1)
                .limit(wanted)
                .after(cursor.take());
            let page = self.store.query(query).await?;
            for item in page.items {
                let drawing: DrawingRecord = from_item(item)?;
                if drawing_type.is_none_or(|t| drawing.drawing_type == t) {
                    drawings.push(drawing);
                }
            }
            cursor = page.next;
            if cursor.is_none() || drawings.len() >= limit as usize {
                break;
            }
        }
        Ok((drawings, cursor))
    }

    /// What the drawing committed to at close: the snapshot's hash and size, and the beacon.
    ///
    /// # Errors
    /// [`DrawingError::NoSnapshot`] before close (and for a drawing cancelled before it);
    /// [`DrawingError::NotFound`]; [`DrawingError::Store`].
    pub async fn commitment(&self, id: &DrawingId) -> Result<PublishedCommitment, DrawingError> {
        let drawing = self.visible_drawing(id, false).await?;
        let (Some(snapshot), Some(beacon), Some(closed_at)) = (drawing.snapshot, drawing.beacon, drawing.closed_at)
        else {
            return Err(DrawingError::NoSnapshot);
        };
        let at = |t: i64| DateTime::<Utc>::from_timestamp(t, 0).unwrap_or_default();
        Ok(PublishedCommitment {
            drawing_id: drawing.id.to_string(),
            draw_at: at(drawing.draw_at),
            closed_at: at(closed_at),
            tickets: snapshot.tickets,
            entrants: snapshot.entrants,
            snapshot_hash: snapshot.hash,
            beacon,
        })
    }

    /// The official rules fixed when the drawing was scheduled.
    ///
    /// # Errors
    /// [`DrawingError::NotFound`] for a draft or unknown drawing; [`DrawingError::Store`].
    pub async fn rules(&self, id: &DrawingId) -> Result<StoredRules, DrawingError> {
        self.visible_drawing(id, false).await?;
        self.store.load_record_at::<StoredRules>(&keys::rules_key(id)).await?.ok_or(DrawingError::NotFound)
    }

    /// What the API shows of `drawing`; with the caller's eligibility when `caller` is given.
    ///
    /// # Errors
    /// [`DrawingError::Store`].
    pub async fn view(
        &self,
        drawing: DrawingRecord,
        caller: Option<(UserId, &Caller)>,
    ) -> Result<DrawingView, DrawingError> {
        let sponsor = self.sponsor(&drawing.sponsor_id).await?.map(|s| SponsorSummary {
            id: s.id,
            name: s.name,
            website: s.website,
            logo_url: s.logo_url,
        });
        let counts = match &drawing.snapshot {
            Some(snapshot) => DrawingCounts { tickets: snapshot.tickets, entrants: snapshot.entrants },
            None if drawing.status == DrawingStatus::Open => self.live_counts(&drawing.id).await?,
            None => DrawingCounts::default(),
        };
        let eligibility = match caller {
            Some((user, caller)) => Some(self.eligibility(user, caller, &drawing).await?),
            None => None,
        };
        let at = |t: i64| DateTime::<Utc>::from_timestamp(t, 0).unwrap_or_default();
        let base = format!("{}/api/v1/drawings/{}", self.settings.api_url, drawing.id);
        let excluded_states = if drawing.excluded_states.is_empty() {
            self.exclusions(&drawing)
        } else {
            drawing.excluded_states.clone()
        };
        Ok(DrawingView {
            id: drawing.id.to_string(),
            drawing_type: drawing.drawing_type,
            title: drawing.title.clone(),
            description: drawing.description.clone(),
            status: drawing.status,
            ticket_cost: drawing.ticket_cost,
            opens_at: drawing.opens_at.map(at),
            closes_at: at(drawing.closes_at),
            draw_at: at(drawing.draw_at),
            entry_rules: drawing.entry_rules.clone(),
            excluded_states,
            max_tickets_per_person: drawing.max_tickets_per_person,
            free_entry_tickets: drawing.free_entry_tickets,
            total_arv_cents: drawing.total_arv_cents(),
            prizes: drawing.prizes.clone(),
            sponsor,
            counts,
            snapshot: drawing.snapshot.clone(),
            beacon: drawing.beacon.clone(),
            eligibility,
            links: DrawingLinks {
                rules: format!("{base}/rules"),
                results: format!("{base}/results"),
                snapshot: format!("{base}/snapshot"),
            },
        })
    }

    /// Tickets and entrants so far, from the sixteen gates (each counts its shard), read at once.
    async fn live_counts(&self, id: &DrawingId) -> Result<DrawingCounts, DrawingError> {
        let keys: Vec<_> = (0..keys::SHARDS).map(|shard| keys::gate_key(id, shard)).collect();
        let reads = keys.iter().map(|key| self.store.load_record_at::<GateRecord>(key));
        let mut counts = DrawingCounts::default();
        for gate in futures_util::future::join_all(reads).await {
            if let Some(gate) = gate? {
                counts.tickets += gate.tickets;
                counts.entrants += gate.entrants;
            }
        }
        Ok(counts)
    }
}
