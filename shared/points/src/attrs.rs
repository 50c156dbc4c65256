//! The attribute names of the points table's items that conditions and updates touch: each named
//! once, here, beside the item it belongs to (the items themselves are read into `BalanceRead`,
//! `BookedDay` and `LedgerEntry`).

/// The balance item (`USER#<id>` / `BALANCE`).
pub(crate) mod balance {
    pub(crate) const BALANCE: &str = "balance";
    pub(crate) const HELD: &str = "held";
    pub(crate) const LIFETIME_EARNED: &str = "lifetime_earned";
    /// The number of the last ledger entry: every entry is conditioned on it.
    pub(crate) const SEQ: &str = "seq";
    /// Open reviews of the account; while above zero, awards are held.
    pub(crate) const HOLDS: &str = "holds";
    /// Bumped by every write of records and every day booking (see the crate docs).
    pub(crate) const ACTIVITY_REV: &str = "activity_rev";
    /// `held_day#<date>`: the held points of one competition day, so a release (or a forfeit of
    /// a correction) reaches the leaderboards on the days the points were earned.
    pub(crate) const HELD_DAY_PREFIX: &str = "held_day#";

    pub(crate) fn held_day(day: chrono::NaiveDate) -> String {
        format!("{HELD_DAY_PREFIX}{day}")
    }
}

/// A booked day (`USER#<id>` / `DAY#<date>`).
pub(crate) mod day {
    pub(crate) const TOTAL: &str = "total";
    pub(crate) const POINTS: &str = "points";
    /// The activity revision the booking was computed from.
    pub(crate) const COMPUTED_REV: &str = "computed_rev";
    /// What the day adds to its tier's baseline, if anything.
    pub(crate) const BASELINE_SCORE: &str = "baseline_score";
}
