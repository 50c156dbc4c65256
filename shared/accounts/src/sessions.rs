use std::time::Duration;

use serde::Serialize;

use fittrack_domain::{EmailAddress, Role, UserId, ValidationErrors};

use super::records::{
    AccountRecord, EmailGuard, RefreshRecord, RefreshStatus, SessionRecord, account_key, email_key, load,
    login_failures_key, refresh_key, session_key,
};
use super::{AccountError, AccountService, ClientInfo, epoch, secs};
use crate::crypto::{AccessClaims, OpaqueToken, hash_token, jwt_constants};
use fittrack_platform::config::RateLimitedAction;
use fittrack_platform::ports::{Condition, ItemStore, Query, StoreError, Table, Update, WriteOp, to_item};

/// A session's tokens: a short-lived access token and the refresh token that renews it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    /// A JWT to send as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Single use: `POST /api/v1/auth/refresh` exchanges it for a new pair.
    pub refresh_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// The caller of an authenticated request, after the session was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedUser {
    pub user_id: UserId,
    pub session_id: String,
    pub role: Role,
}

impl AccountService {
    /// Signs in with email and password.
    ///
    /// Sign-in attempts are counted per email address (known or not, so the lockout does not
    /// reveal which addresses have accounts) *before* the password is checked, so concurrent
    /// guesses cannot slip past the limit; a right password clears the count, the limit's worth
    /// of wrong ones locks the address for the lockout period.
    ///
    /// A stranger can keep an address locked, so the mailbox owner can sign in past the lock with
    /// an emailed single-use link ([`AccountService::request_unlock`]): `unlock_token` skips the
    /// attempt count and is spent by the attempt, right or wrong.
    ///
    /// # Errors
    /// [`AccountError::RateLimited`] past the client's limit, or while the address's remaining attempts are
    /// all in flight; [`AccountError::Validation`] for a malformed address; [`AccountError::InvalidToken`] for
    /// an unlock token that is bad or not the address's; [`AccountError::AccountLocked`] while the address is
    /// locked or when this wrong password spent its last attempt; [`AccountError::InvalidCredentials`] for a
    /// wrong pair; [`AccountError::EmailNotVerified`]; [`AccountError::Internal`] when signing fails; store
    /// failures.
    pub async fn login(
        &self,
        email: &str,
        password: String,
        unlock_token: Option<&str>,
        client: &ClientInfo,
    ) -> Result<TokenPair, AccountError> {
        self.rate_limit(RateLimitedAction::Login, client).await?;
        let email = EmailAddress::parse(email).map_err(ValidationErrors::single)?;
        let email_hash = self.email_hash(&email.canonical());
        match unlock_token {
            Some(token) => self.spend_unlock_token(token, &email_hash).await?,
            None => self.reserve_login_attempt(&email_hash).await?,
        }

        // An unknown address reads a (missing) account too: the same store work either way.
        let guard = load::<EmailGuard>(self.store.as_ref(), &email_key(&email_hash)).await?;
        let user = guard.map_or_else(UserId::generate, |g| g.user_id);
        let account = load::<AccountRecord>(self.store.as_ref(), &account_key(user)).await?;
        let stored_hash = account.as_ref().and_then(|a| a.password_hash.clone());
        if !self.passwords.verify(password, stored_hash).await {
            return Err(self.lock_if_spent(&email_hash).await);
        }
        // verify() only succeeds against a real stored hash, so the account exists.
        let account = account.ok_or(AccountError::InvalidCredentials)?;
        self.store.delete(Table::Users, &login_failures_key(&email_hash), None).await?;
        if !account.email_verified {
            return Err(AccountError::EmailNotVerified);
        }
        super::require_usable(&account)?;
        let pair = self.start_session(account.user_id, account.role).await?;
        self.count_active(account.user_id).await;
        tracing::info!(user_id = %account.user_id, "signed in");
        Ok(pair)
    }

