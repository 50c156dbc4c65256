//! Provider tokens at rest: serialised and sealed with AES-256-GCM, the user and provider bound in
//! as associated data, so a sealed grant copied onto another connection does not open.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use fittrack_domain::UserId;

use fittrack_platform::crypto::PiiCipher;
use fittrack_platform::ports::ProviderTokens;

#[derive(Serialize, Deserialize)]
struct Plain {
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    provider_user_id: Option<String>,
}

fn context(user: UserId, provider: &str) -> String {
    format!("user:{user}:tracker:{provider}:tokens")
}

pub(super) fn seal(cipher: &PiiCipher, user: UserId, provider: &str, tokens: &ProviderTokens) -> String {
    let plain = Plain {
        access_token: tokens.access_token.expose_secret().to_owned(),
        refresh_token: tokens.refresh_token.as_ref().map(|t| t.expose_secret().to_owned()),
        expires_at: tokens.expires_at,
        provider_user_id: tokens.provider_user_id.clone(),
    };
    // Serialising plain strings and timestamps cannot fail.
    let json = serde_json::to_string(&plain).unwrap_or_default();
    cipher.encrypt(&json, &context(user, provider))
}

pub(super) fn open(cipher: &PiiCipher, user: UserId, provider: &str, sealed: &str) -> Option<ProviderTokens> {
    let json = cipher.decrypt(sealed, &context(user, provider)).ok()?;
    let plain: Plain = serde_json::from_str(&json).ok()?;
    Some(ProviderTokens {
        access_token: SecretString::from(plain.access_token),
        refresh_token: plain.refresh_token.map(SecretString::from),
        expires_at: plain.expires_at,
        provider_user_id: plain.provider_user_id,
    })
}

/// A refresh keeps the old refresh token when the provider does not send a new one (Google
/// rotates only sometimes) and keeps the provider's user id, which only the first exchange names.
pub(super) fn merge_refreshed(old: &ProviderTokens, new: ProviderTokens) -> ProviderTokens {
    ProviderTokens {
        refresh_token: new.refresh_token.or_else(|| old.refresh_token.clone()),
        provider_user_id: new.provider_user_id.or_else(|| old.provider_user_id.clone()),
        ..new
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fittrack_platform::crypto::generate_pii_key;

    fn tokens() -> ProviderTokens {
        ProviderTokens {
            access_token: "access-1".to_owned().into(),
            refresh_token: Some("refresh-1".to_owned().into()),
            expires_at: Some(Utc::now()),
            provider_user_id: Some("athlete-7".into()),
        }
    }

    #[test]
    fn sealed_tokens_open_only_for_their_user_and_provider() {
        let cipher = PiiCipher::from_master_key(&generate_pii_key()).unwrap();
        let (alice, bob) = (UserId::generate(), UserId::generate());
        let sealed = seal(&cipher, alice, "strava", &tokens());
        assert!(!sealed.contains("access-1") && !sealed.contains("refresh-1"));
        let opened = open(&cipher, alice, "strava", &sealed).unwrap();
        assert_eq!(opened.access_token.expose_secret(), "access-1");
        assert_eq!(opened.provider_user_id.as_deref(), Some("athlete-7"));
        assert!(open(&cipher, bob, "strava", &sealed).is_none());
        assert!(open(&cipher, alice, "google_health", &sealed).is_none());
    }

    #[test]
    fn refresh_keeps_what_the_provider_did_not_resend() {
        let new = ProviderTokens {
            access_token: "access-2".to_owned().into(),
            refresh_token: None,
            expires_at: None,
            provider_user_id: None,
        };
        let merged = merge_refreshed(&tokens(), new);
        assert_eq!(merged.access_token.expose_secret(), "access-2");
        assert_eq!(merged.refresh_token.unwrap().expose_secret(), "refresh-1");
        assert_eq!(merged.provider_user_id.as_deref(), Some("athlete-7"));
    }
}
