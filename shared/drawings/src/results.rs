//! What a drawing publishes: the results in the `fittrack-draw-v1` form and the snapshot file,
//! byte for byte what its `snapshot_hash` covers. `fittrack verify-drawing` reads these two
//! and nothing else.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use fittrack_domain::UserId;
use fittrack_domain::draw_protocol::{Placement, Snapshot};
use fittrack_platform::ports::{Query, Table, from_item};

use crate::records::{ChunkRecord, DrawingId, DrawingRecord};
use crate::views::PublishedBeacon;
use crate::{DrawingError, DrawingService, keys};

/// One place: which prize it is, in the order places are drawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PublishedPlace {
    pub place: u32,
    pub prize_id: String,
    pub prize_name: String,
}

/// The published results of a completed drawing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PublishedResults {
    /// `fittrack-draw-v1`.
    pub protocol: String,
    pub drawing_id: String,
    /// The drawing time: the beacon round is the first at or after it (or, for a drawing closed
    /// late, at or after 30 seconds past its close).
    pub draw_at: DateTime<Utc>,
    /// When entries closed and the snapshot and commitment were fixed.
    pub closed_at: DateTime<Utc>,
    /// N: tickets 0..N-1.
    pub tickets: u64,
    pub entrants: u64,
    /// SHA-256 of the snapshot file, hex.
    pub snapshot_hash: String,
    pub beacon: PublishedBeacon,
    /// `SHA-256("fittrack-draw-v1" ‖ snapshot_hash ‖ R)`, hex.
    pub seed: String,
    /// The places in order: each prize repeated by its quantity.
    pub places: Vec<PublishedPlace>,
    pub winners: Vec<Placement>,
    pub alternates: Vec<Placement>,
    pub completed_at: DateTime<Utc>,
}

impl DrawingService {
    /// The published results.
    ///
    /// # Errors
    /// [`DrawingError::NotDrawn`] before completion; [`DrawingError::NotFound`]; [`DrawingError::Store`].
    pub async fn results(&self, id: &DrawingId) -> Result<PublishedResults, DrawingError> {
        let drawing = self.visible_drawing(id, false).await?;
        if drawing.completed_at.is_none() {
            return Err(DrawingError::NotDrawn);
        }
        let item = self.store.get(Table::Tickets, &keys::results_key(id)).await?.ok_or(DrawingError::NotDrawn)?;
        let results = item.get("results").cloned().ok_or_else(|| DrawingError::Corrupt("results item".into()))?;
        serde_json::from_value(results).map_err(|e| DrawingError::Corrupt(e.to_string()))
    }

    /// The snapshot file.
    ///
    /// # Errors
    /// [`DrawingError::NoSnapshot`] before close (and for a drawing cancelled before it);
    /// [`DrawingError::NotFound`]; [`DrawingError::Store`].
    pub async fn snapshot_file(&self, id: &DrawingId) -> Result<Vec<u8>, DrawingError> {
        let drawing = self.visible_drawing(id, false).await?;
        if drawing.snapshot.is_none() {
            return Err(DrawingError::NoSnapshot);
        }
        let mut file = Vec::new();
        self.for_each_chunk(id, |chunk| file.extend_from_slice(chunk.lines.as_bytes())).await?;
        Ok(file)
    }

    /// The snapshot as stored, checked against the hash published at close, with each range's person.
    pub(crate) async fn load_snapshot(&self, drawing: &DrawingRecord) -> Result<(Snapshot, Vec<UserId>), DrawingError> {
        let info = drawing.snapshot.as_ref().ok_or(DrawingError::NoSnapshot)?;
        let mut file = Vec::new();
        let mut users = Vec::new();
        let mut chunks = 0u64;
        let mut in_order = true;
        self.for_each_chunk(&drawing.id, |chunk| {
            in_order &= chunk.index == chunks;
            chunks += 1;
            file.extend_from_slice(chunk.lines.as_bytes());
            users.extend(chunk.users);
        })
        .await?;
        if !in_order || chunks != info.chunks {
            return Err(DrawingError::Corrupt(format!(
                "snapshot of drawing {} has missing or extra chunks",
                drawing.id
            )));
        }
        let snapshot = Snapshot::parse(&file).map_err(|e| DrawingError::Corrupt(e.to_string()))?;
        if hex::encode(snapshot.hash()) != info.hash || users.len() != snapshot.ranges().len() {
            return Err(DrawingError::Corrupt(format!("snapshot of drawing {} does not match its hash", drawing.id)));
        }
        Ok((snapshot, users))
    }

    /// The ticket range of `entrant` after close (first ticket, count), from the one chunk holding it.
    pub(crate) async fn range_of(
        &self,
        id: &DrawingId,
        entrant: &fittrack_domain::draw_protocol::EntrantId,
    ) -> Result<Option<(u64, u64)>, DrawingError> {
        let entrant = entrant.to_string();
        // Chunks sit under their first entrant: the one holding `entrant` is the last at or before it.
        let query = Query::partition(Table::Tickets, keys::snapshot_partition(id))
            .sort_below(format!("{entrant}~"))
            .descending()
            .limit(1);
        let page = self.store.query(query).await?;
        let Some(item) = page.items.into_iter().next() else { return Ok(None) };
        let chunk: ChunkRecord = from_item(item)?;
        Ok(chunk.lines.lines().find_map(|line| {
            let mut fields = line.split(',');
            let (first, count, who) = (fields.next()?, fields.next()?, fields.next()?);
            (who == entrant).then(|| Some((first.parse().ok()?, count.parse().ok()?))).flatten()
        }))
    }

    async fn for_each_chunk(&self, id: &DrawingId, mut each: impl FnMut(ChunkRecord)) -> Result<(), DrawingError> {
        let mut cursor = None;
        loop {
            let page = self
                .store
                .query(Query::partition(Table::Tickets, keys::snapshot_partition(id)).limit(50).after(cursor))
                .await?;
            for item in page.items {
                each(from_item(item)?);
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
        }
    }
}
