//! The pending half of an OAuth connection: between "initiate" and the provider's redirect back,
//! we keep the PKCE verifier under the hash of the `state`, for ten minutes, and let it be used
//! once.
//!
//! `state` alone does not prove who comes back: a stranger can start a flow on their own account
//! and send the genuine provider link to a victim, whose consent would then link the victim's
//! tracker to the stranger. So a pending authorization is bound to the party that started it: the
//! browser that called "initiate" (a random binding secret, in an HttpOnly cookie; only its hash is
//! stored) or, for the app's POST of the code, the signed-in user who started it. A callback from
//! anyone else is refused and changes nothing; the pending authorization stays for its owner.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use fittrack_domain::UserId;

use fittrack_platform::crypto::{PiiCipher, hash_token};
use fittrack_platform::ports::{Condition, ItemStore, Key, StoreError, Table, from_item, to_item};
use subtle::ConstantTimeEq;

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
    /// Hash of the browser binding secret handed to the initiating browser as a cookie.
    binding: String,
    /// Also the TTL attribute: the store drops abandoned authorizations by itself.
    expires_at: i64,
}

pub(super) struct Pending {
    pub user_id: UserId,
    pub pkce_verifier: String,
}

/// Who is completing an authorization.
#[derive(Debug, Clone)]
pub enum AuthorizingParty {
    /// A browser back from the provider, with the binding cookie it was given by "initiate"
    /// (none if it never started a flow here).
    Browser { binding: Option<String> },
    /// The app, posting the code with the signed-in user's bearer token.
    User(UserId),
}

/// Why a pending authorization cannot be taken.
pub(super) enum Refusal {
    /// Unknown, used, expired, or for another tracker.
    Invalid,
    /// It exists, but the caller is not the party that started it.
    NotBound,
}

fn key(state_hash: &str) -> Key {
    Key::new(format!("OAUTHSTATE#{state_hash}"), "OAUTHSTATE")
}

fn verifier_context(state_hash: &str) -> String {
    format!("oauth-state:{state_hash}:pkce")
}

/// An authorization being started: what its callback will need, and whom it is bound to.
pub(super) struct NewPending<'a> {
    pub user: UserId,
    pub provider: &'a str,
    pub state: &'a str,
    pub pkce_verifier: &'a str,
    /// The browser binding secret (see the module docs); only its hash is kept.
    pub binding: &'a str,
}

pub(super) async fn remember(
    store: &dyn ItemStore,
    cipher: &PiiCipher,
    new: NewPending<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let state_hash = hash_token(new.state);
    let key = key(&state_hash);
    let item = PendingItem {
        pk: key.pk,
        sk: key.sk,
        user_id: new.user,
        provider: new.provider.to_owned(),
        verifier: cipher.encrypt(new.pkce_verifier, &verifier_context(&state_hash)),
        binding: hash_token(new.binding),
        expires_at: (now + PENDING_TTL).timestamp(),
    };
    store.put(Table::Users, to_item(&item)?, Some(Condition::NotExists)).await
}

/// Takes the pending authorization for `state` (deleting it, so a replayed callback finds
/// nothing), if `party` is the one that started it. A refused party changes nothing.
pub(super) async fn take(
    store: &dyn ItemStore,
    cipher: &PiiCipher,
    provider: &str,
    state: &str,
    party: &AuthorizingParty,
    now: DateTime<Utc>,
) -> Result<Result<Pending, Refusal>, StoreError> {
    let state_hash = hash_token(state);
    let key = key(&state_hash);
    let Some(item) = store.get(Table::Users, &key).await? else {
        return Ok(Err(Refusal::Invalid));
    };
    let pending: PendingItem = from_item(item)?;
    if pending.provider != provider || pending.expires_at <= now.timestamp() {
        return Ok(Err(Refusal::Invalid));
    }
    let bound = match party {
        AuthorizingParty::Browser { binding: Some(binding) } => {
            bool::from(hash_token(binding).as_bytes().ct_eq(pending.binding.as_bytes()))
        }
        AuthorizingParty::Browser { binding: None } => false,
        AuthorizingParty::User(user) => *user == pending.user_id,
    };
    if !bound {
        return Ok(Err(Refusal::NotBound));
    }
    match store.delete(Table::Users, &key, Some(Condition::Exists)).await {
        Ok(()) => {}
        // A concurrent callback with the same state won the race.
        Err(StoreError::ConditionFailed) => return Ok(Err(Refusal::Invalid)),
        Err(e) => return Err(e),
    }
    let Ok(pkce_verifier) = cipher.decrypt(&pending.verifier, &verifier_context(&state_hash)) else {
        return Ok(Err(Refusal::Invalid));
    };
    Ok(Ok(Pending { user_id: pending.user_id, pkce_verifier }))
}
