use serde::Serialize;

use fittrack_domain::{Role, UsState, UserId};

use super::records::{ACCOUNTS_INDEX_PARTITION, AccountRecord};
use super::{AccountError, AccountService, AuthenticatedUser};
use fittrack_platform::ports::{Cursor, Index, Query, Table, from_item};

/// An account as the admin list shows it: no email or birth date (PII stays behind `GET /users/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountSummary {
    pub id: UserId,
    pub display_name: String,
    pub role: Role,
    pub state: Option<UsState>,
    pub email_verified: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountsPage {
    pub items: Vec<AccountSummary>,
    pub next_cursor: Option<String>,
}

impl AccountService {
    /// Newest accounts first, a page at a time (admins only).
    ///
    /// # Errors
    /// [`AccountError::Forbidden`] unless the caller is an admin; store failures (including
    /// `StoreError::InvalidCursor` for a bad `cursor`).
    pub async fn list_accounts(
        &self,
        caller: &AuthenticatedUser,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<AccountsPage, AccountError> {
        self.require_role(caller, Role::Admin)?;
        let query = Query::partition(Table::Users, ACCOUNTS_INDEX_PARTITION)
            .on_index(Index::Gsi1)
            .descending()
            .limit(limit.clamp(1, 100))
            .after(cursor.map(Cursor));
        let page = self.store.query(query).await?;
        let items = page
            .items
            .into_iter()
            .map(|item| {
                from_item::<AccountRecord>(item).map(|r| AccountSummary {
                    id: r.user_id,
                    display_name: r.display_name,
                    role: r.role,
                    state: r.state,
                    email_verified: r.email_verified,
                    created_at: r.created_at,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(AccountsPage { items, next_cursor: page.next.map(|c| c.0) })
    }
}
