//! `fittrack verify-drawing`: recomputes a drawing from its published results and snapshot file
//! alone, as anyone can: the file's hash, N, the beacon (drand's BLS signature against a chain
//! the verifier trusts, for the round the drawing's time and close decide), the seed, and every
//! winner and alternate of the `fittrack-draw-v1` stream. Stops at the first mismatch.
//!
//! Trust is the verifier's, never the file's: a drand result counts only from drand quicknet (its
//! hash, key, genesis and period pinned here) or a chain named with `--trust-chain`; a
//! commit-reveal result, which proves R was fixed at close but not that the operator did not know
//! it, only with `--trust-operator`.

use fittrack_beacons::{QUICKNET_CHAIN_HASH, QUICKNET_GENESIS, QUICKNET_PERIOD, QUICKNET_PUBLIC_KEY, verify_reveal};
use fittrack_domain::draw_protocol::{self, Outcome, PROTOCOL, Placement, RoundClock, Snapshot, decided_at};
use fittrack_drawings::results::PublishedResults;
use fittrack_platform::ports::BeaconCommitment;

/// The first thing that does not add up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mismatch: {0}")]
pub struct Mismatch(pub String);

fn mismatch(what: impl Into<String>) -> Mismatch {
    Mismatch(what.into())
}

/// A drand chain: what its rounds are signed with and when they come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedChain {
    pub chain_hash: String,
    pub public_key: String,
    pub genesis: i64,
    pub period: i64,
}

impl TrustedChain {
    /// drand quicknet, the League of Entropy's chain production drawings use.
    pub fn quicknet() -> Self {
        Self {
            chain_hash: QUICKNET_CHAIN_HASH.to_owned(),
            public_key: QUICKNET_PUBLIC_KEY.to_owned(),
            genesis: QUICKNET_GENESIS,
            period: QUICKNET_PERIOD,
        }
    }

    /// `<chain hash>:<public key>:<genesis>:<period>`, as `--trust-chain` takes it.
    ///
    /// # Errors
    /// A message when the text is not of that form.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split(':').collect();
        let [hash, key, genesis, period] = parts.as_slice() else {
            return Err("a chain is <chain hash>:<public key>:<genesis>:<period>".into());
        };
        Ok(Self {
            chain_hash: (*hash).to_owned(),
            public_key: (*key).to_owned(),
            genesis: genesis.parse().map_err(|_| "genesis is epoch seconds")?,
            period: period.parse().map_err(|_| "period is seconds")?,
        })
    }
}

/// Whom the verifier believes about randomness, and what it expects of the results.
#[derive(Debug, Clone)]
pub struct Trust {
    /// drand chains whose rounds are accepted: quicknet unless told otherwise.
    pub drand_chains: Vec<TrustedChain>,
    /// Accept commit-reveal results (local and offline deployments).
    pub commit_reveal: bool,
    /// The drawing the results must be of (`--drawing`).
    pub drawing: Option<String>,
}

impl Default for Trust {
    fn default() -> Self {
        Self { drand_chains: vec![TrustedChain::quicknet()], commit_reveal: false, drawing: None }
    }
}

