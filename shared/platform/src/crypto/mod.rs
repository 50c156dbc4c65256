//! The cryptography every capability shares, on aws-lc-rs: PII encryption and lookup hashes,
//! opaque tokens and their hashes, and the CSPRNG. Password hashing and access-token signing
//! belong to accounts (`fittrack-accounts`), so nothing else links argon2 or JWT code.

mod pii;
mod tokens;

pub use pii::{PiiCipher, PiiError, generate_pii_key};
pub use tokens::{OpaqueToken, hash_token};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Base64url without padding, as tokens and keys travel.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The inverse of [`b64`]; `None` for anything that is not base64url.
pub fn unb64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim()).ok()
}

/// Fills `buf` from the operating system CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The system RNG only fails if the OS cannot supply entropy, which we cannot recover from.
    aws_lc_rs::rand::fill(&mut buf).expect("operating system CSPRNG unavailable");
    buf
}
