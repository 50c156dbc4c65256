//! drand over its HTTP API. Nothing the relay says is taken on trust: each round is checked
//! against the chain key pinned in the commitment, so a compromised or wrong relay can stall a
//! draw but never decide it.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fittrack_domain::draw_protocol::RoundClock;
use fittrack_platform::ports::{BeaconCommitment, BeaconError, BeaconReveal, BeaconSecret, RandomnessBeacon};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use crate::verify::verify_reveal;

/// The League of Entropy's quicknet (`bls-unchained-g1-rfc9380`, a round every 3 seconds).
pub const QUICKNET_CHAIN_HASH: &str = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971";
/// quicknet's group public key (G2, compressed), as its `/info` publishes it.
pub const QUICKNET_PUBLIC_KEY: &str = "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a";
pub const QUICKNET_GENESIS: i64 = 1_692_803_367;
pub const QUICKNET_PERIOD: i64 = 3;
/// drand's own relay; any other relay of the chain serves the same, verifiable, rounds.
pub const DEFAULT_DRAND_URL: &str = "https://api.drand.sh";

/// A relay a round may take to answer before the reveal is retried later.
const ROUND_TIMEOUT: Duration = Duration::from_secs(10);

/// Which drand chain to draw from, and where to fetch its rounds. The key is pinned here rather
/// than read from the relay's `/info`, which the relay could forge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrandChain {
    pub base_url: String,
    /// Hex.
    pub chain_hash: String,
    /// Hex, 96 bytes: the chain's G2 group key.
    pub public_key: String,
    /// Epoch seconds of round 1.
    pub genesis: i64,
    /// Seconds between rounds.
    pub period: i64,
}

impl DrandChain {
    /// quicknet, fetched from `base_url` (e.g. [`DEFAULT_DRAND_URL`]).
    pub fn quicknet(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            chain_hash: QUICKNET_CHAIN_HASH.to_owned(),
            public_key: QUICKNET_PUBLIC_KEY.to_owned(),
            genesis: QUICKNET_GENESIS,
            period: QUICKNET_PERIOD,
        }
    }

    fn rounds(&self) -> RoundClock {
        RoundClock { genesis: self.genesis, period: self.period }
    }
}

/// One round as drand's `GET /{chain_hash}/public/{round}` answers it.
#[derive(Deserialize)]
struct PublishedRound {
    round: u64,
    randomness: String,
    signature: String,
}

pub struct DrandBeacon {
    chain: DrandChain,
    http: reqwest::Client,
}

impl DrandBeacon {
    pub fn new(chain: DrandChain, http: reqwest::Client) -> Self {
        Self { chain, http }
    }

    /// The committed round, if `commitment` is one of this chain's.
    fn round_of(&self, commitment: &BeaconCommitment) -> Result<u64, BeaconError> {
        let BeaconCommitment::Drand { chain_hash, public_key, round, genesis, period } = commitment else {
            return Err(BeaconError::Foreign("not a drand commitment".into()));
        };
        let ours = &self.chain;
        if *chain_hash != ours.chain_hash || *public_key != ours.public_key {
            let reason = format!("drand chain {chain_hash}, this beacon reads {}", ours.chain_hash);
            return Err(BeaconError::Foreign(reason));
        }
        if (*genesis, *period) != (ours.genesis, ours.period) {
            return Err(BeaconError::Foreign(format!("chain {chain_hash} with another genesis or period")));
        }
        Ok(*round)
    }

    /// The round as the relay publishes it; `None` while it does not exist yet.
    async fn fetch(&self, round: u64) -> Result<Option<PublishedRound>, BeaconError> {
        let url = format!("{}/{}/public/{round}", self.chain.base_url.trim_end_matches('/'), self.chain.chain_hash);
        let unavailable = |e: reqwest::Error| BeaconError::Unavailable(e.without_url().to_string());
        let response = self.http.get(url).timeout(ROUND_TIMEOUT).send().await.map_err(unavailable)?;
        match response.status() {
            // drand answers 404 (older relays) or 425 Too Early for a round still in the future.
            StatusCode::NOT_FOUND | StatusCode::TOO_EARLY => Ok(None),
            status if status.is_success() => Ok(Some(response.json().await.map_err(unavailable)?)),
            status => Err(BeaconError::Unavailable(format!("drand relay answered {status} for round {round}"))),
        }
    }
}

#[async_trait]
impl RandomnessBeacon for DrandBeacon {
    fn commit(&self, draw_at: DateTime<Utc>) -> Result<(BeaconCommitment, Option<BeaconSecret>), BeaconError> {
        let chain = &self.chain;
        let round = chain
            .rounds()
            .round_at_or_after(draw_at.timestamp())
            .ok_or_else(|| BeaconError::Unavailable("the chain's clock cannot count to the drawing time".into()))?;
        let commitment = BeaconCommitment::Drand {
            chain_hash: chain.chain_hash.clone(),
            public_key: chain.public_key.clone(),
            round,
            genesis: chain.genesis,
            period: chain.period,
        };
        Ok((commitment, None))
    }

    async fn reveal(
        &self,
        commitment: &BeaconCommitment,
        _secret: Option<&BeaconSecret>,
    ) -> Result<Option<BeaconReveal>, BeaconError> {
        let round = self.round_of(commitment)?;
        let Some(published) = self.fetch(round).await? else {
            return Ok(None);
        };
        let reveal = BeaconReveal { randomness: published.randomness, signature: Some(published.signature) };
        let checked = if published.round == round {
            verify_reveal(commitment, &reveal)
        } else {
            Err(BeaconError::Invalid(format!("asked for round {round}, the relay answered round {}", published.round)))
        };
        match checked {
            Ok(randomness) => Ok(Some(BeaconReveal { randomness: hex::encode(randomness), ..reveal })),
            Err(error) => {
                tracing::warn!(round, chain = %self.chain.chain_hash, %error, "drand round does not verify");
                Err(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_to_the_first_round_at_or_after_the_draw() {
        let beacon = DrandBeacon::new(DrandChain::quicknet(DEFAULT_DRAND_URL), reqwest::Client::new());
        let draw_at = DateTime::from_timestamp(QUICKNET_GENESIS + 10, 0).unwrap();
        let (commitment, secret) = beacon.commit(draw_at).unwrap();
        assert!(secret.is_none());
        let BeaconCommitment::Drand { round, .. } = commitment else { panic!("not a drand commitment") };
        assert_eq!(round, 5);
    }
}
