use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::validation::FieldError;

/// Opaque user identifier (UUIDv7: time-ordered, so new users sort last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct UserId(Uuid);

impl UserId {
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    /// 32 lowercase hex digits, no hyphens; orders like the id.
    pub fn simple(&self) -> String {
        self.0.simple().to_string()
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for UserId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// A syntactically valid email address, trimmed. Equality is case-insensitive through
/// [`EmailAddress::canonical`], which is what lookups are keyed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let trimmed = raw.trim();
        let invalid = || FieldError::new("email", "invalid_email", "must be a valid email address");
        if trimmed.is_empty() || trimmed.len() > Self::MAX_LEN {
            return Err(invalid());
        }
        let parsed = email_address::EmailAddress::from_str(trimmed).map_err(|_| invalid())?;
        // Display-name forms ("Jo <jo@x.io>") and dotless domains are not addresses we can mail.
        if parsed.email() != trimmed || !parsed.domain().contains('.') {
            return Err(invalid());
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The address as the user typed it (trimmed): used to send mail.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The mailbox an address delivers to: the identity of the address for uniqueness and
    /// lookup (mail still goes to [`EmailAddress::as_str`]). Lower-cased; for providers that
    /// deliver `name+tag@` to `name@` the tag is dropped, and for Gmail, which ignores dots in
    /// the local part and treats `googlemail.com` as `gmail.com`, the dots go and the domain is
    /// `gmail.com`. So `A.Da+1@GoogleMail.com` and `ada@gmail.com` are one account.
    pub fn canonical(&self) -> String {
        let lower = self.0.to_lowercase();
        let Some((local, domain)) = lower.rsplit_once('@') else { return lower };
        let domain = match domain {
            "googlemail.com" => "gmail.com",
            other => other,
        };
        let mut local = local;
        if SUBADDRESSING_DOMAINS.contains(&domain)
            && let Some((mailbox, _tag)) = local.split_once('+')
            && !mailbox.is_empty()
        {
            local = mailbox;
        }
        let local = if domain == "gmail.com" { local.replace('.', "") } else { local.to_owned() };
        format!("{local}@{domain}")
    }
}

/// Mailbox providers that deliver `name+anything@` to `name@` (plus addressing).
const SUBADDRESSING_DOMAINS: &[&str] = &[
    "gmail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "fastmail.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
];

/// 2 to 50 characters, no control characters, surrounding whitespace removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    pub const MIN_CHARS: usize = 2;
    pub const MAX_CHARS: usize = 50;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = raw.trim();
        let chars = name.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars) {
            return Err(FieldError::new(
                "display_name",
                "invalid_length",
                format!("must be {} to {} characters", Self::MIN_CHARS, Self::MAX_CHARS),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(FieldError::new("display_name", "invalid_characters", "must not contain control characters"));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DisplayName {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).map_err(|e| e.message)
    }
}

impl From<DisplayName> for String {
    fn from(value: DisplayName) -> Self {
        value.0
    }
}

/// A date of birth in the past, in `YYYY-MM-DD` form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct DateOfBirth(NaiveDate);

impl DateOfBirth {
    pub fn parse(raw: &str, today: NaiveDate) -> Result<Self, FieldError> {
        let date = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
            .map_err(|_| FieldError::new("date_of_birth", "invalid_date", "must be a date in YYYY-MM-DD form"))?;
        if date > today || today.year() - date.year() > 130 {
            return Err(FieldError::new("date_of_birth", "implausible_date", "must be a real date of birth"));
        }
        Ok(Self(date))
    }

    pub fn date(self) -> NaiveDate {
        self.0
    }

    /// Completed years on `today`. Someone born on 29 February turns a year older on 1 March in
    /// common years, the usual legal reading.
    pub fn age_on(self, today: NaiveDate) -> u32 {
        let years = today.year() - self.0.year();
        let had_birthday = (today.month(), today.day()) >= (self.0.month(), self.0.day());
        u32::try_from(if had_birthday { years } else { years - 1 }).unwrap_or(0)
    }
}

/// A US state or the District of Columbia, by its USPS code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", schema(value_type = String, example = "WA"))]
pub struct UsState([u8; 2]);

impl UsState {
    const CODES: [&'static str; 51] = [
        "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY",
        "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH",
        "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
    ];

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let code = raw.trim().to_ascii_uppercase();
        match Self::CODES.iter().find(|c| **c == code) {
            Some(c) => Ok(Self([c.as_bytes()[0], c.as_bytes()[1]])),
            None => Err(FieldError::new("state", "invalid_state", "must be a US state two-letter code")),
        }
    }

    pub fn code(&self) -> &str {
        // Only ASCII codes from CODES are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl TryFrom<String> for UsState {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).map_err(|e| e.message)
    }
}

impl From<UsState> for String {
    fn from(value: UsState) -> Self {
        value.code().to_owned()
    }
}

impl fmt::Display for UsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What a signed-in user may do. Carried in the access token and checked by one extractor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Premium,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Premium => "premium",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(Role::User),
            "premium" => Ok(Role::Premium),
            "admin" => Ok(Role::Admin),
            _ => Err(FieldError::new("role", "invalid_role", "must be user, premium or admin")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn email_is_trimmed_and_canonicalised_case_insensitively() {
        let a = EmailAddress::parse("  Jo.Smith@Example.COM ").unwrap();
        assert_eq!(a.as_str(), "Jo.Smith@Example.COM");
        assert_eq!(a.canonical(), "jo.smith@example.com");
        assert_eq!(a.canonical(), EmailAddress::parse("jo.smith@example.com").unwrap().canonical());
    }

    #[test]
    fn email_canonical_form_is_the_mailbox_it_delivers_to() {
        let canonical = |raw: &str| EmailAddress::parse(raw).unwrap().canonical();
        for same in ["ada@gmail.com", "A.Da@gmail.com", "a.d.a+1@GoogleMail.com", "ADA+fittrack+x@gmail.com"] {
            assert_eq!(canonical(same), "ada@gmail.com", "{same}");
        }
        assert_eq!(canonical("ada+2@outlook.com"), "ada@outlook.com");
        // Dots matter elsewhere; tags only at providers known to ignore them.
        assert_eq!(canonical("a.da@example.com"), "a.da@example.com");
        assert_eq!(canonical("ada+2@example.com"), "ada+2@example.com");
        // A local part that is only a tag is left as it is.
        assert_eq!(canonical("+x@gmail.com"), "+x@gmail.com");
        assert_eq!(EmailAddress::parse("A.Da+1@GoogleMail.com").unwrap().as_str(), "A.Da+1@GoogleMail.com");
    }

    proptest::proptest! {
        #[test]
        fn gmail_tags_dots_and_case_never_make_a_new_account(
            name in "[a-z][a-z0-9]{0,15}",
            dots in proptest::collection::vec(0usize..16, 0..4),
            tag in proptest::option::of("[a-z0-9]{1,8}"),
            upper in proptest::bool::ANY,
            googlemail in proptest::bool::ANY,
        ) {
            let mut local: String = name.clone();
            for at in dots {
                let at = at.min(local.len());
                if at > 0 && at < local.len() && !local[..at].ends_with('.') && !local[at..].starts_with('.') {
                    local.insert(at, '.');
                }
            }
            if let Some(tag) = tag {
                local = format!("{local}+{tag}");
            }
            let domain = if googlemail { "googlemail.com" } else { "gmail.com" };
            let mut address = format!("{local}@{domain}");
            if upper {
                address = address.to_uppercase();
            }
            let parsed = EmailAddress::parse(&address).unwrap();
            proptest::prop_assert_eq!(parsed.canonical(), format!("{name}@gmail.com"));
            proptest::prop_assert_eq!(parsed.as_str(), address.as_str());
        }
    }

    #[test]
    fn email_rejects_non_addresses() {
        for bad in ["", "no-at-sign", "a@b", "Jo <jo@example.com>", "@example.com", "a@@example.com"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn display_name_length_is_counted_in_characters() {
        assert!(DisplayName::parse("J").is_err());
        assert!(DisplayName::parse("Jo").is_ok());
        assert!(DisplayName::parse(&"é".repeat(50)).is_ok());
        assert!(DisplayName::parse(&"é".repeat(51)).is_err());
        assert!(DisplayName::parse("Jo\u{0007}").is_err());
    }

    #[test]
    fn leap_day_birthdays_age_on_the_first_of_march() {
        let dob = DateOfBirth::parse("2004-02-29", day(2030, 1, 1)).unwrap();
        assert_eq!(dob.age_on(day(2022, 2, 28)), 17);
        assert_eq!(dob.age_on(day(2022, 3, 1)), 18);
        assert_eq!(dob.age_on(day(2024, 2, 29)), 20);
    }

    #[test]
    fn future_and_malformed_birth_dates_are_rejected() {
        let today = day(2026, 11, 22);
        assert_eq!(DateOfBirth::parse("2026-11-23", today).unwrap_err().code, "implausible_date");
        assert_eq!(DateOfBirth::parse("22/11/2000", today).unwrap_err().code, "invalid_date");
        assert_eq!(DateOfBirth::parse("2001-02-29", today).unwrap_err().code, "invalid_date");
    }

    #[test]
    fn states_accept_any_case_and_reject_unknown_codes() {
        assert_eq!(UsState::parse("ca").unwrap().code(), "CA");
        assert_eq!(UsState::parse("DC").unwrap().code(), "DC");
        assert!(UsState::parse("ZZ").is_err());
        assert!(UsState::parse("PR").is_err());
    }

    proptest! {
        #[test]
        fn age_increases_by_exactly_one_per_birthday(y in 1930i32..2010, m in 1u32..=12, d in 1u32..=28, later in 0i32..80) {
            let dob = DateOfBirth(day(y, m, d));
            let birthday = day(y + later, m, d);
            prop_assert_eq!(dob.age_on(birthday), later as u32);
            if let Some(eve) = birthday.pred_opt().filter(|_| later > 0) {
                prop_assert_eq!(dob.age_on(eve), later as u32 - 1);
            }
        }

        #[test]
        fn canonical_email_ignores_case(local in "[a-zA-Z0-9]{1,20}", domain in "[a-zA-Z]{1,10}") {
            let lower = format!("{local}@{domain}.com").to_lowercase();
            let mixed = format!("{local}@{domain}.COM");
            prop_assert_eq!(EmailAddress::parse(&mixed).unwrap().canonical(), EmailAddress::parse(&lower).unwrap().canonical());
        }
    }
}
