//! Prize drawings: their kinds, their lifecycle, where they may run (the state registration
//! guard) and who may enter. Pure rules; the drawings crate stores and runs them.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::account::{Role, UsState};
use crate::validation::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DrawingType {
    Daily,
    Weekly,
    Monthly,
    Annual,
}

impl DrawingType {
    pub const ALL: [DrawingType; 4] = [Self::Daily, Self::Weekly, Self::Monthly, Self::Annual];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
            Self::Annual => "annual",
        }
    }
}

impl FromStr for DrawingType {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| FieldError::new("type", "invalid_type", "must be daily, weekly, monthly or annual"))
    }
}

/// draft → scheduled → open → closed → completed, or cancelled from any state before completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DrawingStatus {
    Draft,
    Scheduled,
    Open,
    Closed,
    Completed,
    Cancelled,
}

impl DrawingStatus {
    pub const ALL: [DrawingStatus; 6] =
        [Self::Draft, Self::Scheduled, Self::Open, Self::Closed, Self::Completed, Self::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Scheduled => "scheduled",
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether the lifecycle allows going from `self` to `next`.
    pub fn can_become(self, next: DrawingStatus) -> bool {
        use DrawingStatus::*;
        matches!(
            (self, next),
            (Draft, Scheduled)
                | (Scheduled, Open)
                | (Open, Closed)
                | (Closed, Completed)
                | (Draft | Scheduled | Open | Closed, Cancelled)
        )
    }

    /// Nothing about the drawing changes any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Cancelled)
    }
}

impl fmt::Display for DrawingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DrawingStatus {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            FieldError::new(
                "status",
                "invalid_status",
                "must be draft, scheduled, open, closed, completed or cancelled",
            )
        })
    }
}

/// Above these totals of approximate retail value a state requires registration and a bond.
pub const NY_FL_REGISTRATION_ABOVE_CENTS: u64 = 500_000;
pub const RI_REGISTRATION_ABOVE_CENTS: u64 = 50_000;

/// The states a drawing with `total_arv_cents` of prizes must exclude unless it is registered and
/// bonded there (`registered_in`): New York and Florida above $5,000, Rhode Island above $500.
pub fn registration_exclusions(total_arv_cents: u64, registered_in: &[UsState]) -> Vec<UsState> {
    let thresholds = [
        ("NY", NY_FL_REGISTRATION_ABOVE_CENTS),
        ("FL", NY_FL_REGISTRATION_ABOVE_CENTS),
        ("RI", RI_REGISTRATION_ABOVE_CENTS),
    ];
    thresholds
        .into_iter()
        .filter(|(_, above)| total_arv_cents > *above)
        .filter_map(|(code, _)| UsState::parse(code).ok())
        .filter(|state| !registered_in.contains(state))
        .collect()
}

/// Who a drawing is open to, as set by its admin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryRules {
    /// Days an account must exist before it may enter.
    #[serde(default)]
    pub min_account_age_days: u32,
    /// Premium members only.
    #[serde(default)]
    pub premium_only: bool,
    /// States excluded by this drawing, on top of the operator's and the registration guard's.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub excluded_states: Vec<UsState>,
}

/// The facts about an account that decide whether it may enter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrantFacts {
    pub state: Option<UsState>,
    pub role: Role,
    pub email_verified: bool,
    pub account_created_at: DateTime<Utc>,
    /// The account is under review for gaming (its awards are held).
    pub under_review: bool,
    /// Suspended and banned accounts may not enter.
    pub status: crate::AccountStatus,
}

/// Why someone may not enter: a stable code and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ineligibility {
    pub code: &'static str,
    pub message: String,
}

