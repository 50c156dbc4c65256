//! Whether an account may be used, and the admin decisions that change it.
//!
//! ```text
//!   active ──suspend──▶ suspended ──reactivate──▶ active
//!     │                    │
//!     └───────ban──────────┴──▶ banned ──reinstate──▶ active
//! ```
//!
//! Suspension is a pause (an investigation, a dispute): nothing is taken away. A ban ends the
//! account's part in the product: see docs/decisions.md for what happens to its tickets and
//! prizes. Every change is an admin's, with a reason, and no admin changes their own status.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    #[default]
    Active,
    Suspended,
    Banned,
}

impl AccountStatus {
    pub const ALL: [AccountStatus; 3] = [AccountStatus::Active, AccountStatus::Suspended, AccountStatus::Banned];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Suspended => "suspended",
            AccountStatus::Banned => "banned",
        }
    }

    /// Whether an admin may move an account from `self` to `next` (never to where it is).
    pub fn can_become(self, next: AccountStatus) -> bool {
        use AccountStatus::{Active, Banned, Suspended};
        matches!((self, next), (Active, Suspended | Banned) | (Suspended, Active | Banned) | (Banned, Active))
    }

    /// Whether the account may sign in and use the product.
    pub fn is_usable(self) -> bool {
        self == AccountStatus::Active
    }
}

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AccountStatus {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| FieldError::new("status", "invalid_status", "must be active, suspended or banned"))
    }
}

/// An admin's change to a balance: what is asked, and what the ledger books. A credit is booked
/// whole; a debit never takes the balance below zero, so it is clamped to what is spendable and
/// the entry records by how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adjustment {
    pub requested: i64,
    pub applied: i64,
    /// `requested - applied`: the part of a debit that was not there to take (0 for credits).
    pub clamped_by: i64,
}

impl Adjustment {
    /// The adjustment of `requested` points against a spendable balance of `spendable`.
    pub fn against(requested: i64, spendable: i64) -> Self {
        let applied = if requested < 0 { requested.max(-spendable.max(0)) } else { requested };
        Self { requested, applied, clamped_by: requested - applied }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_the_drawn_transitions_exist() {
        use AccountStatus::{Active, Banned, Suspended};
        let allowed =
            [(Active, Suspended), (Active, Banned), (Suspended, Active), (Suspended, Banned), (Banned, Active)];
        for from in AccountStatus::ALL {
            for to in AccountStatus::ALL {
                assert_eq!(from.can_become(to), allowed.contains(&(from, to)), "{from} -> {to}");
            }
        }
        assert!(!Banned.can_become(Suspended), "a ban is lifted to active, not softened");
    }

    #[test]
    fn statuses_parse_from_their_names_only() {
        for status in AccountStatus::ALL {
            assert_eq!(status.as_str().parse::<AccountStatus>().unwrap(), status);
        }
        assert_eq!("Active".parse::<AccountStatus>().unwrap_err().code, "invalid_status");
    }

    proptest! {
        #[test]
        fn an_adjustment_never_leaves_a_negative_balance_and_credits_are_whole(
            requested in -1_000_000i64..1_000_000,
            spendable in 0i64..1_000_000,
        ) {
            let adjustment = Adjustment::against(requested, spendable);
            prop_assert!(spendable + adjustment.applied >= 0);
            prop_assert_eq!(adjustment.applied + adjustment.clamped_by, requested);
            if requested >= 0 {
                prop_assert_eq!(adjustment.applied, requested);
            } else {
                prop_assert_eq!(adjustment.applied, requested.max(-spendable));
                prop_assert!(adjustment.clamped_by <= 0);
            }
        }
    }
}
