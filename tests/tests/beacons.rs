//! The randomness beacon contract (`fittrack_platform::ports::beacon`) against both adapters:
//! drand against a local chain with a key of its own, commit-reveal on its own. Then what only
//! drand has: the round it commits to, and real quicknet rounds checked with the pinned key.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta};

use fittrack_beacons::{
    CommitRevealBeacon, DEFAULT_DRAND_URL, DrandBeacon, DrandChain, QUICKNET_CHAIN_HASH, QUICKNET_GENESIS,
    QUICKNET_PERIOD, QUICKNET_PUBLIC_KEY, verify_reveal,
};
use fittrack_domain::draw_protocol::sha256;
use fittrack_platform::clock::{Clock, ManualClock};
use fittrack_platform::ports::{BeaconCommitment, BeaconError, BeaconReveal, BeaconSecret, RandomnessBeacon};
use fittrack_tests::fake_drand::FakeDrand;

const GENESIS: i64 = 1_700_000_000;
const PERIOD: i64 = 3;

fn clock_at(epoch_secs: i64) -> Arc<ManualClock> {
    Arc::new(ManualClock::new(DateTime::from_timestamp(epoch_secs, 0).unwrap()))
}

/// Another last hex digit: still well-formed, no longer what was published.
fn flip(hex: &str) -> String {
    let (head, last) = hex.split_at(hex.len() - 1);
    format!("{head}{}", if last == "0" { "1" } else { "0" })
}

/// A commitment of the kind `commitment` is not.
fn other_kind(commitment: &BeaconCommitment) -> BeaconCommitment {
    match commitment {
        BeaconCommitment::Drand { .. } => {
            BeaconCommitment::CommitReveal { commitment: hex::encode(sha256(&[1; 32])), reveal_at: 0 }
        }
        BeaconCommitment::CommitReveal { .. } => BeaconCommitment::Drand {
            chain_hash: QUICKNET_CHAIN_HASH.into(),
            public_key: QUICKNET_PUBLIC_KEY.into(),
            round: 1,
            genesis: QUICKNET_GENESIS,
            period: QUICKNET_PERIOD,
        },
    }
}

fn invalid<T>(result: Result<T, BeaconError>) -> bool {
    matches!(result, Err(BeaconError::Invalid(_)))
}

/// The contract every adapter passes. Returns the commitment, its secret and the reveal for the
/// adapter's own checks.
async fn contract(
    beacon: Arc<dyn RandomnessBeacon>,
    clock: Arc<ManualClock>,
) -> (BeaconCommitment, Option<BeaconSecret>, BeaconReveal) {
    let draw_at = clock.now() + TimeDelta::seconds(60);
    let (commitment, secret) = beacon.commit(draw_at).unwrap();

    // Nothing before the draw time, however often asked.
    assert_eq!(beacon.reveal(&commitment, secret.as_ref()).await, Ok(None));
    clock.advance(TimeDelta::seconds(59));
    assert_eq!(beacon.reveal(&commitment, secret.as_ref()).await, Ok(None));

    // After it, randomness: the same every time, and what `verify_reveal` gives the verifier.
    clock.advance(TimeDelta::seconds(1 + 2 * PERIOD));
    let revealed = beacon.reveal(&commitment, secret.as_ref()).await.unwrap().expect("randomness after the draw time");
    assert_eq!(beacon.reveal(&commitment, secret.as_ref()).await, Ok(Some(revealed.clone())));
    let randomness = verify_reveal(&commitment, &revealed).unwrap();
    assert_eq!(hex::decode(&revealed.randomness).unwrap(), randomness);

    // Another source's commitment is not this beacon's to reveal.
    let foreign = other_kind(&commitment);
    assert!(matches!(beacon.reveal(&foreign, secret.as_ref()).await, Err(BeaconError::Foreign(_))));

    // A reveal changed after the fact never verifies.
    let tampered = BeaconReveal { randomness: flip(&revealed.randomness), ..revealed.clone() };
    assert!(invalid(verify_reveal(&commitment, &tampered)));
    if let Some(signature) = &revealed.signature {
        let forged = BeaconReveal { signature: Some(flip(signature)), ..revealed.clone() };
        assert!(invalid(verify_reveal(&commitment, &forged)));
    }
    (commitment, secret, revealed)
}

#[tokio::test]
async fn drand_keeps_the_contract() {
    let clock = clock_at(GENESIS + 1_000);
    let fake = FakeDrand::start(GENESIS, PERIOD, clock.clone()).await;
    let beacon = Arc::new(DrandBeacon::new(fake.chain(), reqwest::Client::new()));
    let (commitment, _, _) = contract(beacon.clone(), clock.clone()).await;

    // A relay serving another round's signature (consistent randomness and all) is refused.
    fake.corrupt_signatures(true);
    assert!(invalid(beacon.reveal(&commitment, None).await));
    fake.corrupt_signatures(false);
    assert!(beacon.reveal(&commitment, None).await.unwrap().is_some());

    // Another drand chain (another key) is foreign too, even at the same relay address.
    let other = FakeDrand::start(GENESIS, PERIOD, clock.clone()).await;
    let other_beacon = DrandBeacon::new(other.chain(), reqwest::Client::new());
    let (other_commitment, _) = other_beacon.commit(clock.now()).unwrap();
    assert!(matches!(beacon.reveal(&other_commitment, None).await, Err(BeaconError::Foreign(_))));
    let mislabelled = match other_commitment {
        BeaconCommitment::Drand { round, genesis, period, .. } => BeaconCommitment::Drand {
            chain_hash: fake.chain().chain_hash,
            public_key: other.chain().public_key,
            round,
            genesis,
            period,
        },
        BeaconCommitment::CommitReveal { .. } => panic!("drand commits to drand rounds"),
    };
    assert!(matches!(beacon.reveal(&mislabelled, None).await, Err(BeaconError::Foreign(_))));
}

