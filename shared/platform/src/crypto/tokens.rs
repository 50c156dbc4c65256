use aws_lc_rs::digest;

use super::{b64, random_bytes};

/// A fresh 256-bit secret for email links and refresh tokens. Only [`OpaqueToken::hash`] is
/// stored; the secret goes to the user once.
pub struct OpaqueToken {
    pub secret: String,
    pub hash: String,
}

impl OpaqueToken {
    pub fn generate() -> Self {
        let secret = b64(&random_bytes::<32>());
        let hash = hash_token(&secret);
        Self { secret, hash }
    }
}

/// SHA-256 is enough for 256-bit random secrets: there is nothing to brute-force, so no salt or
/// work factor. Stored hashes are looked up by equality, never compared in process.
pub fn hash_token(secret: &str) -> String {
    b64(digest::digest(&digest::SHA256, secret.as_bytes()).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hash_to_their_stored_form() {
        let a = OpaqueToken::generate();
        let b = OpaqueToken::generate();
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.secret.len(), 43);
        assert_eq!(hash_token(&a.secret), a.hash);
        assert_ne!(a.hash, a.secret);
    }
}
