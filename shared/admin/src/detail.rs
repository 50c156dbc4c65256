//! One user's whole picture, for an admin: account (email and date of birth decrypted),
//! balance, the latest ledger entries, tracker connections and reviews (the actions taken about
//! them are `GET /api/v1/admin/users/{id}/actions`). Reading it changes nothing, so it is not
//! logged as an action.

use fittrack_domain::UserId;
use fittrack_points::antigaming::Review;
use fittrack_points::{Balance, LedgerEntry};
use fittrack_sync::Connection;
use fittrack_users::records::Account;
use fittrack_users::records::{AccountRecord, account_key, load};

use crate::{AdminError, AdminService};

/// How many ledger entries the detail shows (the user's ledger pages through the rest).
pub const RECENT_ENTRIES: u32 = 20;

#[derive(Debug, Clone)]
pub struct UserDetail {
    pub account: Account,
    pub balance: Balance,
    pub recent_transactions: Vec<LedgerEntry>,
    pub connections: Vec<Connection>,
    pub reviews: Vec<Review>,
}

impl AdminService {
    /// Everything an admin needs to know about `user`.
    ///
    /// # Errors
    /// [`AdminError::NotFound`]; [`AdminError::Store`] (an account whose PII does not decrypt among
    /// them).
    pub async fn detail(&self, user: UserId) -> Result<UserDetail, AdminError> {
        let record: AccountRecord = load(self.store.as_ref(), &account_key(user)).await?.ok_or(AdminError::NotFound)?;
        let account = record.decrypt(&self.pii)?;
        let balance = self.ledger.balance(user).await?;
        let (recent_transactions, _) = self.ledger.entries(user, RECENT_ENTRIES, None).await?;
        let connections = fittrack_sync::connections_of(self.store.as_ref(), user).await?;
        let reviews = fittrack_points::antigaming::AntiGaming::new(self.store.clone(), self.clock.clone())
            .reviews_of(user)
            .await?;
        Ok(UserDetail { account, balance, recent_transactions, connections, reviews })
    }
}