#[tokio::test]
async fn commit_reveal_keeps_the_contract() {
    let clock = clock_at(GENESIS + 1_000);
    let beacon = Arc::new(CommitRevealBeacon::new(clock.clone()));
    let (commitment, _, _) = contract(beacon.clone(), clock.clone()).await;

    // Only the committed secret opens the commitment.
    let wrong = BeaconSecret(hex::encode([9u8; 32]));
    assert!(invalid(beacon.reveal(&commitment, Some(&wrong)).await));
    assert!(invalid(beacon.reveal(&commitment, None).await));
    let malformed = BeaconSecret("not hex".into());
    assert!(invalid(beacon.reveal(&commitment, Some(&malformed)).await));

    // Every commitment is to a fresh secret, even for the same draw time.
    let (first, first_secret) = beacon.commit(clock.now()).unwrap();
    let (second, second_secret) = beacon.commit(clock.now()).unwrap();
    assert_ne!(first, second);
    assert_ne!(first_secret, second_secret);
}

#[tokio::test]
async fn drand_commits_to_the_first_round_at_or_after_the_draw() {
    let clock = clock_at(GENESIS + 10);
    let fake = FakeDrand::start(GENESIS, PERIOD, clock.clone()).await;
    let beacon = DrandBeacon::new(fake.chain(), reqwest::Client::new());
    let round_at = |at: i64| match beacon.commit(DateTime::from_timestamp(at, 0).unwrap()).unwrap().0 {
        BeaconCommitment::Drand { round, .. } => round,
        BeaconCommitment::CommitReveal { .. } => panic!("drand commits to drand rounds"),
    };
    assert_eq!(round_at(GENESIS - 100), 1);
    assert_eq!(round_at(GENESIS), 1);
    assert_eq!(round_at(GENESIS + 9), 4);
    assert_eq!(round_at(GENESIS + 10), 5);
    assert_eq!(round_at(GENESIS + 12), 5);

    // Round 5 is published at GENESIS + 12: after the draw time, never before it.
    let (commitment, _) = beacon.commit(clock.now()).unwrap();
    assert_eq!(beacon.reveal(&commitment, None).await, Ok(None));
    clock.advance(TimeDelta::seconds(1));
    assert_eq!(beacon.reveal(&commitment, None).await, Ok(None));
    clock.advance(TimeDelta::seconds(1));
    assert!(beacon.reveal(&commitment, None).await.unwrap().is_some());
}

/// Rounds published by quicknet itself (signature, and randomness = its SHA-256): the pinned key
/// verifies the real chain, and nothing else.
#[test]
fn real_quicknet_rounds_verify_with_the_pinned_key() {
    let quicknet = DrandChain::quicknet(DEFAULT_DRAND_URL);
    let at_round = |round: u64| BeaconCommitment::Drand {
        chain_hash: quicknet.chain_hash.clone(),
        public_key: quicknet.public_key.clone(),
        round,
        genesis: quicknet.genesis,
        period: quicknet.period,
    };
    let published = [
        (
            123,
            "b75c69d0b72a5d906e854e808ba7e2accb1542ac355ae486d591aa9d43765482e26cd02df835d3546d23c4b13e0dfc92",
            "fb8f7bc29bf24db51871ec8c79f3a1e4bd0557bc0dfcee9ed1d924e69d1c60dc",
        ),
        (
            657_413,
            "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b",
            "fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587",
        ),
    ];
    for (round, signature, randomness) in published {
        let reveal = BeaconReveal { randomness: randomness.into(), signature: Some(signature.into()) };
        assert_eq!(verify_reveal(&at_round(round), &reveal).map(hex::encode), Ok(randomness.to_owned()));

        // The same signature for another round, a flipped byte, uppercase hex: all refused.
        assert!(invalid(verify_reveal(&at_round(round + 1), &reveal)));
        let flipped = BeaconReveal { signature: Some(flip(signature)), ..reveal.clone() };
        assert!(invalid(verify_reveal(&at_round(round), &flipped)));
        let shouted = BeaconReveal { signature: Some(signature.to_uppercase()), ..reveal.clone() };
        assert!(invalid(verify_reveal(&at_round(round), &shouted)));
        let unsigned = BeaconReveal { signature: None, ..reveal.clone() };
        assert!(invalid(verify_reveal(&at_round(round), &unsigned)));
    }
}
