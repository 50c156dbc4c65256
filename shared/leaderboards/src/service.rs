//! What the API reads: a board's top, a person's place with their neighbours, and a person's
//! place on the four current boards of their tier.

use std::sync::Arc;

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Serialize;

use fittrack_domain::leaderboard::{ALL_TIME_START, Period, Standing, percentile};
use fittrack_domain::points::competition_day;
use fittrack_domain::{Tier, UserId};
use fittrack_platform::clock::Clock;
use fittrack_platform::crypto::PiiCipher;
use fittrack_platform::ports::{ItemStore, StoreError};
use fittrack_platform::{BuildError, Config};
use fittrack_users::UserDirectory;

use crate::index::{BoardIndex, Row};
use crate::keys::BoardId;
use crate::standings::{final_standing, is_open, standings_of};

/// Rows above and below a person that `me` shows.
pub const NEIGHBOURS: u32 = 10;
pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 100;
/// No board holds more people than this; a cursor past it is not one we handed out.
const MAX_OFFSET: u64 = 1 << 40;

#[derive(Debug, thiserror::Error)]
pub enum LeaderboardError {
    #[error("unknown period; one of daily, weekly, monthly, all_time")]
    InvalidPeriod,
    #[error("not a tier code such as F-30-39-INT")]
    InvalidTier,
    #[error("period_start must be a YYYY-MM-DD date on which a {0} period starts, not in the future")]
    InvalidPeriodStart(Period),
    #[error("limit must be between 1 and {MAX_LIMIT}")]
    InvalidLimit,
    #[error("invalid cursor")]
    InvalidCursor,
    /// No tier given and the caller has none (profile incomplete).
    #[error("complete your profile to be placed in a tier, or name one with ?tier=")]
    NoTier,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Which board an answer is about.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BoardInfo {
    pub period: Period,
    pub tier: String,
    pub tier_name: String,
    /// The first competition day of the period; `null` for all-time.
    pub period_start: Option<NaiveDate>,
    /// The last competition day of the period; `null` for all-time.
    pub period_end: Option<NaiveDate>,
    /// When the board stops changing (a day after its period ends, for late syncs); `null` for
    /// all-time.
    pub final_at: Option<DateTime<Utc>>,
    /// Whether the board is final: its standings no longer change.
    pub is_final: bool,
    /// People on the board.
    pub size: u64,
}

/// One row of a board.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RankedRow {
    pub rank: u64,
    pub points: i64,
    pub active_days: u32,
    /// The display name of a public profile, or a pseudonym (stable per board) for a private one.
    pub display_name: String,
    /// `null` for a private profile.
    pub user_id: Option<UserId>,
    pub tier: String,
    /// Whether this row is the caller's.
    pub is_you: bool,
}

#[derive(Debug)]
pub struct BoardPage {
    pub board: BoardInfo,
    pub items: Vec<RankedRow>,
    /// Pass as `cursor` for the rows after these; `null` at the end of the board.
    pub next_cursor: Option<String>,
}

/// The caller's place on one board.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MyPlace {
    pub board: BoardInfo,
    /// `false` until the caller earns points that count on this board.
    pub on_board: bool,
    pub rank: Option<u64>,
    pub points: i64,
    pub active_days: u32,
    /// Share of the board at or below the caller, in percent (the leader is at 100).
    pub percentile: Option<f64>,
    /// Up to ten rows just above the caller, in board order.
    pub above: Vec<RankedRow>,
    /// Up to ten rows just below the caller.
    pub below: Vec<RankedRow>,
}

/// The caller's place on the four current boards of their tier.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MyRanks {
    pub tier: String,
    pub boards: Vec<MyRank>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MyRank {
    pub period: Period,
    pub period_start: Option<NaiveDate>,
    pub on_board: bool,
    pub rank: Option<u64>,
    pub points: i64,
    pub percentile: Option<f64>,
    pub size: u64,
}

#[derive(Clone)]
pub struct LeaderboardService {
    store: Arc<dyn ItemStore>,
    index: BoardIndex,
    users: UserDirectory,
    clock: Arc<dyn Clock>,
    /// Keys the pseudonyms of private profiles: without it, anyone who knows a user id could
    /// work out their pseudonym.
    keys: Arc<PiiCipher>,
}

impl LeaderboardService {
    pub fn new(store: Arc<dyn ItemStore>, clock: Arc<dyn Clock>, keys: Arc<PiiCipher>) -> Self {
        Self {
            index: BoardIndex::new(Arc::clone(&store)),
            users: UserDirectory::new(Arc::clone(&store)),
            store,
            clock,
            keys,
        }
    }

