use serde::Deserialize;

use fittrack_domain::{DateOfBirth, DisplayName, EmailAddress, Role, UsState, UserId, ValidationErrors};

use super::records::{
    ACCOUNTS_INDEX_PARTITION, AccountRecord, EmailGuard, OneTimePurpose, OneTimeRecord, account_key, dob_context,
    email_context, email_key, load, one_time_key, same_token_generation,
};
use super::{AccountError, AccountService, ClientInfo, epoch, secs};
use crate::crypto::OpaqueToken;
use fittrack_platform::config::RateLimitedAction;
use fittrack_platform::messages::{EmailJob, EmailTemplate};
use fittrack_platform::ports::{Condition, StoreError, Table, Update, WriteOp, to_item};

/// A new account: every field is checked at once, and all problems are answered together.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct RegisterRequest {
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// 12 to 128 characters, and hard to guess (words from the email and name count against it).
    pub password: String,
    /// 2 to 50 characters.
    #[schema(example = "Ada")]
    pub display_name: String,
    /// `YYYY-MM-DD`; fixed once set.
    #[schema(example = "1990-04-01")]
    pub date_of_birth: String,
    /// USPS code of a US state or DC.
    #[schema(example = "WA")]
    pub state: String,
}

/// A validated registration.
pub(super) struct ValidRegistration {
    pub email: EmailAddress,
    pub display_name: DisplayName,
    pub date_of_birth: DateOfBirth,
    pub state: UsState,
}

/// Everything a new account is made of, before encryption.
pub(super) struct AccountDraft<'a> {
    pub user_id: UserId,
    pub email: &'a EmailAddress,
    pub display_name: &'a DisplayName,
    pub date_of_birth: Option<DateOfBirth>,
    pub state: Option<UsState>,
    pub role: Role,
    pub email_verified: bool,
    pub password_hash: Option<String>,
}

/// An account created by an operator (`fittrack admin create-user`).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub password: String,
    pub display_name: String,
    pub role: Role,
}

impl AccountService {
    /// Validates every field at once, so clients can show all problems together.
    pub(super) fn validate_profile(
        &self,
        email: Option<&str>,
        display_name: Option<&str>,
        date_of_birth: Option<&str>,
        state: Option<&str>,
    ) -> Result<ValidRegistration, ValidationErrors> {
        use fittrack_domain::FieldError;
        let today = self.now().date_naive();
        let required = |field: &str| FieldError::new(field, "required", "is required");
        let mut errors = ValidationErrors::default();
        let email = errors.collect(email.ok_or_else(|| required("email")).and_then(EmailAddress::parse));
        let display_name =
            errors.collect(display_name.ok_or_else(|| required("display_name")).and_then(DisplayName::parse));
        let dob = errors
            .collect(date_of_birth.ok_or_else(|| required("date_of_birth")).and_then(|d| DateOfBirth::parse(d, today)));
        let state = errors.collect(state.ok_or_else(|| required("state")).and_then(UsState::parse));
        if let Some(state) = state {
            errors.collect(self.policy.eligibility.check_state(state));
            if let Some(dob) = dob {
                errors.collect(self.policy.eligibility.check_age(dob, state, today));
            }
        }
        match (email, display_name, dob, state) {
            (Some(email), Some(display_name), Some(date_of_birth), Some(state)) if errors.0.is_empty() => {
                Ok(ValidRegistration { email, display_name, date_of_birth, state })
            }
            _ => Err(errors),
        }
    }

    fn check_password(&self, password: &str, known: &[&str]) -> Result<(), ValidationErrors> {
        self.policy
            .password
            .check(password, known)
            .map_err(|rejection| ValidationErrors::single(self.policy.password.field_error("password", rejection)))
    }

    /// Encrypts the personal fields of a new account into its stored form.
    pub(super) fn new_account_record(&self, draft: AccountDraft<'_>) -> AccountRecord {
        let AccountDraft {
            user_id,
            email,
            display_name,
            date_of_birth: dob,
            state,
            role,
            email_verified,
            password_hash,
        } = draft;
        let created_at = epoch(self.now());
        let (pk, sk) = {
            let k = account_key(user_id);
            (k.pk, k.sk)
        };
        AccountRecord {
            pk,
            sk,
            user_id,
            email_enc: self.pii.encrypt(email.as_str(), &email_context(user_id)),
            email_hash: self.email_hash(&email.canonical()),
            display_name: display_name.as_str().to_owned(),
            dob_enc: dob.map(|d| self.pii.encrypt(&d.date().format("%Y-%m-%d").to_string(), &dob_context(user_id))),
            state,
            role,
            email_verified,
            password_hash,
            created_at,
            gsi1pk: ACCOUNTS_INDEX_PARTITION.to_owned(),
            gsi1sk: format!("{created_at:012}#{user_id}"),
            profile: Default::default(),
            tier_code: None,
            previous_tier_code: None,
            tier_changed_on: None,
            tier_fields_changed_at: None,
            token_generation: 0,
            status: fittrack_domain::AccountStatus::Active,
        }
    }

