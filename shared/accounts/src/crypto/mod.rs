//! The cryptography only accounts use: argon2 password hashing and Ed25519 access tokens, on top
//! of the shared PII cipher and token hashing.

mod jwt;
mod password;

pub use fittrack_platform::crypto::*;
pub use jwt::{AccessClaims, JwtError, JwtKeys, generate_signing_key};
pub use password::{PasswordHashError, PasswordHasher};

/// Issuer and audience of our access tokens.
pub mod jwt_constants {
    pub use super::jwt::{AUDIENCE, ISSUER};
}