    /// The service with the pseudonym key from configuration (the PII key's lookup half).
    ///
    /// # Errors
    /// [`BuildError`] when the PII key is missing or malformed.
    pub fn from_config(config: &Config, store: Arc<dyn ItemStore>, clock: Arc<dyn Clock>) -> Result<Self, BuildError> {
        let key = config.pii_key.as_ref().ok_or(BuildError::Missing("FITTRACK_PII_KEY"))?;
        let keys = PiiCipher::from_master_key(secrecy::ExposeSecret::expose_secret(key))
            .map_err(|e| BuildError::InvalidKey { name: "FITTRACK_PII_KEY", reason: e.to_string() })?;
        Ok(Self::new(store, clock, Arc::new(keys)))
    }

    /// The board a request names: its period, its tier (the caller's by default) and the period
    /// holding today, or the one starting on `period_start`.
    ///
    /// # Errors
    /// [`LeaderboardError::InvalidPeriod`], [`LeaderboardError::InvalidTier`],
    /// [`LeaderboardError::InvalidPeriodStart`], [`LeaderboardError::NoTier`]; store failures.
    pub async fn board(
        &self,
        caller: UserId,
        period: &str,
        tier: Option<&str>,
        period_start: Option<&str>,
    ) -> Result<BoardId, LeaderboardError> {
        let period: Period = period.parse().map_err(|()| LeaderboardError::InvalidPeriod)?;
        let tier = match tier {
            Some(code) => code.parse::<Tier>().map_err(|_| LeaderboardError::InvalidTier)?.code(),
            None => self.tier_of(caller).await?,
        };
        let today = competition_day(self.clock.now());
        let start = match period_start {
            None => period.start_of(today),
            Some(raw) => {
                let start = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                    .map_err(|_| LeaderboardError::InvalidPeriodStart(period))?;
                let in_range = (ALL_TIME_START..=today).contains(&start);
                if period == Period::AllTime || !in_range || !period.is_start(start) {
                    return Err(LeaderboardError::InvalidPeriodStart(period));
                }
                start
            }
        };
        Ok(BoardId { tier, period, start })
    }

    /// The tier the user competes in today (a change counts from the next competition day).
    async fn tier_of(&self, user: UserId) -> Result<String, LeaderboardError> {
        let today = competition_day(self.clock.now());
        let competitor = self.users.competitor(user).await?;
        competitor.and_then(|c| c.placement.tier_on(today).map(str::to_owned)).ok_or(LeaderboardError::NoTier)
    }

