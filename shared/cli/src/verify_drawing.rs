//! `fittrack verify-drawing`: recomputes a drawing from its published results and snapshot file
//! alone, as anyone can: the file's hash, N, the beacon (drand's BLS signature against the
//! chain's key, or commit-reveal's commitment), the seed, and every winner and alternate of the
//! `fittrack-draw-v1` stream. Stops at the first mismatch.

use fittrack_beacons::{QUICKNET_CHAIN_HASH, QUICKNET_PUBLIC_KEY, verify_reveal};
use fittrack_domain::draw_protocol::{self, Outcome, PROTOCOL, Placement, RoundClock, Snapshot};
use fittrack_drawings::results::PublishedResults;
use fittrack_platform::ports::BeaconCommitment;

/// The first thing that does not add up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mismatch: {0}")]
pub struct Mismatch(pub String);

fn mismatch(what: impl Into<String>) -> Mismatch {
    Mismatch(what.into())
}

/// Checks `results` (the JSON of `/results`) against `snapshot` (the bytes of `/snapshot`);
/// returns the outcome they prove.
///
/// # Errors
/// [`Mismatch`] naming the first field that does not follow from the files.
pub fn verify(results: &[u8], snapshot: &[u8]) -> Result<Outcome, Mismatch> {
    let results: PublishedResults =
        serde_json::from_slice(results).map_err(|e| mismatch(format!("results do not read: {e}")))?;
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
    let draw_at = results.draw_at.timestamp();
    match &results.beacon.commitment {
        BeaconCommitment::Drand { chain_hash, public_key, round, genesis, period } => {
            if chain_hash == QUICKNET_CHAIN_HASH && public_key != QUICKNET_PUBLIC_KEY {
                return Err(mismatch("the public key is not drand quicknet's"));
            }
            let expected = RoundClock { genesis: *genesis, period: *period }.round_at_or_after(draw_at);
            if *round != expected {
                return Err(mismatch(format!(
                    "beacon round is {round}, the first at or after the drawing is {expected}"
                )));
            }
        }
        BeaconCommitment::CommitReveal { reveal_at, .. } => {
            if *reveal_at != draw_at {
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
