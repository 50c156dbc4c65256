//! FitTrack's business rules as pure types and functions.
//!
//! Nothing here performs I/O or knows about AWS, HTTP or the embedded store: the application
//! services of the capability crates (accounts, points, sync, ...) call these rules, and the property tests live beside them.
//!
//! - [`account`]: parsed, always-valid account inputs (email, display name, date of birth, state).
//! - [`activity`]: the activity model of every tracker, de-duplication and priority.
//! - [`anomaly`]: days far above the tier's baseline (median + 3 robust σ of activity scores).
//! - [`drawing`]: drawing kinds, the lifecycle, the state registration guard, who may enter.
//! - [`draw_protocol`]: `fittrack-draw-v1`, winners from a snapshot and a public randomness.
//! - [`fulfilment`]: the states of a won prize, from the draw to delivery.
//! - [`eligibility`]: who may take part in sweepstakes (age of majority, registration states).
//! - [`leaderboard`]: the four board periods, the board's order and its stored sort key.
//! - [`password`]: the password strength policy.
//! - [`profile`]: the competition profile and display preferences.
//! - [`tier`]: the 30 competition tiers (sex × age bracket × fitness level).
//! - [`points`]: the points rate table, caps and streaks, and the competition day.
//! - [`validation`]: field-level errors shared by every parser.

pub mod account;
pub mod account_status;
pub mod activity;
pub mod anomaly;
pub mod draw_protocol;
pub mod drawing;
pub mod eligibility;
pub mod fulfilment;
pub mod leaderboard;
pub mod password;
pub mod points;
pub mod profile;
pub mod tier;
pub mod validation;

pub use account::{DateOfBirth, DisplayName, EmailAddress, Role, UsState, UserId};
pub use account_status::{AccountStatus, Adjustment};
pub use eligibility::EligibilityPolicy;
pub use password::{PasswordPolicy, PasswordRejection};
pub use points::{DayActivity, DayPoints, RateTable, competition_day};
pub use tier::{AgeBracket, FitnessLevel, Sex, Tier};
pub use validation::{FieldError, ValidationErrors};
