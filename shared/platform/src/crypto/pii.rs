//! Personal data at rest: AES-256-GCM with a random nonce, bound by associated data to the record
//! and field it belongs to (a ciphertext moved to another user does not decrypt), plus a keyed
//! hash (HMAC-SHA256) for lookups by email without storing the email in clear.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::{hkdf, hmac};

use super::{b64, random_bytes, unb64};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PiiError {
    #[error("PII key must be 32 bytes, base64url encoded")]
    BadKey,
    #[error("ciphertext does not decrypt under this key and context")]
    Undecryptable,
}

pub struct PiiCipher {
    aead: LessSafeKey,
    lookup: hmac::Key,
}

impl std::fmt::Debug for PiiCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PiiCipher(..)")
    }
}

/// A new random master key, base64url encoded, for configuration.
pub fn generate_pii_key() -> String {
    b64(&random_bytes::<32>())
}

impl PiiCipher {
    /// Derives the encryption and lookup keys from one 32-byte master key (HKDF-SHA256), so
    /// operators manage a single secret and the two uses never share key material.
    ///
    /// # Errors
    /// [`PiiError::BadKey`] when `encoded` is not base64url or not 32 bytes long.
    pub fn from_master_key(encoded: &str) -> Result<Self, PiiError> {
        let master = unb64(encoded).filter(|k| k.len() == 32).ok_or(PiiError::BadKey)?;
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"fittrack-pii").extract(&master);
        let derive = |info: &'static [u8]| -> Result<[u8; 32], PiiError> {
            let mut out = [0u8; 32];
            let info = [info];
            prk.expand(&info, hkdf::HKDF_SHA256).and_then(|okm| okm.fill(&mut out)).map_err(|_| PiiError::BadKey)?;
            Ok(out)
        };
        let aead =
            LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &derive(b"aes-256-gcm v1")?).map_err(|_| PiiError::BadKey)?);
        let lookup = hmac::Key::new(hmac::HMAC_SHA256, &derive(b"hmac-lookup v1")?);
        Ok(Self { aead, lookup })
    }

    /// `context` names the record and field, e.g. `"user:<id>:email"`.
    pub fn encrypt(&self, plaintext: &str, context: &str) -> String {
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let mut buf = plaintext.as_bytes().to_vec();
        // Sealing only fails for inputs over GCM's 64 GiB limit.
        self.aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .expect("AES-GCM input within limits");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        b64(&out)
    }

    /// Opens what [`PiiCipher::encrypt`] sealed under the same `context`.
    ///
    /// # Errors
    /// [`PiiError::Undecryptable`] for a ciphertext that is malformed, tampered, sealed under another key or
    /// context, or not UTF-8 inside.
    pub fn decrypt(&self, ciphertext: &str, context: &str) -> Result<String, PiiError> {
        let raw = unb64(ciphertext).ok_or(PiiError::Undecryptable)?;
        if raw.len() < NONCE_LEN {
            return Err(PiiError::Undecryptable);
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| PiiError::Undecryptable)?;
        let mut buf = sealed.to_vec();
        let plain = self
            .aead
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| PiiError::Undecryptable)?;
        String::from_utf8(plain.to_vec()).map_err(|_| PiiError::Undecryptable)
    }

    /// The raw keyed hash (HMAC-SHA-256) of `value` for `purpose`: opaque ids that only the key
    /// holder can link back to what they were made from (a drawing's entrant ids).
    pub fn keyed_digest(&self, purpose: &str, value: &str) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.lookup);
        ctx.update(purpose.as_bytes());
        ctx.update(&[0]);
        ctx.update(value.as_bytes());
        let mut digest = [0u8; 32];
        digest.copy_from_slice(ctx.sign().as_ref());
        digest
    }

    /// Deterministic keyed hash for equality lookups (`purpose` separates domains, e.g. email vs IP).
    pub fn lookup_hash(&self, purpose: &str, value: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.lookup);
        ctx.update(purpose.as_bytes());
        ctx.update(&[0]);
        ctx.update(value.as_bytes());
        b64(ctx.sign().as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_binds_to_context() {
        let cipher = PiiCipher::from_master_key(&generate_pii_key()).unwrap();
        let sealed = cipher.encrypt("jo@example.com", "user:1:email");
        assert!(!sealed.contains("jo@"));
        assert_eq!(cipher.decrypt(&sealed, "user:1:email").unwrap(), "jo@example.com");
        assert_eq!(cipher.decrypt(&sealed, "user:2:email"), Err(PiiError::Undecryptable));
        assert_ne!(sealed, cipher.encrypt("jo@example.com", "user:1:email"), "nonces must differ");
    }

    #[test]
    fn other_keys_cannot_decrypt_and_hash_differently() {
        let a = PiiCipher::from_master_key(&generate_pii_key()).unwrap();
        let b = PiiCipher::from_master_key(&generate_pii_key()).unwrap();
        let sealed = a.encrypt("1990-01-01", "user:1:dob");
        assert!(b.decrypt(&sealed, "user:1:dob").is_err());
        assert_eq!(a.lookup_hash("email", "x@y.z"), a.lookup_hash("email", "x@y.z"));
        assert_ne!(a.lookup_hash("email", "x@y.z"), b.lookup_hash("email", "x@y.z"));
        assert_ne!(a.lookup_hash("email", "x@y.z"), a.lookup_hash("ip", "x@y.z"));
    }

    #[test]
    fn rejects_short_keys_and_tampered_ciphertexts() {
        assert_eq!(PiiCipher::from_master_key("c2hvcnQ").unwrap_err(), PiiError::BadKey);
        let cipher = PiiCipher::from_master_key(&generate_pii_key()).unwrap();
        let mut sealed = cipher.encrypt("secret", "ctx").into_bytes();
        let last = sealed.len() - 2;
        sealed[last] = if sealed[last] == b'A' { b'B' } else { b'A' };
        assert!(cipher.decrypt(std::str::from_utf8(&sealed).unwrap(), "ctx").is_err());
    }
}
