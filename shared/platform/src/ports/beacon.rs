//! The randomness beacon port: where a drawing's randomness comes from. A drawing commits at
//! close to randomness that does not exist yet, and draws once it does.
//!
//! Adapters (`fittrack-beacons`): drand quicknet in production, whose rounds anyone can fetch and
//! check against the League of Entropy's public key; commit-reveal locally (`fittrack serve`, or a
//! deployment without outbound internet), where the commitment `SHA-256(R)` is published at close
//! and `R` at the draw. Both pass the contract suite in `tests/tests/beacons.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a drawing publishes at close about the randomness that will decide it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum BeaconCommitment {
    /// drand round `round` of the chain `chain_hash` (hex), signed by `public_key` (hex, the
    /// chain's group key); its time is `genesis + (round − 1) × period`.
    Drand { chain_hash: String, public_key: String, round: u64, genesis: i64, period: i64 },
    /// `commitment` = hex SHA-256 of the 32 bytes revealed at `reveal_at` (epoch seconds).
    CommitReveal { commitment: String, reveal_at: i64 },
}

/// The randomness a commitment promised, with what proves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeaconReveal {
    /// R: 32 bytes, hex. For drand, SHA-256 of the signature.
    pub randomness: String,
    /// drand: the round's BLS signature (hex), which `randomness` is derived from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// What only the committing side keeps until the reveal (commit-reveal's R, hex). Stored with
/// the drawing, never published before the draw.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeaconSecret(pub String);

impl std::fmt::Debug for BeaconSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BeaconSecret(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BeaconError {
    /// The beacon answered something that does not verify: never draw from it.
    #[error("beacon answer does not verify: {0}")]
    Invalid(String),
    /// The commitment is not one this beacon can reveal (another source or chain).
    #[error("commitment from another beacon: {0}")]
    Foreign(String),
    #[error("beacon unavailable: {0}")]
    Unavailable(String),
}

/// # Contract (checked by `tests/tests/beacons.rs` against every adapter)
/// - `commit(at)` MUST name randomness that cannot be known before `at` (drand: the first round
///   at or after `at`; commit-reveal: a fresh secret).
/// - `reveal` MUST answer `Ok(None)` until that randomness exists, then the same `BeaconReveal`
///   every time, and only after checking it against the commitment (`verify_reveal`).
/// - A reveal that does not verify MUST be `BeaconError::Invalid`, never randomness.
#[async_trait]
pub trait RandomnessBeacon: Send + Sync {
    /// Commits to randomness published at or after `draw_at`.
    ///
    /// # Errors
    /// [`BeaconError::Unavailable`] when no commitment can be made (no entropy).
    fn commit(&self, draw_at: DateTime<Utc>) -> Result<(BeaconCommitment, Option<BeaconSecret>), BeaconError>;

    /// The randomness `commitment` promised, verified; `None` while it does not exist yet.
    ///
    /// # Errors
    /// [`BeaconError::Invalid`] when the beacon's answer does not verify; [`BeaconError::Foreign`]
    /// for a commitment of another beacon; [`BeaconError::Unavailable`] when it cannot be reached.
    async fn reveal(
        &self,
        commitment: &BeaconCommitment,
        secret: Option<&BeaconSecret>,
    ) -> Result<Option<BeaconReveal>, BeaconError>;
}
