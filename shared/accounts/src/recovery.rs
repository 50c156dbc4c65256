use fittrack_domain::ValidationErrors;

use super::records::{AccountRecord, OneTimePurpose, account_key, load, login_failures_key, same_token_generation};
use super::{AccountError, AccountService, ClientInfo};
use fittrack_platform::config::RateLimitedAction;
use fittrack_platform::messages::{EmailJob, EmailTemplate};
use fittrack_platform::ports::{StoreError, Table, Update, WriteOp};

impl AccountService {
    /// Emails a reset link if the address has an account. Answers the same either way.
    ///
    /// # Errors
    /// [`AccountError::RateLimited`]; [`AccountError::Validation`] for a malformed address; store and queue
    /// failures.
    pub async fn forgot_password(&self, email: &str, client: &ClientInfo) -> Result<(), AccountError> {
        self.rate_limit(RateLimitedAction::ForgotPassword, client).await?;
        self.with_response_floor(async {
            let Some(account) = self.account_by_email(email).await? else { return Ok(()) };
            let token = self.issue_one_time_token(account.id, OneTimePurpose::ResetPassword).await?;
            let link = self.link("reset-password", &token);
            tracing::info!(user_id = %account.id, "password reset requested");
            self.enqueue(&EmailJob::new(EmailTemplate::PasswordReset, account.email, account.display_name, link)).await
        })
        .await
    }

    /// Sets a new password with a reset token. The token is consumed in the same transaction as
    /// the password change; every session is revoked and the lockout cleared. Proving control of
    /// the mailbox also verifies the address.
    ///
    /// # Errors
    /// [`AccountError::RateLimited`]; [`AccountError::InvalidToken`] for an unknown, used or expired token, or
    /// one a later reset made stale; [`AccountError::Validation`] for a password the policy rejects (the token
    /// is kept); [`AccountError::Internal`] when hashing fails; store and queue failures.
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: String,
        client: &ClientInfo,
    ) -> Result<(), AccountError> {
        self.rate_limit(RateLimitedAction::ResetPassword, client).await?;
        let record = self.find_one_time_token(token, OneTimePurpose::ResetPassword).await?;
        let account_record: AccountRecord =
            load(self.store.as_ref(), &account_key(record.user_id)).await?.ok_or(AccountError::InvalidToken)?;
        let account = account_record.decrypt(&self.pii)?;
        // Checked before the token is consumed, so a weak choice does not burn the link.
        self.policy
            .password
            .check(&new_password, &[&account.email, &account.display_name])
            .map_err(|rejection| ValidationErrors::single(self.policy.password.field_error("password", rejection)))?;
        let hash = self.passwords.hash(new_password).await.map_err(|e| AccountError::Internal(e.to_string()))?;
        let ops = vec![
            Self::consume_token_op(token),
            WriteOp::Update {
                table: Table::Users,
                key: account_key(record.user_id),
                // Every other link issued before this reset stops working.
                update: Update::new()
                    .set(AccountRecord::PASSWORD_HASH, hash)
                    .set(AccountRecord::EMAIL_VERIFIED, true)
                    .add(AccountRecord::TOKEN_GENERATION, 1),
                condition: Some(same_token_generation(record.generation)),
            },
            WriteOp::Delete {
                table: Table::Users,
                key: login_failures_key(&account_record.email_hash),
                condition: None,
            },
        ];
        match self.store.transact(ops).await {
            Ok(()) => {}
            Err(StoreError::TransactionCancelled { .. }) => return Err(AccountError::InvalidToken),
            Err(e) => return Err(e.into()),
        }
        self.logout_all(record.user_id).await?;
        tracing::info!(user_id = %record.user_id, "password reset");
        let link = format!("{}/forgot-password", self.policy.app_url);
        self.enqueue(&EmailJob::new(EmailTemplate::PasswordChanged, account.email, account.display_name, link)).await
    }
}
