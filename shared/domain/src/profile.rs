//! The competition profile: what a fair tier needs (sex for competition, fitness level, with the
//! date of birth from registration) and the user's display preferences.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::tier::{FitnessLevel, Sex};
use crate::validation::FieldError;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Units {
    #[default]
    Imperial,
    Metric,
}

pub fn parse_sex(raw: &str) -> Result<Sex, FieldError> {
    match raw {
        "female" => Ok(Sex::Female),
        "male" => Ok(Sex::Male),
        _ => Err(FieldError::new("sex", "invalid_choice", "must be female or male")),
    }
}

pub fn parse_fitness_level(raw: &str) -> Result<FitnessLevel, FieldError> {
    match raw {
        "beginner" => Ok(FitnessLevel::Beginner),
        "intermediate" => Ok(FitnessLevel::Intermediate),
        "advanced" => Ok(FitnessLevel::Advanced),
        _ => Err(FieldError::new("fitness_level", "invalid_choice", "must be beginner, intermediate or advanced")),
    }
}

pub fn parse_units(raw: &str) -> Result<Units, FieldError> {
    match raw {
        "imperial" => Ok(Units::Imperial),
        "metric" => Ok(Units::Metric),
        _ => Err(FieldError::new("units", "invalid_choice", "must be imperial or metric")),
    }
}

/// An IANA time zone name such as `America/Chicago`.
pub fn parse_time_zone(raw: &str) -> Result<String, FieldError> {
    chrono_tz::Tz::from_str(raw.trim()).map(|tz| tz.name().to_owned()).map_err(|_| {
        FieldError::new("time_zone", "invalid_time_zone", "must be an IANA time zone such as America/Chicago")
    })
}

/// Profile settings as stored; `None` where the user has not said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileSettings {
    pub sex: Option<Sex>,
    pub fitness_level: Option<FitnessLevel>,
    pub time_zone: Option<String>,
    pub units: Option<Units>,
    /// Privacy by default: others see the profile only once the user opts in.
    pub public_profile: Option<bool>,
}

impl ProfileSettings {
    /// The fields a tier still needs (the date of birth is checked by the caller).
    pub fn missing_for_tier(&self, has_date_of_birth: bool) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if !has_date_of_birth {
            missing.push("date_of_birth");
        }
        if self.sex.is_none() {
            missing.push("sex");
        }
        if self.fitness_level.is_none() {
            missing.push("fitness_level");
        }
        missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_choices_and_time_zones() {
        assert_eq!(parse_sex("female"), Ok(Sex::Female));
        assert!(parse_sex("Female").is_err());
        assert_eq!(parse_fitness_level("advanced"), Ok(FitnessLevel::Advanced));
        assert_eq!(parse_units("metric"), Ok(Units::Metric));
        assert_eq!(parse_time_zone(" America/Chicago ").as_deref(), Ok("America/Chicago"));
        assert_eq!(parse_time_zone("Mars/Olympus").unwrap_err().code, "invalid_time_zone");
    }

    #[test]
    fn a_tier_needs_birth_date_sex_and_level() {
        let mut settings = ProfileSettings::default();
        assert_eq!(settings.missing_for_tier(false), ["date_of_birth", "sex", "fitness_level"]);
        settings.sex = Some(Sex::Male);
        settings.fitness_level = Some(FitnessLevel::Beginner);
        assert!(settings.missing_for_tier(true).is_empty());
    }
}
