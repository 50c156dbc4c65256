//! Access tokens: short-lived EdDSA (Ed25519) JWTs. The public key is published as a JWKS so
//! other services can verify tokens without sharing a secret.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use fittrack_domain::Role;
use fittrack_platform::crypto::{b64, hash_token, unb64};

pub const ISSUER: &str = "fittrack";
pub const AUDIENCE: &str = "fittrack-api";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    /// Session (refresh-token family) the token belongs to; revoked sessions fail at once.
    pub sid: String,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("signing key must be an Ed25519 PKCS#8 document, base64url encoded")]
    BadKey,
    #[error("token rejected: {0}")]
    Rejected(String),
    #[error("this function holds the public key only and cannot sign tokens")]
    VerifyOnly,
}

/// A new Ed25519 signing key (PKCS#8, base64url) for configuration.
pub fn generate_signing_key() -> String {
    // Key generation only fails when the OS has no entropy.
    let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("Ed25519 key generation");
    b64(doc.as_ref())
}

pub struct JwtKeys {
    /// Absent on functions that only verify tokens: they hold the public key alone.
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
    kid: String,
    public_x: String,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// Signing and verifying keys from an Ed25519 PKCS#8 document, base64url encoded.
    ///
    /// # Errors
    /// [`JwtError::BadKey`] when `encoded` is not base64url or not an Ed25519 PKCS#8 document.
    pub fn from_pkcs8(encoded: &str) -> Result<Self, JwtError> {
        let der = unb64(encoded).ok_or(JwtError::BadKey)?;
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).map_err(|_| JwtError::BadKey)?;
        let public = pair.public_key().as_ref().to_vec();
        let public_x = b64(&public);
        // The key id is derived from the public key, so rotating keys changes it.
        let kid = hash_token(&public_x)[..16].to_owned();
        Ok(Self {
            encoding: Some(EncodingKey::from_ed_der(&der)),
            decoding: DecodingKey::from_ed_der(&public),
            kid,
            public_x,
        })
    }

    /// Verification only, from the public key (`x` of the JWKS, base64url): what a function that
    /// serves requests but never signs in anyone holds, so a leak of it cannot mint tokens.
    ///
    /// # Errors
    /// [`JwtError::BadKey`] when `public_x` is not base64url or not 32 bytes long.
    pub fn verifier(public_x: &str) -> Result<Self, JwtError> {
        let public = unb64(public_x).filter(|k| k.len() == 32).ok_or(JwtError::BadKey)?;
        let public_x = b64(&public);
        let kid = hash_token(&public_x)[..16].to_owned();
        Ok(Self { encoding: None, decoding: DecodingKey::from_ed_der(&public), kid, public_x })
    }

    /// The public key (`x`), base64url: what verify-only functions are configured with.
    pub fn public_key(&self) -> &str {
        &self.public_x
    }

    /// Signs `claims` into an access token, with our key id in its header.
    ///
    /// # Errors
    /// [`JwtError::VerifyOnly`] when these keys hold the public key alone; [`JwtError::Rejected`] when
    /// encoding fails.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, JwtError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        let key = self.encoding.as_ref().ok_or(JwtError::VerifyOnly)?;
        jsonwebtoken::encode(&header, claims, key).map_err(|e| JwtError::Rejected(e.to_string()))
    }

    /// Checks signature, algorithm, issuer, audience and expiry (no leeway: tokens are short-lived
    /// and issued by this same service).
    ///
    /// # Errors
    /// [`JwtError::Rejected`] for a malformed, foreign, tampered or expired token, or a wrong issuer or audience.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, JwtError> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 0;
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| JwtError::Rejected(e.to_string()))
    }

    /// The public key as a JSON Web Key Set (RFC 8037 OKP key).
    pub fn jwks(&self) -> Value {
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": self.public_x, "kid": self.kid, "alg": "EdDSA", "use": "sig"}]})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp_in: i64) -> AccessClaims {
        let now = chrono::Utc::now().timestamp();
        AccessClaims {
            sub: "u1".into(),
            sid: "s1".into(),
            role: Role::Admin,
            iat: now,
            exp: now + exp_in,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        }
    }

    #[test]
    fn signs_and_verifies_and_publishes_the_key() {
        let keys = JwtKeys::from_pkcs8(&generate_signing_key()).unwrap();
        let issued = claims(60);
        let token = keys.sign(&issued).unwrap();
        assert_eq!(keys.verify(&token).unwrap(), issued);
        let jwks = keys.jwks();
        assert_eq!(jwks["keys"][0]["kid"], keys.kid);
        let from_jwks = DecodingKey::from_ed_components(jwks["keys"][0]["x"].as_str().unwrap()).unwrap();
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[AUDIENCE]);
        assert!(jsonwebtoken::decode::<AccessClaims>(&token, &from_jwks, &validation).is_ok());
    }

    #[test]
    fn rejects_expired_foreign_and_tampered_tokens() {
        let keys = JwtKeys::from_pkcs8(&generate_signing_key()).unwrap();
        let other = JwtKeys::from_pkcs8(&generate_signing_key()).unwrap();
        assert!(keys.verify(&keys.sign(&claims(-1)).unwrap()).is_err());
        assert!(keys.verify(&other.sign(&claims(60)).unwrap()).is_err());
        let token = keys.sign(&claims(60)).unwrap();
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = b64(
            br#"{"sub":"u2","sid":"s1","role":"admin","iat":0,"exp":9999999999,"iss":"fittrack","aud":"fittrack-api"}"#,
        );
        parts[1] = &forged;
        assert!(keys.verify(&parts.join(".")).is_err());
        assert!(JwtKeys::from_pkcs8("bm90IGEga2V5").is_err());
    }

    #[test]
    fn a_verifier_verifies_but_cannot_sign() {
        let keys = JwtKeys::from_pkcs8(&generate_signing_key()).unwrap();
        let token = keys.sign(&claims(60)).unwrap();
        let verifier = JwtKeys::verifier(keys.public_key()).unwrap();
        assert_eq!(verifier.verify(&token).unwrap().sub, "u1");
        assert_eq!(verifier.jwks(), keys.jwks(), "the same published key");
        assert_eq!(verifier.sign(&claims(60)), Err(JwtError::VerifyOnly));
        let other = JwtKeys::from_pkcs8(&generate_signing_key()).unwrap();
        assert!(JwtKeys::verifier(other.public_key()).unwrap().verify(&token).is_err());
        assert_eq!(JwtKeys::verifier("not-a-key").unwrap_err(), JwtError::BadKey);
    }
}
