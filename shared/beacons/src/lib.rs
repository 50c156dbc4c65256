//! Adapters of the randomness beacon port (`fittrack_platform::ports::beacon`).
//!
//! A drawing must be decided by randomness nobody could know when it closed, in a way anyone can
//! check afterwards. drand gives both: the League of Entropy threshold-signs one round every few
//! seconds, and a round's signature verifies against the chain's public key, so a reader of the
//! published drawing needs neither us nor the relay to be honest ([`DrandBeacon`]).
//!
//! [`CommitRevealBeacon`] is for runs without outbound internet. Publishing `SHA-256(R)` at close
//! stops the operator from changing R afterwards, but not from knowing it in advance: it trusts
//! the operator, and is documented as such wherever a drawing shows its source.
//!
//! [`verify_reveal`] is the check both adapters run before returning randomness, and the one the
//! drawing verifier runs on published files.

mod commit_reveal;
mod drand;
mod verify;

use std::sync::Arc;

use fittrack_platform::clock::Clock;
use fittrack_platform::ports::RandomnessBeacon;
use serde::{Deserialize, Serialize};

pub use commit_reveal::CommitRevealBeacon;
pub use drand::{
    DEFAULT_DRAND_URL, DrandBeacon, DrandChain, QUICKNET_CHAIN_HASH, QUICKNET_GENESIS, QUICKNET_PERIOD,
    QUICKNET_PUBLIC_KEY,
};
pub use verify::verify_reveal;

/// Where a deployment's drawings take their randomness from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum BeaconChoice {
    Drand(DrandChain),
    CommitReveal,
}

/// The beacon `choice` names. `clock` only matters to commit-reveal (drand's rounds keep their
/// own time), `http` only to drand.
pub fn build(choice: BeaconChoice, clock: Arc<dyn Clock>, http: reqwest::Client) -> Arc<dyn RandomnessBeacon> {
    match choice {
        BeaconChoice::Drand(chain) => Arc::new(DrandBeacon::new(chain, http)),
        BeaconChoice::CommitReveal => Arc::new(CommitRevealBeacon::new(clock)),
    }
}

/// The beacon a deployment's configuration names: drand quicknet (with its pinned key) at the
/// configured relay, or commit-reveal.
///
/// # Errors
/// [`BuildError::Http`] when the HTTP client cannot be built (no TLS roots).
pub fn from_config(
    source: &fittrack_platform::config::BeaconSource,
    clock: Arc<dyn Clock>,
) -> Result<Arc<dyn RandomnessBeacon>, fittrack_platform::BuildError> {
    let choice = match source {
        fittrack_platform::config::BeaconSource::Drand { url } => {
            BeaconChoice::Drand(DrandChain::quicknet(url.clone()))
        }
        fittrack_platform::config::BeaconSource::CommitReveal => BeaconChoice::CommitReveal,
    };
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| fittrack_platform::BuildError::Http(e.to_string()))?;
    Ok(build(choice, clock, http))
}
