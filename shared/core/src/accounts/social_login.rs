use serde::Deserialize;

use fittrack_domain::{EmailAddress, Role, UserId};

use super::records::{AccountRecord, EmailGuard, SocialLink, account_key, email_key, load, social_key};
use super::registration::AccountDraft;
use super::{AccountError, AccountService, ClientInfo, TokenPair};
use crate::config::RateLimitedAction;
use crate::ports::{Condition, StoreError, Table, Update, WriteOp, to_item};
use crate::social::{SocialError, SocialIdentity, SocialProvider};

#[derive(Debug, Clone, Deserialize)]
pub struct SocialLoginRequest {
    pub id_token: String,
    /// The nonce the app put in the authorization request; the token must carry it.
    pub nonce: String,
    /// Needed only the first time, to create the account.
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub date_of_birth: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
}

/// Whether the sign-in created an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocialOutcome {
    SignedIn,
    Created,
}

impl AccountService {
    /// Signs in with a Google or Apple ID token: an account already linked to the provider's
    /// subject signs in; otherwise an account with the same provider-verified email is linked;
    /// otherwise a new, verified account is created from the registration details in the request.
    pub async fn social_login(
        &self,
        provider: SocialProvider,
        request: SocialLoginRequest,
        client: &ClientInfo,
    ) -> Result<(TokenPair, SocialOutcome), AccountError> {
        self.rate_limit(RateLimitedAction::Login, client).await?;
        let identity = self.verifier(provider).verify(&request.id_token, &request.nonce).await?;
        let link_key = social_key(provider.name(), &identity.subject);

        if let Some(link) = load::<SocialLink>(self.store.as_ref(), &link_key).await? {
            let account: AccountRecord =
                load(self.store.as_ref(), &account_key(link.user_id)).await?.ok_or(AccountError::NotFound)?;
            return Ok((self.start_session(account.user_id, account.role).await?, SocialOutcome::SignedIn));
        }

        let email = match (&identity.email, identity.email_verified) {
            (Some(email), true) => {
                EmailAddress::parse(email).map_err(|_| SocialError::Rejected("unusable email".into()))?
            }
            _ => return Err(SocialError::Rejected("the provider did not verify an email address".into()).into()),
        };
        let email_hash = self.email_hash(&email.canonical());
        if let Some(guard) = load::<EmailGuard>(self.store.as_ref(), &email_key(&email_hash)).await? {
            let role = self.link_existing(&identity, guard.user_id).await?;
            return Ok((self.start_session(guard.user_id, role).await?, SocialOutcome::SignedIn));
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
        Ok((self.start_session(user_id, Role::User).await?, SocialOutcome::Created))
    }

    /// Links the provider identity to an account with the same (provider-verified) email.
    ///
    /// If that account never verified its address, whoever set its password never proved they own
    /// the mailbox (a pre-registration takeover attempt), so the password is removed and its
    /// sessions revoked; the mailbox owner can set a password later through a reset.
    async fn link_existing(&self, identity: &SocialIdentity, user_id: UserId) -> Result<Role, AccountError> {
        let account: AccountRecord =
            load(self.store.as_ref(), &account_key(user_id)).await?.ok_or(AccountError::NotFound)?;
        let mut update = Update::new().set("email_verified", true);
        if !account.email_verified {
            update = update.remove("password_hash");
        }
        let link_key = social_key(identity.provider.name(), &identity.subject);
        let link = SocialLink { pk: link_key.pk, sk: link_key.sk, user_id };
        let ops = vec![
            WriteOp::Put { table: Table::Users, item: to_item(&link)?, condition: Some(Condition::NotExists) },
            WriteOp::Update {
                table: Table::Users,
                key: account_key(user_id),
                update,
                condition: Some(Condition::Exists),
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
}