    /// The board's rows from the top, or after `cursor`.
    ///
    /// # Errors
    /// [`LeaderboardError::InvalidLimit`], [`LeaderboardError::InvalidCursor`]; store failures.
    pub async fn page(
        &self,
        caller: UserId,
        board: &BoardId,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<BoardPage, LeaderboardError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(LeaderboardError::InvalidLimit);
        }
        // The cursor is the number of rows before the page: no row's key (which would name its
        // user) leaves the server, and ranks stay exact page after page.
        let offset = cursor.map(parse_cursor).transpose()?.unwrap_or(0);
        let mut rows = self.index.rows_at(board, offset, limit).await?;
        self.current_names(board, &mut rows).await?;
        let items: Vec<RankedRow> =
            rows.iter().enumerate().map(|(i, row)| self.ranked(board, caller, row, offset + 1 + i as u64)).collect();
        let next_cursor = (items.len() == limit as usize).then(|| (offset + u64::from(limit)).to_string());
        Ok(BoardPage { board: self.info(board).await?, items, next_cursor })
    }

    /// The caller's place on `board` with the rows around it.
    ///
    /// # Errors
    /// Store failures.
    pub async fn me(&self, caller: UserId, board: &BoardId) -> Result<MyPlace, LeaderboardError> {
        let info = self.info(board).await?;
        let standing = if info.is_final {
            final_standing(self.store.as_ref(), caller, board).await?
        } else {
            standings_of(self.store.as_ref(), caller).await?.remove(board)
        };
        let Some(standing) = standing else {
            return Ok(MyPlace {
                board: info,
                on_board: false,
                rank: None,
                points: 0,
                active_days: 0,
                percentile: None,
                above: Vec::new(),
                below: Vec::new(),
            });
        };
        let key = standing.sort_key();
        let rank = self.index.rows_before(board, &key).await? + 1;
        let mut above = self.index.rows_before_key(board, &key, NEIGHBOURS).await?;
        let mut below = self.index.rows_after(board, Some(&key), NEIGHBOURS).await?;
        self.current_names(board, &mut above).await?;
        self.current_names(board, &mut below).await?;
        let first_above = rank.saturating_sub(above.len() as u64);
        Ok(MyPlace {
            on_board: true,
            rank: Some(rank),
            points: standing.points,
            active_days: standing.active_days,
            percentile: Some(percentile(rank, info.size.max(rank))),
            above: above
                .iter()
                .enumerate()
                .map(|(i, row)| self.ranked(board, caller, row, first_above + i as u64))
                .collect(),
            below: below
                .iter()
                .enumerate()
                .map(|(i, row)| self.ranked(board, caller, row, rank + 1 + i as u64))
                .collect(),
            board: info,
        })
    }

    /// Where `user` stands on `board`, if they are on it (one read of their state item).
    ///
    /// # Errors
    /// Store failures.
    pub async fn standing(&self, user: UserId, board: &BoardId) -> Result<Option<Standing>, LeaderboardError> {
        Ok(standings_of(self.store.as_ref(), user).await?.remove(board))
    }

    /// The caller's place on the current daily, weekly, monthly and all-time boards of their tier.
    ///
    /// # Errors
    /// [`LeaderboardError::NoTier`]; store failures.
    pub async fn my_ranks(&self, caller: UserId) -> Result<MyRanks, LeaderboardError> {
        let tier = self.tier_of(caller).await?;
        let today = competition_day(self.clock.now());
        let standings = standings_of(self.store.as_ref(), caller).await?;
        let mut boards = Vec::new();
        for period in Period::ALL {
            let board = BoardId::of_day(&tier, period, today);
            let size = self.index.size(&board).await?;
            let (on_board, rank, points) = match standings.get(&board) {
                Some(standing) => {
                    let rank = self.index.rows_before(&board, &standing.sort_key()).await? + 1;
                    (true, Some(rank), standing.points)
                }
                None => (false, None, 0),
            };
            boards.push(MyRank {
                period,
                period_start: (period != Period::AllTime).then_some(board.start),
                on_board,
                rank,
                points,
                percentile: rank.map(|r| percentile(r, size.max(r))),
                size,
            });
        }
        Ok(MyRanks { tier, boards })
    }

    async fn info(&self, board: &BoardId) -> Result<BoardInfo, StoreError> {
        let all_time = board.period == Period::AllTime;
        Ok(BoardInfo {
            period: board.period,
            tier_name: board.tier.parse::<Tier>().map(|t| t.display_name()).unwrap_or_default(),
            tier: board.tier.clone(),
            period_start: (!all_time).then_some(board.start),
            period_end: board.period.end_of(board.start).and_then(|end| end.checked_sub_days(Days::new(1))),
            final_at: board.period.final_at(board.start),
            is_final: !is_open(board, self.clock.now()),
            size: self.index.size(board).await?,
        })
    }

    /// On a final board, the names its rows were written with may be out of date (no rename
    /// reaches a final board): each named row shows the name its profile shows now, or none if it
    /// went private. One read per named row, for past periods only; open boards are kept current
    /// by renames.
    async fn current_names(&self, board: &BoardId, rows: &mut [Row]) -> Result<(), StoreError> {
        if is_open(board, self.clock.now()) {
            return Ok(());
        }
        let lookups: Vec<_> = rows
            .iter()
            .map(|row| {
                let (users, user, named) = (self.users.clone(), row.standing.user, row.name.is_some());
                Box::pin(async move {
                    if !named {
                        return Ok(None);
                    }
                    Ok(users.competitor(user).await?.and_then(|c| c.public_name().map(str::to_owned)))
                })
            })
            .collect();
        let names: Vec<Result<Option<String>, StoreError>> = futures_util::future::join_all(lookups).await;
        for (row, name) in rows.iter_mut().zip(names) {
            row.name = name?;
        }
        Ok(())
    }

    /// The name a private profile goes by on one board: stable there, different on every other
    /// board (so it does not follow the person around), and keyed (so a user id does not reveal it).
    fn pseudonym(&self, board: &BoardId, user: UserId) -> String {
        let digest = self.keys.lookup_hash("leaderboard-pseudonym", &format!("{}:{user}", board.code()));
        let tag: String = digest.chars().filter(char::is_ascii_alphanumeric).take(6).collect();
        format!("Athlete {tag}")
    }

    fn ranked(&self, board: &BoardId, caller: UserId, row: &Row, rank: u64) -> RankedRow {
        let user = row.standing.user;
        RankedRow {
            rank,
            points: row.standing.points,
            active_days: row.standing.active_days,
            display_name: row.name.clone().unwrap_or_else(|| self.pseudonym(board, user)),
            user_id: row.name.is_some().then_some(user),
            tier: board.tier.clone(),
            is_you: user == caller,
        }
    }
}

fn parse_cursor(cursor: &str) -> Result<u64, LeaderboardError> {
    cursor.parse::<u64>().ok().filter(|offset| *offset <= MAX_OFFSET).ok_or(LeaderboardError::InvalidCursor)
}
