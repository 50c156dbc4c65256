//! The pending half of an OAuth connection: between "initiate" and the provider's redirect back,
//! we keep the PKCE verifier under the hash of the `state`, for ten minutes, and let it be used
//! once. The `state` is the only thing the callback needs, so the browser redirect (which carries
//! no bearer token) and the app's POST of the code take the same path.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use fittrack_domain::UserId;

use crate::crypto::{PiiCipher, hash_token};
use crate::ports::{Condition, ItemStore, Key, StoreError, Table, from_item, to_item};

/// How long a user has to grant access at the provider.
pub(super) const PENDING_TTL: Duration = Duration::minutes(10);

#[derive(Debug, Serialize, Deserialize)]
struct PendingItem {
    pk: String,
    sk: String,
    user_id: UserId,
    provider: String,
    /// The PKCE verifier, sealed to this pending authorization.
    verifier: String,
    /// Also the TTL attribute: the store drops abandoned authorizations by itself.
    expires_at: i64,
}

pub(super) struct Pending {
    pub user_id: UserId,
    pub pkce_verifier: String,
}

fn key(state_hash: &str) -> Key {
    Key::new(format!("OAUTHSTATE#{state_hash}"), "OAUTHSTATE")
}

fn verifier_context(state_hash: &str) -> String {
    format!("oauth-state:{state_hash}:pkce")
}

pub(super) async fn remember(
    store: &dyn ItemStore,
    cipher: &PiiCipher,
    user: UserId,
    provider: &str,
    state: &str,
    pkce_verifier: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let state_hash = hash_token(state);
    let key = key(&state_hash);
    let item = PendingItem {
        pk: key.pk,
        sk: key.sk,
        user_id: user,
        provider: provider.to_owned(),
        verifier: cipher.encrypt(pkce_verifier, &verifier_context(&state_hash)),
        expires_at: (now + PENDING_TTL).timestamp(),
    };
    store.put(Table::Users, to_item(&item)?, Some(Condition::NotExists)).await
}

/// Takes the pending authorization for `state` (deleting it, so a replayed callback finds
/// nothing). `None` if it is unknown, used, expired or was started for another provider.
pub(super) async fn take(
    store: &dyn ItemStore,
    cipher: &PiiCipher,
    provider: &str,
    state: &str,
    now: DateTime<Utc>,
) -> Result<Option<Pending>, StoreError> {
    let state_hash = hash_token(state);
    let key = key(&state_hash);
    let Some(item) = store.get(Table::Users, &key).await? else {
        return Ok(None);
    };
    let pending: PendingItem = from_item(item)?;
    match store.delete(Table::Users, &key, Some(Condition::Exists)).await {
        Ok(()) => {}
        // A concurrent callback with the same state won the race.
        Err(StoreError::ConditionFailed) => return Ok(None),
        Err(e) => return Err(e),
    }
    if pending.provider != provider || pending.expires_at <= now.timestamp() {
        return Ok(None);
    }
    let Ok(pkce_verifier) = cipher.decrypt(&pending.verifier, &verifier_context(&state_hash)) else {
        return Ok(None);
    };
    Ok(Some(Pending { user_id: pending.user_id, pkce_verifier }))
}
