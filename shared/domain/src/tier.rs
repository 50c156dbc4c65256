//! Competition tiers: people compete against others of the same sex, age bracket and fitness
//! level. 2 × 5 × 3 = 30 tiers, each with a stable code such as `F-30-39-INT`.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::account::DateOfBirth;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FitnessLevel {
    Beginner,
    Intermediate,
    Advanced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AgeBracket {
    From18To29,
    From30To39,
    From40To49,
    From50To59,
    From60,
}

impl AgeBracket {
    pub const ALL: [AgeBracket; 5] =
        [Self::From18To29, Self::From30To39, Self::From40To49, Self::From50To59, Self::From60];

    /// The bracket of an age; none below 18 (nobody under 18 can join).
    pub fn for_age(age: u32) -> Option<Self> {
        Some(match age {
            0..=17 => return None,
            18..=29 => Self::From18To29,
            30..=39 => Self::From30To39,
            40..=49 => Self::From40To49,
            50..=59 => Self::From50To59,
            _ => Self::From60,
        })
    }

    /// The age at which the next bracket starts, if any.
    pub fn next_boundary(self) -> Option<u32> {
        match self {
            Self::From18To29 => Some(30),
            Self::From30To39 => Some(40),
            Self::From40To49 => Some(50),
            Self::From50To59 => Some(60),
            Self::From60 => None,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Self::From18To29 => "18-29",
            Self::From30To39 => "30-39",
            Self::From40To49 => "40-49",
            Self::From50To59 => "50-59",
            Self::From60 => "60P",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::From18To29 => "18–29",
            Self::From30To39 => "30–39",
            Self::From40To49 => "40–49",
            Self::From50To59 => "50–59",
            Self::From60 => "60+",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tier {
    pub sex: Sex,
    pub age: AgeBracket,
    pub level: FitnessLevel,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a tier code (expected e.g. F-30-39-INT)")]
pub struct InvalidTierCode(pub String);

impl Tier {
    /// Every tier, in a stable order (sex, then age, then level).
    pub fn all() -> Vec<Tier> {
        let mut tiers = Vec::with_capacity(30);
        for sex in [Sex::Female, Sex::Male] {
            for age in AgeBracket::ALL {
                for level in [FitnessLevel::Beginner, FitnessLevel::Intermediate, FitnessLevel::Advanced] {
                    tiers.push(Tier { sex, age, level });
                }
            }
        }
        tiers
    }

    /// The tier of a profile on `today`; none for someone under 18.
    pub fn for_profile(dob: DateOfBirth, sex: Sex, level: FitnessLevel, today: NaiveDate) -> Option<Tier> {
        AgeBracket::for_age(dob.age_on(today)).map(|age| Tier { sex, age, level })
    }

    pub fn code(&self) -> String {
        let sex = match self.sex {
            Sex::Female => "F",
            Sex::Male => "M",
        };
        let level = match self.level {
            FitnessLevel::Beginner => "BEG",
            FitnessLevel::Intermediate => "INT",
            FitnessLevel::Advanced => "ADV",
        };
        format!("{sex}-{}-{level}", self.age.code())
    }

    pub fn display_name(&self) -> String {
        let sex = match self.sex {
            Sex::Female => "Women",
            Sex::Male => "Men",
        };
        let level = match self.level {
            FitnessLevel::Beginner => "Beginner",
            FitnessLevel::Intermediate => "Intermediate",
            FitnessLevel::Advanced => "Advanced",
        };
        format!("{sex} {} · {level}", self.age.label())
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

impl FromStr for Tier {
    type Err = InvalidTierCode;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Tier::all().into_iter().find(|t| t.code() == code).ok_or_else(|| InvalidTierCode(code.to_owned()))
    }
}

/// The first day on which someone born on `dob` moves into the next age bracket after `today`
/// (the 30th, 40th, 50th or 60th birthday), for the scheduled tier recomputation. Someone born on
/// 29 February moves on 1 March in common years, consistent with [`DateOfBirth::age_on`].
pub fn next_bracket_change(dob: DateOfBirth, today: NaiveDate) -> Option<NaiveDate> {
    let boundary = AgeBracket::for_age(dob.age_on(today)).map_or(Some(18), AgeBracket::next_boundary)?;
    let born = dob.date();
    let year = born.year() + i32::try_from(boundary).ok()?;
    NaiveDate::from_ymd_opt(year, born.month(), born.day()).or_else(|| NaiveDate::from_ymd_opt(year, 3, 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn there_are_thirty_tiers_with_distinct_codes_and_names() {
        let tiers = Tier::all();
        assert_eq!(tiers.len(), 30);
        assert_eq!(tiers.iter().map(Tier::code).collect::<HashSet<_>>().len(), 30);
        assert_eq!(tiers.iter().map(Tier::display_name).collect::<HashSet<_>>().len(), 30);
        assert_eq!(tiers[0].code(), "F-18-29-BEG");
        assert_eq!(tiers[29].code(), "M-60P-ADV");
        assert_eq!(tiers[29].display_name(), "Men 60+ · Advanced");
    }

    #[test]
    fn codes_parse_back_and_garbage_does_not() {
        for tier in Tier::all() {
            assert_eq!(tier.code().parse::<Tier>(), Ok(tier));
        }
        for bad in ["", "F-18-29", "X-18-29-BEG", "f-18-29-beg", "F-17-29-BEG"] {
            assert!(bad.parse::<Tier>().is_err(), "{bad}");
        }
    }

    #[test]
    fn brackets_change_on_the_decade_birthdays() {
        let dob = DateOfBirth::parse("1996-06-15", day(2026, 1, 1)).unwrap();
        let tier = |on| Tier::for_profile(dob, Sex::Female, FitnessLevel::Advanced, on).unwrap().code();
        assert_eq!(tier(day(2026, 6, 14)), "F-18-29-ADV");
        assert_eq!(tier(day(2026, 6, 15)), "F-30-39-ADV");
        assert_eq!(next_bracket_change(dob, day(2026, 1, 1)), Some(day(2026, 6, 15)));
        assert_eq!(next_bracket_change(dob, day(2026, 6, 15)), Some(day(2036, 6, 15)));
        let leap = DateOfBirth::parse("1996-02-29", day(2026, 1, 1)).unwrap();
        assert_eq!(next_bracket_change(leap, day(2025, 1, 1)), Some(day(2026, 3, 1)));
        let old = DateOfBirth::parse("1950-01-01", day(2026, 1, 1)).unwrap();
        assert_eq!(next_bracket_change(old, day(2026, 1, 1)), None);
    }

    proptest! {
        /// The scheduled job's date is exactly when the computed tier changes.
        #[test]
        fn the_tier_changes_on_the_predicted_day_and_not_before(
            y in 1940i32..2007, m in 1u32..=12, d in 1u32..=28, offset in 0i64..20_000
        ) {
            let today = day(2026, 11, 22);
            let dob = DateOfBirth::parse(&format!("{y:04}-{m:02}-{d:02}"), today).unwrap();
            let start = day(2007, 1, 1) + chrono::Days::new(offset as u64);
            let tier_on = |on| Tier::for_profile(dob, Sex::Male, FitnessLevel::Beginner, on);
            if let Some(change) = next_bracket_change(dob, start) {
                prop_assert!(change > start);
                prop_assert_eq!(tier_on(change.pred_opt().unwrap()), tier_on(start));
                prop_assert_ne!(tier_on(change), tier_on(start));
            } else {
                prop_assert_eq!(tier_on(start).map(|t| t.age), Some(AgeBracket::From60));
            }
        }
    }
}