    /// Puts the account and its email guard in one transaction: the guard's condition is what
    /// makes a second account for the same address impossible, even under concurrent sign-ups.
    pub(super) fn create_account_ops(&self, record: &AccountRecord) -> Result<Vec<WriteOp>, AccountError> {
        let guard_key = email_key(&record.email_hash);
        let guard = EmailGuard { pk: guard_key.pk, sk: guard_key.sk, user_id: record.user_id };
        Ok(vec![
            WriteOp::Put { table: Table::Users, item: to_item(&guard)?, condition: Some(Condition::NotExists) },
            WriteOp::Put { table: Table::Users, item: to_item(record)?, condition: Some(Condition::NotExists) },
        ]
        .into_iter()
        .chain(fittrack_users::directory::new_account_ops(record.user_id, &record.display_name, record.created_at))
        .chain(fittrack_analytics::counters::registration_ops(
            record.user_id,
            chrono::DateTime::from_timestamp(record.created_at, 0).unwrap_or_default(),
        ))
        .collect())
    }

    /// Registers an account and emails a verification link. An address that already has an account
    /// gets a notice instead, and the caller sees the same answer either way.
    ///
    /// # Errors
    /// [`AccountError::RateLimited`]; [`AccountError::Validation`] listing every field problem, the password's
    /// included; [`AccountError::Internal`] when hashing fails; store and queue failures. An address that has
    /// an account is not an error.
    pub async fn register(&self, request: RegisterRequest, client: &ClientInfo) -> Result<(), AccountError> {
        self.rate_limit(RateLimitedAction::Register, client).await?;
        let valid = self.validate_profile(
            Some(&request.email),
            Some(&request.display_name),
            Some(&request.date_of_birth),
            Some(&request.state),
        );
        let password_check = self.check_password(&request.password, &[&request.email, &request.display_name]);
        let valid = match (valid, password_check) {
            (Ok(valid), Ok(())) => valid,
            (Err(mut errors), Err(more)) => {
                errors.0.extend(more.0);
                return Err(errors.into());
            }
            (Err(errors), _) | (_, Err(errors)) => return Err(errors.into()),
        };

        let password_hash =
            self.passwords.hash(request.password).await.map_err(|e| AccountError::Internal(e.to_string()))?;
        let user_id = UserId::generate();
        let record = self.new_account_record(AccountDraft {
            user_id,
            email: &valid.email,
            display_name: &valid.display_name,
            date_of_birth: Some(valid.date_of_birth),
            state: Some(valid.state),
            role: Role::User,
            email_verified: false,
            password_hash: Some(password_hash),
        });
        match self.store.transact(self.create_account_ops(&record)?).await {
            Ok(()) => {
                tracing::info!(user_id = %user_id, "account registered");
                self.send_verification(user_id, valid.email.as_str(), valid.display_name.as_str()).await
            }
            Err(StoreError::TransactionCancelled { .. }) => self.notify_existing_account(&record.email_hash).await,
            Err(e) => Err(e.into()),
        }
    }

    async fn notify_existing_account(&self, email_hash: &str) -> Result<(), AccountError> {
        let Some(guard) = load::<EmailGuard>(self.store.as_ref(), &email_key(email_hash)).await? else { return Ok(()) };
        let account = self.account(guard.user_id).await?;
        tracing::info!(user_id = %account.id, "registration attempted for an existing account");
        let link = format!("{}/forgot-password", self.policy.app_url);
        self.enqueue(&EmailJob::new(EmailTemplate::AccountExists, account.email, account.display_name, link)).await
    }

    pub(super) async fn issue_one_time_token(
        &self,
        user_id: UserId,
        purpose: OneTimePurpose,
    ) -> Result<String, AccountError> {
        let account: AccountRecord =
            load(self.store.as_ref(), &account_key(user_id)).await?.ok_or(AccountError::NotFound)?;
        let token = OpaqueToken::generate();
        let ttl = match purpose {
            OneTimePurpose::VerifyEmail => self.policy.verification_ttl,
            OneTimePurpose::ResetPassword | OneTimePurpose::Unlock => self.policy.reset_ttl,
        };
        let key = one_time_key(&token.hash);
        let record = OneTimeRecord {
            pk: key.pk,
            sk: key.sk,
            user_id,
            purpose,
            expires_at: epoch(self.now()) + secs(ttl),
            generation: account.token_generation,
        };
        self.store.put(Table::Users, to_item(&record)?, Some(Condition::NotExists)).await?;
        Ok(token.secret)
    }