    /// Emails the account's owner a single-use link to sign in past a lockout. Answers the same
    /// whether or not the address has an account.
    ///
    /// # Errors
    /// [`AccountError::RateLimited`]; store and queue failures.
    pub async fn request_unlock(&self, email: &str, client: &ClientInfo) -> Result<(), AccountError> {
        self.rate_limit(RateLimitedAction::Unlock, client).await?;
        self.with_response_floor(async {
            let Some(account) = self.account_by_email(email).await? else { return Ok(()) };
            let token = self.issue_one_time_token(account.id, super::records::OneTimePurpose::Unlock).await?;
            let link = self.link("unlock", &token);
            tracing::info!(user_id = %account.id, "sign-in link past a lockout requested");
            let job = fittrack_platform::messages::EmailJob::new(
                fittrack_platform::messages::EmailTemplate::Unlock,
                account.email,
                account.display_name,
                link,
            );
            self.enqueue(&job).await
        })
        .await
    }

    /// Spends an unlock link, which must belong to the address signing in.
    async fn spend_unlock_token(&self, token: &str, email_hash: &str) -> Result<(), AccountError> {
        let record = self.find_one_time_token(token, super::records::OneTimePurpose::Unlock).await?;
        let guard = load::<EmailGuard>(self.store.as_ref(), &email_key(email_hash)).await?;
        if guard.is_none_or(|g| g.user_id != record.user_id) {
            return Err(AccountError::InvalidToken);
        }
        // Like every emailed link, it dies with a password reset after it was issued.
        let unreset = WriteOp::Check {
            table: Table::Users,
            key: account_key(record.user_id),
            condition: super::records::same_token_generation(record.generation),
        };
        match self.store.transact(vec![Self::consume_token_op(token), unreset]).await {
            Ok(()) => Ok(()),
            Err(StoreError::TransactionCancelled { .. }) => Err(AccountError::InvalidToken),
            Err(e) => Err(e.into()),
        }
    }

