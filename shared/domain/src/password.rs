//! Password strength: a length floor plus zxcvbn's estimate of guessability, with the user's own
//! email and name counted as known words.

use crate::validation::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_chars: usize,
    /// Upper bound keeps hashing cost bounded (argon2 on a megabyte-long input is a DoS vector).
    pub max_chars: usize,
    /// zxcvbn score 0-4; 3 is "safely unguessable: moderate protection from offline attacks".
    pub min_score: u8,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_chars: 12, max_chars: 128, min_score: 3 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordRejection {
    TooShort,
    TooLong,
    TooWeak { score: u8, hint: Option<String> },
}

impl PasswordPolicy {
    pub fn check(&self, password: &str, user_inputs: &[&str]) -> Result<(), PasswordRejection> {
        let chars = password.chars().count();
        if chars < self.min_chars {
            return Err(PasswordRejection::TooShort);
        }
        if chars > self.max_chars {
            return Err(PasswordRejection::TooLong);
        }
        let estimate = zxcvbn::zxcvbn(password, user_inputs);
        let score = u8::from(estimate.score());
        if score < self.min_score {
            let hint = estimate.feedback().and_then(|f| f.warning()).map(|w| w.to_string());
            return Err(PasswordRejection::TooWeak { score, hint });
        }
        Ok(())
    }

    pub fn field_error(&self, field: &str, rejection: PasswordRejection) -> FieldError {
        match rejection {
            PasswordRejection::TooShort => {
                FieldError::new(field, "too_short", format!("must be at least {} characters", self.min_chars))
            }
            PasswordRejection::TooLong => {
                FieldError::new(field, "too_long", format!("must be at most {} characters", self.max_chars))
            }
            PasswordRejection::TooWeak { hint, .. } => FieldError::new(
                field,
                "too_weak",
                hint.map_or_else(|| "is too easy to guess".to_owned(), |h| format!("is too easy to guess: {h}")),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_long_and_guessable_passwords_are_rejected() {
        let policy = PasswordPolicy::default();
        assert_eq!(policy.check("Tr0ub4dor&3", &[]), Err(PasswordRejection::TooShort));
        assert_eq!(policy.check(&"x".repeat(129), &[]), Err(PasswordRejection::TooLong));
        assert!(matches!(policy.check("passwordpassword", &[]), Err(PasswordRejection::TooWeak { .. })));
        assert!(matches!(policy.check("123456789012", &[]), Err(PasswordRejection::TooWeak { .. })));
    }

    #[test]
    fn the_users_own_details_count_against_the_password() {
        let policy = PasswordPolicy::default();
        assert!(matches!(
            policy.check("jo.smith@example.com", &["jo.smith@example.com"]),
            Err(PasswordRejection::TooWeak { .. })
        ));
    }

    #[test]
    fn a_passphrase_is_accepted() {
        assert_eq!(PasswordPolicy::default().check("correct horse battery staple", &[]), Ok(()));
    }
}
