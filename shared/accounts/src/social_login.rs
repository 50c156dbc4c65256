use serde::Deserialize;

use fittrack_domain::{EmailAddress, Role, UserId};

use super::records::{AccountRecord, EmailGuard, SocialLink, account_key, email_key, load, nonce_key, social_key};
use super::registration::AccountDraft;
use super::{AccountError, AccountService, ClientInfo, TokenPair};
use crate::social::{SocialError, SocialIdentity, SocialProvider};
use fittrack_platform::config::RateLimitedAction;
use fittrack_platform::ports::{Condition, StoreError, Table, Update, WriteOp, to_item};

/// A Google or Apple sign-in (or link): the provider's ID token and the nonce it carries.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SocialLoginRequest {
    /// The ID token (a JWT) the provider issued to the app.
    pub id_token: String,
    /// A nonce from `POST /api/v1/auth/social/nonce` that the app put in the authorization
    /// request; the token must carry it, and it works once.
    pub nonce: String,
    /// Needed only the first time, to create the account.
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub date_of_birth: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    /// Linking to a signed-in account that has a password: the password, again (a stolen access
    /// token alone must not be able to plant a lasting way in).
    #[serde(default)]
    pub password: Option<String>,
}

/// Whether the sign-in created an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocialOutcome {
    SignedIn,
    Created,
}

/// How long an issued sign-in nonce stays usable.
pub const NONCE_TTL_SECS: i64 = 600;

impl AccountService {
    /// A fresh nonce for one Google or Apple sign-in: the app puts it in the authorization request
    /// and sends it back with the ID token. Issued here and usable once, so a captured ID token
    /// cannot be replayed.
    ///
    /// # Errors
    /// [`AccountError::RateLimited`]; store failures.
    pub async fn issue_social_nonce(&self, client: &ClientInfo) -> Result<(String, i64), AccountError> {
        self.rate_limit(RateLimitedAction::SocialNonce, client).await?;
        let nonce = crate::crypto::OpaqueToken::generate();
        let key = nonce_key(&nonce.hash);
        let expires_at = super::epoch(self.now()) + NONCE_TTL_SECS;
        let item = serde_json::json!({"pk": key.pk, "sk": key.sk, "expires_at": expires_at});
        self.store.put(Table::Users, to_item(&item)?, Some(Condition::NotExists)).await?;
        Ok((nonce.secret, NONCE_TTL_SECS))
    }

