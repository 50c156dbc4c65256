//! Argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane). Hashing takes tens of
//! milliseconds of CPU, so it runs on the blocking pool, never on the async workers.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use fittrack_platform::crypto::random_bytes;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordHashError {
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("password hashing task did not finish")]
    Aborted,
}

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// A PHC string with our parameters (fixed salt and output), verified against when the email
    /// is unknown so that unknown and known emails take the same time: verifying costs one hash
    /// whatever the stored output, so it needs no hashing at start and no first-call outlier.
    dummy: Arc<str>,
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::owasp()
    }
}

impl PasswordHasher {
    pub fn owasp() -> Self {
        // Constant, valid parameters.
        Self::with_params(Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters"))
    }

    /// Argon2id with a chosen memory (KiB) and pass count, e.g. a cheaper cost for tests.
    pub fn with_cost(memory_kib: u32, passes: u32) -> Self {
        Self::with_params(Params::new(memory_kib.max(8), passes.max(1), 1, None).unwrap_or_default())
    }

    pub fn with_params(params: Params) -> Self {
        let dummy = format!(
            "$argon2id$v=19$m={},t={},p={}$Zml0dHJhY2stZHVtbXk$QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        );
        Self { params, dummy: dummy.into() }
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    fn hash_blocking(&self, password: &str) -> Result<String, PasswordHashError> {
        let salt =
            SaltString::encode_b64(&random_bytes::<16>()).map_err(|e| PasswordHashError::Hashing(e.to_string()))?;
        self.argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| PasswordHashError::Hashing(e.to_string()))
    }

    fn verify_blocking(&self, password: &str, stored: Option<&str>) -> bool {
        let known = stored.is_some();
        let stored = stored.unwrap_or(&self.dummy);
        // The stored PHC string carries its own parameters, so old hashes keep verifying.
        let matches = PasswordHash::new(stored)
            .is_ok_and(|parsed| self.argon2().verify_password(password.as_bytes(), &parsed).is_ok());
        matches && known
    }

    /// Hashes `password` with a fresh random salt, into a PHC string.
    ///
    /// # Errors
    /// [`PasswordHashError::Hashing`] when argon2 fails; [`PasswordHashError::Aborted`] when the blocking
    /// task does not finish.
    pub async fn hash(&self, password: String) -> Result<String, PasswordHashError> {
        let hasher = self.clone();
        tokio::task::spawn_blocking(move || hasher.hash_blocking(&password))
            .await
            .map_err(|_| PasswordHashError::Aborted)?
    }

    /// Verifies `password` against `stored`; with `None` (no such user, or an account without a
    /// password) it spends the same time on a dummy hash and returns false.
    pub async fn verify(&self, password: String, stored: Option<String>) -> bool {
        let hasher = self.clone();
        tokio::task::spawn_blocking(move || hasher.verify_blocking(&password, stored.as_deref())).await.unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> PasswordHasher {
        PasswordHasher::with_params(Params::new(1024, 1, 1, None).unwrap())
    }

    #[tokio::test]
    async fn verifies_the_right_password_only() {
        let hasher = fast();
        let stored = hasher.hash("correct horse battery staple".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(hasher.verify("correct horse battery staple".into(), Some(stored.clone())).await);
        assert!(!hasher.verify("Correct horse battery staple".into(), Some(stored)).await);
    }

    #[tokio::test]
    async fn unknown_users_never_verify() {
        let hasher = fast();
        assert!(!hasher.verify("anything at all".into(), None).await);
        assert!(!hasher.verify(String::new(), None).await);
    }

    #[test]
    fn the_unknown_users_dummy_costs_a_real_verification() {
        let hasher = fast();
        let parsed = PasswordHash::new(&hasher.dummy).expect("a valid PHC string");
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        let params = Params::try_from(&parsed).unwrap();
        assert_eq!((params.m_cost(), params.t_cost(), params.p_cost()), (1024, 1, 1), "the hasher's own cost");
    }

    #[test]
    fn owasp_parameters() {
        let p = PasswordHasher::owasp().params;
        assert_eq!((p.m_cost(), p.t_cost(), p.p_cost()), (19456, 2, 1));
    }
}
