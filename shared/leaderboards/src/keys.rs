//! Every key of the leaderboards table, in one place (see docs/data-model.md, "leaderboards").

use std::fmt;

use chrono::NaiveDate;

use fittrack_domain::UserId;
use fittrack_domain::leaderboard::Period;
use fittrack_platform::ports::Key;

/// One board: a tier and a period, named by the period's first competition day.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BoardId {
    pub tier: String,
    pub period: Period,
    pub start: NaiveDate,
}

impl BoardId {
    /// The board of `period` in `tier` that counts competition day `day`.
    pub fn of_day(tier: &str, period: Period, day: NaiveDate) -> Self {
        Self { tier: tier.to_owned(), period, start: period.start_of(day) }
    }

    /// `<tier>#<period letter>#<yyyymmdd>`: short, because it is in the key of every row.
    pub fn code(&self) -> String {
        format!("{}#{}#{}", self.tier, self.period.code(), self.start.format("%Y%m%d"))
    }

    pub fn parse(code: &str) -> Option<Self> {
        let mut parts = code.split('#');
        let tier = parts.next()?.to_owned();
        let letter = parts.next()?;
        let period = Period::ALL.into_iter().find(|p| p.code().to_string() == letter)?;
        let start = NaiveDate::parse_from_str(parts.next()?, "%Y%m%d").ok()?;
        parts.next().is_none().then_some(Self { tier, period, start })
    }

    /// Epoch seconds after which the board's items may be removed; none for all-time boards.
    pub fn expires_at(&self) -> Option<i64> {
        let final_at = self.period.final_at(self.start)?;
        Some(final_at.timestamp() + self.period.retention_days()? * 86_400)
    }
}

impl fmt::Display for BoardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

/// The partition of a board's rows, sorted by standing.
pub fn rows_partition(board: &BoardId) -> String {
    format!("R#{}", board.code())
}

/// The partition of a board's count items of `level` (1 = ranges of rows).
pub fn counts_partition(board: &BoardId, level: u8) -> String {
    format!("C{level}#{}", board.code())
}

/// Where a user's boards and competition days are kept.
pub fn user_partition(user: UserId) -> String {
    format!("U#{}", user.simple())
}

pub fn state_key(user: UserId) -> Key {
    Key::new(user_partition(user), "STATE")
}

/// A person's standings on final boards, kept until the boards expire (`me` of a past period).
pub fn archive_key(user: UserId) -> Key {
    Key::new(user_partition(user), "ARCHIVE")
}

pub fn day_key(user: UserId, day: NaiveDate) -> Key {
    Key::new(user_partition(user), format!("D#{day}"))
}

/// Events waiting for their tier's writer.
pub fn staged_partition(tier: &str) -> String {
    format!("Q#{tier}")
}

/// Events set aside because they could not be applied (for an operator).
pub fn dead_partition(tier: &str) -> String {
    format!("DEAD#{tier}")
}

/// The single-writer lease of a tier's boards.
pub fn lease_key(tier: &str) -> Key {
    Key::new(format!("LEASE#{tier}"), "LEASE")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_codes_round_trip() {
        let board = BoardId::of_day("F-30-39-INT", Period::Weekly, NaiveDate::from_ymd_opt(2026, 11, 25).unwrap());
        assert_eq!(board.code(), "F-30-39-INT#W#20261123");
        assert_eq!(BoardId::parse(&board.code()), Some(board));
        assert_eq!(BoardId::parse("F-30-39-INT#X#20261123"), None);
        assert_eq!(BoardId::parse("F-30-39-INT#W#20261123#x"), None);
    }
}