    /// Takes an issued nonce (once; expired ones are refused even before the store drops them).
    async fn take_nonce(&self, nonce: &str) -> Result<(), AccountError> {
        let unexpired =
            Condition::And(vec![Condition::Exists, Condition::at_least("expires_at", super::epoch(self.now()))]);
        match self.store.delete(Table::Users, &nonce_key(&crate::crypto::hash_token(nonce)), Some(unexpired)).await {
            Ok(()) => Ok(()),
            Err(StoreError::ConditionFailed) => {
                Err(SocialError::Rejected("nonce unknown, used or expired".into()).into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Signs in with a Google or Apple ID token: an account already linked to the provider's
    /// subject signs in; otherwise an account with the same address is linked only if nothing
    /// but that address protects it (it has no password, or never verified its address: a
    /// pre-registration takeover attempt) and the provider is authoritative for the address; an
    /// account with a password answers [`AccountError::LinkRequired`]: sign in with the password,
    /// then link ([`AccountService::link_social`]). Otherwise a new, verified account is created
    /// from the registration details in the request.
    ///
    /// # Errors
    /// [`AccountError::RateLimited`]; [`AccountError::Social`] for a token or nonce that does not
    /// verify, or a token without a verified address; `LinkRequired`; [`AccountError::Validation`]
    /// for a first sign-in without registration details; [`AccountError::AlreadyExists`] when a
    /// concurrent sign-up of the same address or identity won (retry); store failures.
    pub async fn social_login(
        &self,
        provider: SocialProvider,
        request: SocialLoginRequest,
        client: &ClientInfo,
    ) -> Result<(TokenPair, SocialOutcome), AccountError> {
        self.rate_limit(RateLimitedAction::Login, client).await?;
        self.take_nonce(&request.nonce).await?;
        let identity = self.verifier(provider).verify(&request.id_token, &request.nonce).await?;
        let link_key = social_key(provider.name(), &identity.subject);

        if let Some(link) = load::<SocialLink>(self.store.as_ref(), &link_key).await? {
            let account: AccountRecord =
                load(self.store.as_ref(), &account_key(link.user_id)).await?.ok_or(AccountError::NotFound)?;
            super::require_usable(&account)?;
            let tokens = self.start_session(account.user_id, account.role).await?;
            self.count_active(account.user_id).await;
            return Ok((tokens, SocialOutcome::SignedIn));
        }

        let email = match (&identity.email, identity.email_verified) {
            (Some(email), true) => {
                EmailAddress::parse(email).map_err(|_| SocialError::Rejected("unusable email".into()))?
            }
            _ => return Err(SocialError::Rejected("the provider did not verify an email address".into()).into()),
        };
        let email_hash = self.email_hash(&email.canonical());
        if let Some(guard) = load::<EmailGuard>(self.store.as_ref(), &email_key(&email_hash)).await? {
            let account: AccountRecord =
                load(self.store.as_ref(), &account_key(guard.user_id)).await?.ok_or(AccountError::NotFound)?;
            let protected_otherwise = account.email_verified && account.password_hash.is_some();
            if protected_otherwise || !identity.email_authoritative {
                tracing::info!(user_id = %guard.user_id, provider = provider.name(), "social sign-in needs a linking sign-in");
                return Err(AccountError::LinkRequired);
            }
            super::require_usable(&account)?;
            let role = self.link_existing(&identity, account).await?;
            let tokens = self.start_session(guard.user_id, role).await?;
            self.count_active(guard.user_id).await;
            return Ok((tokens, SocialOutcome::SignedIn));
        }

        let valid = self.validate_profile(
            Some(email.as_str()),
            request.display_name.as_deref(),
            request.date_of_birth.as_deref(),
            request.state.as_deref(),
        )?;
        let user_id = UserId::generate();
        let record = self.new_account_record(AccountDraft {
            user_id,
            email: &valid.email,
            display_name: &valid.display_name,
            date_of_birth: Some(valid.date_of_birth),
            state: Some(valid.state),
            role: Role::User,
            email_verified: true,
            password_hash: None,
        });
        let mut ops = self.create_account_ops(&record)?;
        let link = SocialLink { pk: link_key.pk, sk: link_key.sk, user_id };
        ops.push(WriteOp::Put { table: Table::Users, item: to_item(&link)?, condition: Some(Condition::NotExists) });
        match self.store.transact(ops).await {
            Ok(()) => {}
            // Raced with a concurrent sign-up of the same address or subject: let the client retry.
            Err(StoreError::TransactionCancelled { .. }) => return Err(AccountError::AlreadyExists),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(user_id = %user_id, provider = provider.name(), "account created through social sign-in");
        let tokens = self.start_session(user_id, Role::User).await?;
        self.count_active(user_id).await;
        Ok((tokens, SocialOutcome::Created))
    }

    /// Links the provider identity to an account with the same (provider-verified) email.
    ///
    /// If that account never verified its address, whoever set its password never proved they own
    /// the mailbox (a pre-registration takeover attempt), so the password is removed and its
    /// sessions revoked; the mailbox owner can set a password later through a reset.
    async fn link_existing(&self, identity: &SocialIdentity, account: AccountRecord) -> Result<Role, AccountError> {
        let user_id = account.user_id;
        let mut update = Update::new().set(AccountRecord::EMAIL_VERIFIED, true);
        if !account.email_verified {
            update = update.remove(AccountRecord::PASSWORD_HASH);
        }
        let link_key = social_key(identity.provider.name(), &identity.subject);
        let link = SocialLink { pk: link_key.pk, sk: link_key.sk, user_id };
        let ops = vec![
            WriteOp::Put { table: Table::Users, item: to_item(&link)?, condition: Some(Condition::NotExists) },
            WriteOp::Update {
                table: Table::Users,
                key: account_key(user_id),
                update,
                // Still as read: whether the password goes depends on `email_verified`.
                condition: Some(Condition::equals(AccountRecord::EMAIL_VERIFIED, account.email_verified)),
            },
        ];
        self.store.transact(ops).await.map_err(|e| match e {
            StoreError::TransactionCancelled { .. } => AccountError::AlreadyExists,
            other => other.into(),
        })?;
        if !account.email_verified {
            self.logout_all(user_id).await?;
        }
        tracing::info!(user_id = %user_id, provider = identity.provider.name(), "social identity linked");
        Ok(account.role)
    }

    /// Links a Google or Apple identity to the signed-in user's account. An account with a
    /// password must give it again: a stolen access token alone cannot plant a lasting way in.
    /// The identity must not be linked to anyone yet.
    ///
    /// # Errors
    /// [`AccountError::InvalidCredentials`] without the account's password;
    /// [`AccountError::Social`] for a token or nonce that does not verify;
    /// [`AccountError::AlreadyExists`] when the identity is linked already; store failures.
    pub async fn link_social(
        &self,
        caller: &super::AuthenticatedUser,
        provider: SocialProvider,
        request: SocialLoginRequest,
    ) -> Result<(), AccountError> {
        let account: AccountRecord =
            load(self.store.as_ref(), &account_key(caller.user_id)).await?.ok_or(AccountError::NotFound)?;
        if let Some(hash) = account.password_hash {
            let given = request.password.clone().unwrap_or_default();
            if !self.passwords.verify(given, Some(hash)).await {
                return Err(AccountError::InvalidCredentials);
            }
        }
        self.take_nonce(&request.nonce).await?;
        let identity = self.verifier(provider).verify(&request.id_token, &request.nonce).await?;
        let link_key = social_key(provider.name(), &identity.subject);
        let link = SocialLink { pk: link_key.pk, sk: link_key.sk, user_id: caller.user_id };
        match self.store.put(Table::Users, to_item(&link)?, Some(Condition::NotExists)).await {
            Ok(()) => {
                tracing::info!(user_id = %caller.user_id, provider = provider.name(), "social identity linked");
                Ok(())
            }
            Err(StoreError::ConditionFailed) => Err(AccountError::AlreadyExists),
            Err(e) => Err(e.into()),
        }
    }
}