impl Ineligibility {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

impl EntryRules {
    /// Every reason `facts` may not enter at `now` a drawing that excludes `excluded` (all
    /// exclusions together); empty when they may.
    pub fn check(&self, facts: &EntrantFacts, excluded: &[UsState], now: DateTime<Utc>) -> Vec<Ineligibility> {
        let mut reasons = Vec::new();
        match facts.state {
            None => reasons.push(Ineligibility::new("state_unknown", "your account has no state of residence")),
            Some(state) if excluded.contains(&state) => reasons.push(Ineligibility::new(
                "state_excluded",
                format!("this drawing is not open to residents of {state}"),
            )),
            Some(_) => {}
        }
        if !facts.email_verified {
            reasons.push(Ineligibility::new("email_unverified", "verify your email address first"));
        }
        if facts.role == Role::Admin {
            reasons.push(Ineligibility::new("operator_staff", "the operator's staff may not enter drawings"));
        }
        if !facts.status.is_usable() {
            reasons.push(Ineligibility::new("account_restricted", "your account is suspended or closed"));
        }
        if facts.under_review {
            reasons.push(Ineligibility::new(
                "under_review",
                "your account is under review; entries wait until it is cleared",
            ));
        }
        let old_enough =
            facts.account_created_at.checked_add_signed(Duration::days(i64::from(self.min_account_age_days)));
        if old_enough.is_none_or(|t| now < t) {
            reasons.push(Ineligibility::new(
                "account_too_new",
                format!("accounts may enter {} days after they are created", self.min_account_age_days),
            ));
        }
        if self.premium_only && facts.role < Role::Premium {
            reasons.push(Ineligibility::new("premium_only", "this drawing is for premium members"));
        }
        reasons
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn state(code: &str) -> UsState {
        UsState::parse(code).unwrap()
    }

    fn status() -> impl Strategy<Value = DrawingStatus> {
        prop::sample::select(DrawingStatus::ALL.to_vec())
    }

    #[test]
    fn the_registration_guard() {
        assert!(registration_exclusions(50_000, &[]).is_empty());
        assert_eq!(registration_exclusions(50_001, &[]), vec![state("RI")]);
        assert_eq!(registration_exclusions(500_000, &[]), vec![state("RI")]);
        assert_eq!(registration_exclusions(500_001, &[]), vec![state("NY"), state("FL"), state("RI")]);
        assert_eq!(registration_exclusions(500_001, &[state("NY"), state("RI")]), vec![state("FL")]);
    }

    #[test]
    fn eligibility_reasons() {
        let now = Utc::now();
        let facts = EntrantFacts {
            state: Some(state("CA")),
            role: Role::User,
            email_verified: true,
            account_created_at: now - Duration::days(3),
            under_review: false,
            status: crate::AccountStatus::Active,
        };
        let rules = EntryRules { min_account_age_days: 2, premium_only: false, excluded_states: vec![] };
        assert!(rules.check(&facts, &[state("NY")], now).is_empty());
        let strict = EntryRules { min_account_age_days: 7, premium_only: true, excluded_states: vec![] };
        let codes: Vec<_> = strict.check(&facts, &[state("CA")], now).into_iter().map(|r| r.code).collect();
        assert_eq!(codes, ["state_excluded", "account_too_new", "premium_only"]);
        let premium = EntrantFacts { role: Role::Premium, ..facts.clone() };
        assert!(strict.check(&premium, &[], now + Duration::days(4)).is_empty());
        let staff = EntrantFacts { role: Role::Admin, ..facts.clone() };
        let codes: Vec<_> = rules.check(&staff, &[], now).into_iter().map(|r| r.code).collect();
        assert_eq!(codes, ["operator_staff"]);
        let suspended = EntrantFacts { status: crate::AccountStatus::Suspended, ..facts.clone() };
        let codes: Vec<_> = rules.check(&suspended, &[], now).into_iter().map(|r| r.code).collect();
        assert_eq!(codes, ["account_restricted"]);
        let flagged = EntrantFacts { under_review: true, ..facts };
        let codes: Vec<_> = rules.check(&flagged, &[], now).into_iter().map(|r| r.code).collect();
        assert_eq!(codes, ["under_review"]);
        let forever = EntryRules { min_account_age_days: u32::MAX, ..rules.clone() };
        assert_eq!(forever.check(&premium, &[], now)[0].code, "account_too_new", "no overflow");
    }

    proptest! {
        /// Every walk of legal transitions follows the lifecycle: forward one step at a time, or
        /// to cancelled before completion, and nothing leaves a final state.
        #[test]
        fn the_lifecycle(from in status(), to in status()) {
            let order = |s: DrawingStatus| DrawingStatus::ALL.iter().position(|x| *x == s).unwrap();
            let expected = match to {
                DrawingStatus::Cancelled => !from.is_final(),
                _ => !from.is_final() && from != DrawingStatus::Cancelled && order(to) == order(from) + 1,
            };
            prop_assert_eq!(from.can_become(to), expected);
            if from.is_final() { prop_assert!(!from.can_become(to)); }
        }

        #[test]
        fn the_guard_only_grows_with_value(a in 0u64..2_000_000, b in 0u64..2_000_000) {
            let (low, high) = (a.min(b), a.max(b));
            let low_set = registration_exclusions(low, &[]);
            let high_set = registration_exclusions(high, &[]);
            prop_assert!(low_set.iter().all(|s| high_set.contains(s)));
        }
    }
}
