//! Commit-reveal for runs without drand (`fittrack serve`, deployments without outbound
//! internet). R is drawn from the OS CSPRNG at close and its SHA-256 published with the snapshot,
//! so R cannot change afterwards; but the operator knows R at close and could draw again until it
//! liked the outcome before publishing. Entrants must trust the operator, which is why
//! production draws from drand and the verifier accepts this only with `--trust-operator`.

use std::sync::Arc;

use async_trait::async_trait;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use chrono::{DateTime, Utc};
use fittrack_domain::draw_protocol::sha256;
use fittrack_platform::clock::Clock;
use fittrack_platform::ports::{BeaconCommitment, BeaconError, BeaconReveal, BeaconSecret, RandomnessBeacon};

use crate::verify::verify_reveal;

pub struct CommitRevealBeacon {
    clock: Arc<dyn Clock>,
    random: SystemRandom,
}

impl CommitRevealBeacon {
    /// `clock` decides when a commitment may be revealed: never before its draw time, so the
    /// randomness stays unpublished while entries are open.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self { clock, random: SystemRandom::new() }
    }
}

#[async_trait]
impl RandomnessBeacon for CommitRevealBeacon {
    fn commit(&self, draw_at: DateTime<Utc>) -> Result<(BeaconCommitment, Option<BeaconSecret>), BeaconError> {
        let mut secret = [0u8; 32];
        self.random
            .fill(&mut secret)
            .map_err(|_| BeaconError::Unavailable("the system random generator failed".into()))?;
        let commitment =
            BeaconCommitment::CommitReveal { commitment: hex::encode(sha256(&secret)), reveal_at: draw_at.timestamp() };
        Ok((commitment, Some(BeaconSecret(hex::encode(secret)))))
    }

    async fn reveal(
        &self,
        commitment: &BeaconCommitment,
        secret: Option<&BeaconSecret>,
    ) -> Result<Option<BeaconReveal>, BeaconError> {
        let BeaconCommitment::CommitReveal { reveal_at, .. } = commitment else {
            return Err(BeaconError::Foreign("a drand commitment is revealed by drand".into()));
        };
        if self.clock.now().timestamp() < *reveal_at {
            return Ok(None);
        }
        let Some(secret) = secret else {
            return Err(BeaconError::Invalid("the secret behind this commitment is missing".into()));
        };
        let reveal = BeaconReveal { randomness: secret.0.clone(), signature: None };
        verify_reveal(commitment, &reveal)?;
        Ok(Some(reveal))
    }
}
