//! Cryptography, all on aws-lc-rs (plus argon2 for passwords): PII encryption and lookup hashes,
//! opaque tokens, password hashing and access-token signing.

mod jwt;
mod password;
mod pii;
mod tokens;

pub use jwt::{AccessClaims, JwtError, JwtKeys, generate_signing_key};

/// Issuer and audience of our access tokens.
pub mod jwt_constants {
    pub use super::jwt::{AUDIENCE, ISSUER};
}
pub use password::{PasswordHashError, PasswordHasher};
pub use pii::{PiiCipher, PiiError, generate_pii_key};
pub use tokens::{OpaqueToken, hash_token};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn unb64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim()).ok()
}

/// Fills `buf` from the operating system CSPRNG.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The system RNG only fails if the OS cannot supply entropy, which we cannot recover from.
    aws_lc_rs::rand::fill(&mut buf).expect("operating system CSPRNG unavailable");
    buf
}
