//! Finding users. Each filter has its index (`fittrack_users::directory`); with several, the
//! most selective one is queried and the rest are applied to the page (a page may then hold
//! fewer users than asked, and still have a next one):
//!
//! | filter | answered by | cost per page |
//! |---|---|---|
//! | `email` | the email guard `EMAIL#<lookup hash>` | 2 reads (the guard, the account) |
//! | `display_name` | `DIR#NAME#<first letter>`, `begins_with` | 1 query + 1 read per user |
//! | `status` | `DIR#STATUS#<status>`, newest first | 1 query + 1 read per user |
//! | `tier` | `DIR#TIER#<code>` | 1 query + 1 read per user |
//! | none | the accounts index, newest first | 1 query + 1 read per user |

use chrono::{DateTime, Utc};
use futures_util::future::try_join_all;
use serde::Serialize;

use fittrack_domain::{AccountStatus, FieldError, Role, Tier, UsState, UserId, ValidationErrors};
use fittrack_platform::ports::{Cursor, Index, Query, Table};
use fittrack_users::directory;
use fittrack_users::records::{ACCOUNTS_INDEX_PARTITION, AccountRecord, account_key, load};

use crate::{AdminError, AdminService};

/// What to look for; all given filters must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// The whole address (matched as registration matches it: case and Gmail dots aside).
    pub email: Option<String>,
    /// The start of the display name, any case.
    pub display_name: Option<String>,
    pub status: Option<AccountStatus>,
    /// A tier code, e.g. `F-30-39-INT`.
    pub tier: Option<String>,
}

/// A user as the admin list shows them: no email or date of birth (those are in the detail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AdminUserSummary {
    pub id: UserId,
    pub display_name: String,
    pub role: Role,
    pub status: AccountStatus,
    /// The competition tier's code; `null` until the profile is complete.
    pub tier: Option<String>,
    pub state: Option<UsState>,
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
}

impl From<&AccountRecord> for AdminUserSummary {
    fn from(r: &AccountRecord) -> Self {
        Self {
            id: r.user_id,
            display_name: r.display_name.clone(),
            role: r.role,
            status: r.status,
            tier: r.tier_code.clone(),
            state: r.state,
            email_verified: r.email_verified,
            created_at: DateTime::from_timestamp(r.created_at, 0).unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserPage {
    pub items: Vec<AdminUserSummary>,
    pub next: Option<Cursor>,
}

impl UserFilter {
    fn matches(&self, account: &AccountRecord) -> bool {
        let name_ok = self.display_name.as_deref().is_none_or(|prefix| {
            directory::fold_name(&account.display_name).starts_with(&directory::fold_name(prefix))
        });
        name_ok
            && self.status.is_none_or(|s| s == account.status)
            && self.tier.as_deref().is_none_or(|t| account.tier_code.as_deref() == Some(t))
    }

    /// # Errors
    /// [`ValidationErrors`] for an empty name prefix or an unknown tier.
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if self.display_name.as_deref().is_some_and(|n| directory::fold_name(n).is_empty()) {
            errors.0.push(FieldError::new("display_name", "required", "give at least one character"));
        }
        if self.tier.as_deref().is_some_and(|t| t.parse::<Tier>().is_err()) {
            errors.0.push(FieldError::new("tier", "invalid_tier", "not a tier code (see GET /api/v1/tiers)"));
        }
        errors.into_result()
    }
}

impl AdminService {
    /// Users matching `filter`, a page at a time.
    ///
    /// # Errors
    /// [`AdminError::Invalid`] for a bad filter; [`AdminError::Store`] ([`fittrack_platform::ports::StoreError::InvalidCursor`]
    /// among them).
    pub async fn search(
        &self,
        filter: &UserFilter,
        limit: u32,
        cursor: Option<Cursor>,
    ) -> Result<UserPage, AdminError> {
        filter.validate()?;
        let (users, next) = if let Some(email) = &filter.email {
            let guard = match fittrack_accounts::records::email_guard_key(&self.pii, email) {
                Some(key) => load::<fittrack_accounts::records::EmailGuard>(self.store.as_ref(), &key).await?,
                None => None,
            };
            (guard.map(|g| g.user_id).into_iter().collect(), None)
        } else {
            let query = if let Some(prefix) = &filter.display_name {
                let folded = directory::fold_name(prefix);
                let partition = directory::name_partition(&folded).unwrap_or_default();
                Query::partition(Table::Users, partition).sort_prefix(folded)
            } else if let Some(status) = filter.status {
                Query::partition(Table::Users, directory::status_partition(status)).descending()
            } else if let Some(tier) = &filter.tier {
                Query::partition(Table::Users, directory::tier_partition(tier))
            } else {
                Query::partition(Table::Users, ACCOUNTS_INDEX_PARTITION).on_index(Index::Gsi1).descending()
            };
            let page = self.store.query(query.limit(limit).after(cursor)).await?;
            let users = page
                .items
                .iter()
                .filter_map(|item| item.get("user_id").and_then(|u| u.as_str()).and_then(|u| u.parse::<UserId>().ok()))
                .collect::<Vec<_>>();
            (users, page.next)
        };
        let keys: Vec<_> = users.iter().map(|user| account_key(*user)).collect();
        let accounts = try_join_all(keys.iter().map(|key| load::<AccountRecord>(self.store.as_ref(), key))).await?;
        let items = accounts.iter().flatten().filter(|a| filter.matches(a)).map(AdminUserSummary::from).collect();
        Ok(UserPage { items, next })
    }
}