/// Checks `results` (the JSON of `/results`) against `snapshot` (the bytes of `/snapshot`) with
/// the verifier's `trust`; returns the outcome they prove.
///
/// # Errors
/// [`Mismatch`] naming the first field that does not follow from the files.
pub fn verify(results: &[u8], snapshot: &[u8], trust: &Trust) -> Result<Outcome, Mismatch> {
    let results: PublishedResults =
        serde_json::from_slice(results).map_err(|e| mismatch(format!("results do not read: {e}")))?;
    if let Some(drawing) = &trust.drawing
        && *drawing != results.drawing_id
    {
        return Err(mismatch(format!("the results are of drawing {}, not {drawing}", results.drawing_id)));
    }
    if results.protocol != PROTOCOL {
        return Err(mismatch(format!("protocol is {:?}, this verifier knows {PROTOCOL}", results.protocol)));
    }
    let file = Snapshot::parse(snapshot).map_err(|e| mismatch(format!("snapshot: {e}")))?;
    let hash = hex::encode(draw_protocol::sha256(snapshot));
    if hash != results.snapshot_hash {
        return Err(mismatch(format!("snapshot_hash is {}, the file hashes to {hash}", results.snapshot_hash)));
    }
    if file.total() != results.tickets {
        return Err(mismatch(format!("tickets is {}, the snapshot holds {}", results.tickets, file.total())));
    }
    if file.ranges().len() as u64 != results.entrants {
        return Err(mismatch(format!("entrants is {}, the snapshot lists {}", results.entrants, file.ranges().len())));
    }
    let closed_at = results.closed_at.timestamp();
    if closed_at > results.completed_at.timestamp() {
        return Err(mismatch("closed_at is after completed_at"));
    }
    // The randomness must be published after the close that fixed the snapshot: at the drawing
    // time, or for a late close, a margin after it.
    let decided = decided_at(results.draw_at.timestamp(), closed_at);
    match &results.beacon.commitment {
        BeaconCommitment::Drand { chain_hash, public_key, round, genesis, period } => {
            let published = TrustedChain {
                chain_hash: chain_hash.clone(),
                public_key: public_key.clone(),
                genesis: *genesis,
                period: *period,
            };
            if !trust.drand_chains.contains(&published) {
                return Err(mismatch(format!(
                    "drand chain {chain_hash} with that key, genesis and period is not one this verifier trusts"
                )));
            }
            let clock = RoundClock { genesis: *genesis, period: *period };
            let expected = clock.round_at_or_after(decided).ok_or_else(|| mismatch("the chain's clock is unusable"))?;
            if *round != expected {
                return Err(mismatch(format!(
                    "beacon round is {round}, the first at or after the drawing (and its close) is {expected}"
                )));
            }
        }
        BeaconCommitment::CommitReveal { reveal_at, .. } => {
            if !trust.commit_reveal {
                return Err(mismatch(
                    "decided by commit-reveal, which trusts the operator; pass --trust-operator to accept it",
                ));
            }
            if *reveal_at != decided {
                return Err(mismatch("the commitment is not for the drawing time"));
            }
        }
    }
    let randomness = verify_reveal(&results.beacon.commitment, &results.beacon.reveal)
        .map_err(|e| mismatch(format!("beacon: {e}")))?;
    let seed = draw_protocol::seed(&draw_protocol::sha256(snapshot), &randomness);
    if hex::encode(seed) != results.seed {
        return Err(mismatch(format!("seed is {}, the inputs give {}", results.seed, hex::encode(seed))));
    }
    for (index, place) in results.places.iter().enumerate() {
        if place.place as usize != index + 1 {
            return Err(mismatch(format!(
                "places are not numbered 1, 2, …: {} at position {}",
                place.place,
                index + 1
            )));
        }
    }
    let places = u32::try_from(results.places.len()).map_err(|_| mismatch("too many places"))?;
    let outcome = draw_protocol::draw(&file, &seed, places);
    same_list("winner", &results.winners, &outcome.winners)?;
    same_list("alternate", &results.alternates, &outcome.alternates)?;
    Ok(outcome)
}

fn same_list(what: &str, published: &[Placement], computed: &[Placement]) -> Result<(), Mismatch> {
    for (index, computed) in computed.iter().enumerate() {
        match published.get(index) {
            Some(p) if p == computed => {}
            Some(p) => {
                return Err(mismatch(format!(
                    "{what} {} is ticket {} of {}, the stream gives ticket {} of {}",
                    index + 1,
                    p.ticket,
                    p.entrant,
                    computed.ticket,
                    computed.entrant
                )));
            }
            None => return Err(mismatch(format!("{what} {} is missing", index + 1))),
        }
    }
    if published.len() > computed.len() {
        return Err(mismatch(format!("{} {what}s published, the stream gives {}", published.len(), computed.len())));
    }
    Ok(())
}

/// Fetches a drawing's results and snapshot from the API at `base`.
///
/// # Errors
/// A message when either cannot be fetched.
pub async fn fetch(base: &str, drawing: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    let http = reqwest::Client::new();
    let get = |what: &'static str| {
        let url = format!("{}/api/v1/drawings/{drawing}/{what}", base.trim_end_matches('/'));
        let http = http.clone();
        async move {
            let response = http.get(&url).send().await.map_err(|e| format!("{url}: {e}"))?;
            if !response.status().is_success() {
                return Err(format!("{url}: {}", response.status()));
            }
            response.bytes().await.map(|b| b.to_vec()).map_err(|e| format!("{url}: {e}"))
        }
    };
    Ok((get("results").await?, get("snapshot").await?))
}
