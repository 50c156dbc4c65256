//! Who may join: sweepstakes law sets a minimum age per state and makes some states impractical
//! (registration and bonding above a prize threshold), so sign-up checks both.

use chrono::NaiveDate;

use crate::account::{DateOfBirth, UsState};
use crate::validation::FieldError;

/// Age of majority by state: 19 in Alabama and Nebraska, 21 in Mississippi, 18 elsewhere.
pub fn age_of_majority(state: UsState) -> u32 {
    match state.code() {
        "AL" | "NE" => 19,
        "MS" => 21,
        _ => 18,
    }
}

/// The states where the operator has chosen not to run drawings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EligibilityPolicy {
    pub excluded_states: Vec<UsState>,
}

impl Default for EligibilityPolicy {
    /// New York and Florida require registration and a bond once prizes add up past $5,000;
    /// Rhode Island above $500. Excluded until the operator registers there.
    fn default() -> Self {
        let excluded_states = ["NY", "FL", "RI"].iter().filter_map(|c| UsState::parse(c).ok()).collect();
        Self { excluded_states }
    }
}

impl EligibilityPolicy {
    /// Parses a comma-separated list of codes, e.g. `"NY,FL,RI"`; an empty string excludes none.
    pub fn from_codes(codes: &str) -> Result<Self, FieldError> {
        let excluded_states =
            codes.split(',').map(str::trim).filter(|c| !c.is_empty()).map(UsState::parse).collect::<Result<_, _>>()?;
        Ok(Self { excluded_states })
    }

    pub fn check_state(&self, state: UsState) -> Result<(), FieldError> {
        if self.excluded_states.contains(&state) {
            return Err(FieldError::new(
                "state",
                "state_ineligible",
                format!("FitTrack drawings are not open to residents of {state}"),
            ));
        }
        Ok(())
    }

    pub fn check_age(&self, dob: DateOfBirth, state: UsState, today: NaiveDate) -> Result<(), FieldError> {
        let required = age_of_majority(state);
        if dob.age_on(today) < required {
            return Err(FieldError::new(
                "date_of_birth",
                "under_age_of_majority",
                format!("you must be at least {required} to join from {state}"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn state(code: &str) -> UsState {
        UsState::parse(code).unwrap()
    }

    #[test]
    fn majority_is_19_in_alabama_and_nebraska_and_21_in_mississippi() {
        assert_eq!(age_of_majority(state("AL")), 19);
        assert_eq!(age_of_majority(state("NE")), 19);
        assert_eq!(age_of_majority(state("MS")), 21);
        assert_eq!(age_of_majority(state("CA")), 18);
    }

    #[test]
    fn default_policy_excludes_new_york_florida_and_rhode_island() {
        let policy = EligibilityPolicy::default();
        for code in ["NY", "FL", "RI"] {
            assert_eq!(policy.check_state(state(code)).unwrap_err().code, "state_ineligible");
        }
        assert!(policy.check_state(state("TX")).is_ok());
        assert!(EligibilityPolicy::from_codes("").unwrap().check_state(state("NY")).is_ok());
        assert!(EligibilityPolicy::from_codes("NY, XX").is_err());
    }

    proptest! {
        #[test]
        fn eighteen_year_olds_pass_except_where_majority_is_higher(code in "(AL|NE|MS|CA|TX|WA)") {
            let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
            let dob = DateOfBirth::parse("2008-06-01", today).unwrap();
            let result = EligibilityPolicy::default().check_age(dob, state(&code), today);
            prop_assert_eq!(result.is_ok(), age_of_majority(state(&code)) <= 18);
        }
    }
}