    async fn send_verification(&self, user_id: UserId, to: &str, display_name: &str) -> Result<(), AccountError> {
        let token = self.issue_one_time_token(user_id, OneTimePurpose::VerifyEmail).await?;
        let link = self.link("verify-email", &token);
        self.enqueue(&EmailJob::new(EmailTemplate::VerifyEmail, to.to_owned(), display_name.to_owned(), link)).await
    }

    /// Looks up a one-time token without consuming it.
    pub(super) async fn find_one_time_token(
        &self,
        token: &str,
        purpose: OneTimePurpose,
    ) -> Result<OneTimeRecord, AccountError> {
        let record: OneTimeRecord = load(self.store.as_ref(), &one_time_key(&crate::crypto::hash_token(token)))
            .await?
            .ok_or(AccountError::InvalidToken)?;
        if record.purpose != purpose || record.expires_at <= epoch(self.now()) {
            return Err(AccountError::InvalidToken);
        }
        Ok(record)
    }

    /// The delete that consumes a one-time token: it only succeeds once.
    pub(super) fn consume_token_op(token: &str) -> WriteOp {
        WriteOp::Delete {
            table: Table::Users,
            key: one_time_key(&crate::crypto::hash_token(token)),
            condition: Some(Condition::Exists),
        }
    }

    /// Marks the address verified with an emailed verification token, which it consumes.
    ///
    /// # Errors
    /// [`AccountError::InvalidToken`] for an unknown, used or expired token, or one issued before a password
    /// reset; store failures.
    pub async fn verify_email(&self, token: &str) -> Result<(), AccountError> {
        let record = self.find_one_time_token(token, OneTimePurpose::VerifyEmail).await?;
        let ops = vec![
            Self::consume_token_op(token),
            WriteOp::Update {
                table: Table::Users,
                key: account_key(record.user_id),
                update: Update::new().set(AccountRecord::EMAIL_VERIFIED, true),
                condition: Some(same_token_generation(record.generation)),
            },
        ];
        match self.store.transact(ops).await {
            Ok(()) => {
                tracing::info!(user_id = %record.user_id, "email verified");
                Ok(())
            }
            Err(StoreError::TransactionCancelled { .. }) => Err(AccountError::InvalidToken),
            Err(e) => Err(e.into()),
        }
    }

    /// Sends a new verification link if the address has an unverified account. The answer never
    /// says whether it had one.
    ///
    /// # Errors
    /// [`AccountError::RateLimited`]; [`AccountError::Validation`] for a malformed address; store and queue
    /// failures.
    pub async fn resend_verification(&self, email: &str, client: &ClientInfo) -> Result<(), AccountError> {
        self.rate_limit(RateLimitedAction::ResendVerification, client).await?;
        self.with_response_floor(async {
            let Some(account) = self.account_by_email(email).await? else { return Ok(()) };
            if !account.email_verified {
                self.send_verification(account.id, &account.email, &account.display_name).await?;
            }
            Ok(())
        })
        .await
    }

    /// Creates a verified account directly (operators' first admin). Fails if the address is taken.
    ///
    /// # Errors
    /// [`AccountError::Validation`] for a bad email, display name or password; [`AccountError::AlreadyExists`]
    /// when the address has an account; [`AccountError::Internal`] when hashing fails; store failures.
    pub async fn create_user(&self, new: NewUser) -> Result<UserId, AccountError> {
        let mut errors = ValidationErrors::default();
        let email = errors.collect(EmailAddress::parse(&new.email));
        let display_name = errors.collect(DisplayName::parse(&new.display_name));
        if let Err(e) = self.check_password(&new.password, &[&new.email]) {
            errors.0.extend(e.0);
        }
        let (Some(email), Some(display_name)) = (email, display_name) else { return Err(errors.into()) };
        errors.into_result()?;
        let hash = self.passwords.hash(new.password).await.map_err(|e| AccountError::Internal(e.to_string()))?;
        let user_id = UserId::generate();
        let record = self.new_account_record(AccountDraft {
            user_id,
            email: &email,
            display_name: &display_name,
            date_of_birth: None,
            state: None,
            role: new.role,
            email_verified: true,
            password_hash: Some(hash),
        });
        match self.store.transact(self.create_account_ops(&record)?).await {
            Ok(()) => Ok(user_id),
            Err(StoreError::TransactionCancelled { .. }) => Err(AccountError::AlreadyExists),
            Err(e) => Err(e.into()),
        }
    }
}
