//! The check that turns a published reveal into the drawing's randomness. It needs nothing but
//! the commitment and the reveal, so `fittrack verify-drawing` runs it offline exactly as the
//! adapters do before handing randomness to a draw.

use drand_verify::{G2PubkeyRfc, Pubkey};
use fittrack_domain::draw_protocol::sha256;
use fittrack_platform::ports::{BeaconCommitment, BeaconError, BeaconReveal};

/// Checks `reveal` against what `commitment` promised and returns R.
///
/// drand: the signature must be the chain key's BLS signature (scheme `bls-unchained-g1-rfc9380`)
/// of the committed round, and R its SHA-256. Commit-reveal: SHA-256 of R must be the commitment.
/// Every hex field must be lowercase and of its exact length, so one reveal has one spelling.
///
/// # Errors
/// [`BeaconError::Invalid`] naming the first thing that does not hold.
pub fn verify_reveal(commitment: &BeaconCommitment, reveal: &BeaconReveal) -> Result<[u8; 32], BeaconError> {
    let randomness: [u8; 32] = strict_hex("randomness", &reveal.randomness)?;
    match commitment {
        BeaconCommitment::Drand { public_key, round, .. } => {
            let Some(signature) = &reveal.signature else {
                return Err(invalid("a drand reveal carries the round's signature"));
            };
            let signature: [u8; 48] = strict_hex("signature", signature)?;
            let key: [u8; 96] = strict_hex("public key", public_key)?;
            let key = G2PubkeyRfc::from_fixed(key).map_err(|e| invalid(&format!("public key: {e}")))?;
            // Unchained scheme: the message is the round alone, no previous signature.
            let signed = key.verify(*round, b"", &signature).map_err(|e| invalid(&format!("signature: {e}")))?;
            if !signed {
                return Err(invalid(&format!("the signature is not the chain's for round {round}")));
            }
            if sha256(&signature) != randomness {
                return Err(invalid("randomness is not the SHA-256 of the signature"));
            }
        }
        BeaconCommitment::CommitReveal { commitment, .. } => {
            if reveal.signature.is_some() {
                return Err(invalid("a commit-reveal reveal has no signature"));
            }
            let promised: [u8; 32] = strict_hex("commitment", commitment)?;
            if sha256(&randomness) != promised {
                return Err(invalid("SHA-256 of the randomness is not the commitment"));
            }
        }
    }
    Ok(randomness)
}

fn invalid(reason: &str) -> BeaconError {
    BeaconError::Invalid(reason.to_owned())
}

/// Exactly `N` bytes as `2N` lowercase hex digits.
pub(crate) fn strict_hex<const N: usize>(field: &str, value: &str) -> Result<[u8; N], BeaconError> {
    let lowercase = value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let mut bytes = [0u8; N];
    if value.len() != 2 * N || !lowercase || hex::decode_to_slice(value, &mut bytes).is_err() {
        return Err(invalid(&format!("{field} is not {N} bytes of lowercase hex")));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_read_strictly() {
        assert_eq!(strict_hex::<2>("x", "0aff"), Ok([0x0a, 0xff]));
        assert!(strict_hex::<2>("x", "0AFF").is_err());
        assert!(strict_hex::<2>("x", "0af").is_err());
        assert!(strict_hex::<2>("x", "0aff00").is_err());
        assert!(strict_hex::<2>("x", "0ag0").is_err());
    }

    #[test]
    fn commit_reveal_needs_the_preimage() {
        let secret = [7u8; 32];
        let commitment = BeaconCommitment::CommitReveal { commitment: hex::encode(sha256(&secret)), reveal_at: 0 };
        let reveal = BeaconReveal { randomness: hex::encode(secret), signature: None };
        assert_eq!(verify_reveal(&commitment, &reveal), Ok(secret));
        let other = BeaconReveal { randomness: hex::encode([8u8; 32]), signature: None };
        assert!(matches!(verify_reveal(&commitment, &other), Err(BeaconError::Invalid(_))));
        let signed = BeaconReveal { signature: Some("00".into()), ..reveal };
        assert!(matches!(verify_reveal(&commitment, &signed), Err(BeaconError::Invalid(_))));
    }
}