    /// Counts one attempt against the address, atomically, or refuses it when the address is
    /// locked or its attempts in this window are spent.
    async fn reserve_login_attempt(&self, email_hash: &str) -> Result<(), AccountError> {
        let key = login_failures_key(email_hash);
        let now = epoch(self.now());
        let fresh_window =
            Update::new().set("attempts", 1).set("expires_at", now + secs(self.policy.lockout)).remove("locked_until");
        // No counter, or its window (or lock) is over: start afresh.
        let expired = Condition::Or(vec![Condition::NotExists, Condition::less_than("expires_at", now + 1)]);
        match self.store.update(Table::Users, &key, fresh_window, Some(expired)).await {
            Err(StoreError::ConditionFailed) => {}
            other => return other.map(|_| ()).map_err(Into::into),
        }
        let open = Condition::And(vec![
            Condition::missing("locked_until"),
            Condition::less_than("attempts", self.policy.max_failed_logins),
        ]);
        match self.store.update(Table::Users, &key, Update::new().add("attempts", 1), Some(open)).await {
            Ok(_) => Ok(()),
            Err(StoreError::ConditionFailed) => {
                let item = self.store.get(Table::Users, &key).await?;
                match item.as_ref().and_then(|i| i.get("locked_until")?.as_i64()) {
                    Some(until) => Err(AccountError::AccountLocked {
                        retry_after: Duration::from_secs(until.saturating_sub(now).max(1) as u64),
                    }),
                    // Not locked: the window's attempts are all in flight right now. Try again in
                    // a moment, when they have been answered.
                    None => Err(AccountError::RateLimited(fittrack_platform::ratelimit::RateDecision {
                        allowed: false,
                        limit: u32::try_from(self.policy.max_failed_logins).unwrap_or(u32::MAX),
                        remaining: 0,
                        reset_after: Duration::from_secs(1),
                    })),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// After a wrong password: locks the address when this was the last attempt of the window,
    /// and returns the error to answer with.
    async fn lock_if_spent(&self, email_hash: &str) -> AccountError {
        let key = login_failures_key(email_hash);
        let now = epoch(self.now());
        let until = now + secs(self.policy.lockout);
        let lock = Update::new().set("locked_until", until).set("expires_at", until);
        let spent = Condition::at_least("attempts", self.policy.max_failed_logins);
        match self.store.update(Table::Users, &key, lock, Some(spent)).await {
            Ok(_) => {
                tracing::warn!("login locked after repeated failed passwords");
                AccountError::AccountLocked { retry_after: self.policy.lockout }
            }
            Err(StoreError::ConditionFailed) => AccountError::InvalidCredentials,
            Err(e) => e.into(),
        }
    }

    /// Opens a session (a refresh-token family) and issues its first tokens.
    pub(super) async fn start_session(&self, user_id: UserId, role: Role) -> Result<TokenPair, AccountError> {
        let now = epoch(self.now());
        let session_id = uuid::Uuid::new_v4().to_string();
        let expires_at = now + secs(self.policy.refresh_token_ttl);
        let key = session_key(user_id, &session_id);
        let session = SessionRecord {
            pk: key.pk,
            sk: key.sk,
            session_id: session_id.clone(),
            user_id,
            revoked: false,
            created_at: now,
            expires_at,
        };
        let refresh = OpaqueToken::generate();
        let rkey = refresh_key(&refresh.hash);
        let refresh_record = RefreshRecord {
            pk: rkey.pk,
            sk: rkey.sk,
            user_id,
            session_id: session_id.clone(),
            status: RefreshStatus::Active,
            expires_at,
        };
        self.store
            .transact(vec![
                WriteOp::Put { table: Table::Users, item: to_item(&session)?, condition: Some(Condition::NotExists) },
                WriteOp::Put {
                    table: Table::Users,
                    item: to_item(&refresh_record)?,
                    condition: Some(Condition::NotExists),
                },
            ])
            .await?;
        self.tokens(user_id, &session_id, role, refresh.secret)
    }

    fn tokens(
        &self,
        user_id: UserId,
        session_id: &str,
        role: Role,
        refresh_token: String,
    ) -> Result<TokenPair, AccountError> {
        let now = epoch(self.now());
        let ttl = self.policy.access_token_ttl;
        let claims = AccessClaims {
            sub: user_id.to_string(),
            sid: session_id.to_owned(),
            role,
            iat: now,
            exp: now + secs(ttl),
            iss: jwt_constants::ISSUER.to_owned(),
            aud: jwt_constants::AUDIENCE.to_owned(),
        };
        let access_token = self.auth.jwt().sign(&claims).map_err(|e| AccountError::Internal(e.to_string()))?;
        Ok(TokenPair { access_token, refresh_token, token_type: "Bearer", expires_in: ttl.as_secs() })
    }

    /// Exchanges a refresh token for a new pair. The old token is rotated out; if a rotated token
    /// is ever presented again, someone holds a stolen copy, so the whole session is revoked.
    ///
    /// # Errors
    /// [`AccountError::InvalidRefreshToken`] for an unknown or expired token, or one whose session or account
    /// is gone or revoked; [`AccountError::RefreshTokenReused`] for a rotated token presented again (the
    /// session is then revoked); [`AccountError::Internal`] when signing fails; store failures.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, AccountError> {
        let old_key = refresh_key(&hash_token(refresh_token));
        let record: RefreshRecord =
            load(self.store.as_ref(), &old_key).await?.ok_or(AccountError::InvalidRefreshToken)?;
        let now = epoch(self.now());
        if record.expires_at <= now {
            return Err(AccountError::InvalidRefreshToken);
        }
        if record.status == RefreshStatus::Rotated {
            return Err(self.reuse_detected(&record).await);
        }
        let session: SessionRecord = load(self.store.as_ref(), &session_key(record.user_id, &record.session_id))
            .await?
            .ok_or(AccountError::InvalidRefreshToken)?;
        if session.revoked || session.expires_at <= now {
            return Err(AccountError::InvalidRefreshToken);
        }
        let account: AccountRecord =
            load(self.store.as_ref(), &account_key(record.user_id)).await?.ok_or(AccountError::InvalidRefreshToken)?;
        if !account.status.is_usable() {
            return Err(AccountError::InvalidRefreshToken);
        }

        let next = OpaqueToken::generate();
        let next_key = refresh_key(&next.hash);
        let next_record =
            RefreshRecord { pk: next_key.pk, sk: next_key.sk, status: RefreshStatus::Active, ..record.clone() };
        let ops = vec![
            WriteOp::Update {
                table: Table::Users,
                key: old_key,
                update: Update::new().set("status", serde_json::json!(RefreshStatus::Rotated)),
                condition: Some(Condition::equals("status", serde_json::json!(RefreshStatus::Active))),
            },
            WriteOp::Put { table: Table::Users, item: to_item(&next_record)?, condition: Some(Condition::NotExists) },
            WriteOp::Check {
                table: Table::Users,
                key: session_key(record.user_id, &record.session_id),
                condition: Condition::equals(SessionRecord::REVOKED, false),
            },
        ];
        match self.store.transact(ops).await {
            Ok(()) => {
                self.count_active(record.user_id).await;
                self.tokens(record.user_id, &record.session_id, account.role, next.secret)
            }
            // A concurrent refresh with the same token won the race: this one is the reuse.
            Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => {
                Err(self.reuse_detected(&record).await)
            }
            Err(StoreError::TransactionCancelled { .. }) => Err(AccountError::InvalidRefreshToken),
            Err(e) => Err(e.into()),
        }
    }

    /// Counts the user among today's and this month's active users; a failure only undercounts.
    pub(crate) async fn count_active(&self, user: UserId) {
        if let Err(error) = fittrack_analytics::active::record_active(self.store.as_ref(), user, self.now()).await {
            tracing::warn!(%error, "active user not counted");
        }
    }

    async fn reuse_detected(&self, record: &RefreshRecord) -> AccountError {
        tracing::warn!(user_id = %record.user_id, "refresh token reuse detected; revoking the session");
        match self.revoke_session(record.user_id, &record.session_id).await {
            Ok(()) => AccountError::RefreshTokenReused,
            Err(e) => e,
        }
    }

    async fn revoke_session(&self, user_id: UserId, session_id: &str) -> Result<(), AccountError> {
        let update = Update::new().set(SessionRecord::REVOKED, true);
        match self.store.update(Table::Users, &session_key(user_id, session_id), update, Some(Condition::Exists)).await
        {
            Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Ends the caller's session, and the session of `refresh_token` if it is another of theirs.
    ///
    /// # Errors
    /// [`AccountError::Store`] when a session cannot be read or revoked.
    pub async fn logout(&self, caller: &AuthenticatedUser, refresh_token: Option<&str>) -> Result<(), AccountError> {
        self.revoke_session(caller.user_id, &caller.session_id).await?;
        let other = match refresh_token {
            Some(token) => load::<RefreshRecord>(self.store.as_ref(), &refresh_key(&hash_token(token))).await?,
            None => None,
        };
        if let Some(record) = other.filter(|r| r.user_id == caller.user_id && r.session_id != caller.session_id) {
            self.revoke_session(record.user_id, &record.session_id).await?;
        }
        tracing::info!(user_id = %caller.user_id, "signed out");
        Ok(())
    }

    /// Ends every session of the user.
    ///
    /// # Errors
    /// [`AccountError::Store`] when the sessions cannot be listed, read or revoked; the sessions revoked
    /// before the failure stay revoked.
    pub async fn logout_all(&self, user_id: UserId) -> Result<u32, AccountError> {
        revoke_all_sessions(self.store.as_ref(), user_id).await
    }
}

/// Ends every session of `user`: their access tokens stop working at the next request, their
/// refresh tokens at once (what logging out everywhere, a suspension and a ban do).
///
/// # Errors
/// [`AccountError::Store`] when the sessions cannot be listed or revoked; the sessions revoked
/// before the failure stay revoked.
pub async fn revoke_all_sessions(store: &dyn ItemStore, user_id: UserId) -> Result<u32, AccountError> {
    let mut revoked = 0;
    let mut cursor = None;
    loop {
        let page = store
            .query(
                Query::partition(Table::Users, fittrack_platform::keys::user_partition(user_id))
                    .sort_prefix(super::records::SESSION_PREFIX)
                    .limit(100)
                    .after(cursor),
            )
            .await?;
        for item in page.items {
            let session: SessionRecord = fittrack_platform::ports::from_item(item)?;
            if !session.revoked {
                let update = Update::new().set(SessionRecord::REVOKED, true);
                let key = session_key(user_id, &session.session_id);
                match store.update(Table::Users, &key, update, Some(Condition::Exists)).await {
                    Ok(_) | Err(StoreError::ConditionFailed) => revoked += 1,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    tracing::info!(user_id = %user_id, sessions = revoked, "all sessions revoked");
    Ok(revoked)
}
