//! `fittrack-draw-v1`: how a drawing's winners follow from its published snapshot and a public
//! randomness, so anyone can recompute them from the published files alone.
//! `docs/drawing-verification.md` states the protocol in prose; this module is that text as code,
//! and the verifier (`fittrack verify-drawing`) runs exactly these functions.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The protocol's name: the first input of the seed, and what results say they follow.
pub const PROTOCOL: &str = "fittrack-draw-v1";
/// The stream stops here even if places are left (then fewer are listed).
pub const MAX_DRAWS: u64 = 1 << 24;

/// A person's opaque id within one drawing: 16 bytes, shown as 32 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", schema(value_type = String, example = "3f1c0d8e9a7b6c5d4e3f2a1b0c9d8e7f"))]
pub struct EntrantId(pub [u8; 16]);

impl fmt::Display for EntrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl FromStr for EntrantId {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Lowercase only: the file's bytes are hashed, so one spelling per id.
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(ProtocolError::Entrant(s.chars().take(40).collect()));
        }
        let mut id = [0u8; 16];
        hex::decode_to_slice(s, &mut id).map_err(|_| ProtocolError::Entrant(s.to_owned()))?;
        Ok(Self(id))
    }
}

impl TryFrom<String> for EntrantId {
    type Error = ProtocolError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<EntrantId> for String {
    fn from(value: EntrantId) -> Self {
        value.to_string()
    }
}

/// Tickets `first .. first + count` belong to `entrant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketRange {
    pub first: u64,
    pub count: u64,
    pub entrant: EntrantId,
}

impl TicketRange {
    /// The range's line in the snapshot file, newline included.
    pub fn line(&self) -> String {
        format!("{},{},{}\n", self.first, self.count, self.entrant)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("not an entrant id (32 lowercase hex digits): {0:?}")]
    Entrant(String),
    #[error("snapshot line {line}: {reason}")]
    Line { line: usize, reason: String },
    #[error("snapshot has more than 2^63 tickets")]
    TooLarge,
}

/// The entries of a closed drawing, numbered: contiguous ranges covering tickets `0..N`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    ranges: Vec<TicketRange>,
    total: u64,
    distinct: usize,
}

impl Snapshot {
    /// Numbers the tickets of each entrant: one range per entrant, in entrant-id order (so the
    /// file does not depend on when or in what order anyone entered). Entrants with no tickets
    /// are left out; an entrant listed twice gets the sum.
    pub fn assign(entrants: impl IntoIterator<Item = (EntrantId, u64)>) -> Self {
        let mut sorted: Vec<(EntrantId, u64)> = entrants.into_iter().filter(|(_, n)| *n > 0).collect();
        sorted.sort_unstable_by_key(|(id, _)| *id);
        let mut ranges: Vec<TicketRange> = Vec::with_capacity(sorted.len());
        let mut next = 0u64;
        for (entrant, count) in sorted {
            match ranges.last_mut() {
                Some(last) if last.entrant == entrant => last.count += count,
                _ => ranges.push(TicketRange { first: next, count, entrant }),
            }
            next += count;
        }
        let distinct = ranges.len();
        Self { ranges, total: next, distinct }
    }

    /// Reads a snapshot file, refusing anything but the exact format: `<first>,<count>,<entrant>\n`
    /// per range, decimal without leading zeros, counts above zero, each range starting where
    /// the one before ended, from 0, and each entrant on one line only.
    ///
    /// # Errors
    /// [`ProtocolError::Line`] naming the first line that breaks the format.
    pub fn parse(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let text =
            std::str::from_utf8(bytes).map_err(|_| ProtocolError::Line { line: 1, reason: "not UTF-8".into() })?;
        if !text.is_empty() && !text.ends_with('\n') {
            let line = text.lines().count();
            return Err(ProtocolError::Line { line, reason: "the last line has no newline".into() });
        }
        let mut ranges = Vec::new();
        let mut next = 0u64;
        for (index, line) in text.split_terminator('\n').enumerate() {
            let bad = |reason: &str| ProtocolError::Line { line: index + 1, reason: reason.to_owned() };
            let mut fields = line.split(',');
            let (Some(first), Some(count), Some(entrant), None) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return Err(bad("expected <first>,<count>,<entrant>"));
            };
            let first = decimal(first).ok_or_else(|| bad("first is not a decimal integer"))?;
            let count = decimal(count).ok_or_else(|| bad("count is not a decimal integer"))?;
            let entrant = entrant.parse::<EntrantId>().map_err(|e| bad(&e.to_string()))?;
            if first != next {
                return Err(bad(&format!("range starts at {first}, expected {next}")));
            }
            if count == 0 {
                return Err(bad("a range holds at least one ticket"));
            }
            next = next.checked_add(count).filter(|n| *n <= 1 << 63).ok_or(ProtocolError::TooLarge)?;
            ranges.push(TicketRange { first, count, entrant });
        }
        let distinct = ranges.iter().map(|r| r.entrant).collect::<HashSet<_>>().len();
        if distinct != ranges.len() {
            return Err(ProtocolError::Line { line: 0, reason: "an entrant is listed on more than one line".into() });
        }
        Ok(Self { ranges, total: next, distinct })
    }

    /// The file: every range's line, in ticket order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.ranges.len() * 48);
        for range in &self.ranges {
            out.extend_from_slice(range.line().as_bytes());
        }
        out
    }

    /// SHA-256 of the file's bytes, computed without building the file.
    pub fn hash(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        for range in &self.ranges {
            hasher.update(range.line().as_bytes());
        }
        hasher.finalize().into()
    }

    /// N, the number of tickets.
    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn ranges(&self) -> &[TicketRange] {
        &self.ranges
    }

    /// The range holding ticket `t`, if `t < N`.
    pub fn range_of(&self, ticket: u64) -> Option<&TicketRange> {
        let index = self.ranges.partition_point(|r| r.first + r.count <= ticket);
        self.ranges.get(index).filter(|r| r.first <= ticket)
    }
}

/// A decimal integer as the format writes it: digits only, no sign, no leading zero.
fn decimal(field: &str) -> Option<u64> {
    let canonical =
        !field.is_empty() && field.bytes().all(|b| b.is_ascii_digit()) && (field == "0" || !field.starts_with('0'));
    if canonical { field.parse().ok() } else { None }
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// `SHA-256("fittrack-draw-v1" ‖ snapshot_hash ‖ R)`.
pub fn seed(snapshot_hash: &[u8; 32], randomness: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(PROTOCOL.as_bytes());
    hasher.update(snapshot_hash);
    hasher.update(randomness);
    hasher.finalize().into()
}

/// The `k`th number of the stream: the first 8 bytes of `SHA-256(seed ‖ k)` (k as 8 bytes,
/// big-endian), read big-endian.
pub fn stream_value(seed: &[u8; 32], k: u64) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(seed);
    hasher.update(k.to_be_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The ticket the `k`th number picks out of `n`, or none when the number falls in the biased
/// tail (`x ≥ n·⌊2^64/n⌋`) and is skipped.
pub fn ticket_for(x: u64, n: u64) -> Option<u64> {
    let n128 = u128::from(n);
    let bound = ((1u128 << 64) / n128) * n128;
    (u128::from(x) < bound).then(|| x % n)
}

/// One place given by the stream: the `place`th winner (or alternate), 1-based within its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Placement {
    pub place: u32,
    pub ticket: u64,
    pub entrant: EntrantId,
    /// The stream index that gave it (not needed to verify; it shows where to look).
    pub k: u64,
}

/// Winners in place order (a place per prize unit, prizes in the order listed), then as many
/// alternates, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub winners: Vec<Placement>,
    pub alternates: Vec<Placement>,
}

/// Runs the stream over `snapshot` for `places` places and as many alternates.
pub fn draw(snapshot: &Snapshot, seed: &[u8; 32], places: u32) -> Outcome {
    let mut outcome = Outcome::default();
    let n = snapshot.total();
    if n == 0 || places == 0 {
        return outcome;
    }
    let wanted = 2 * places as usize;
    let mut placed: HashSet<EntrantId> = HashSet::with_capacity(wanted);
    for k in 0..MAX_DRAWS {
        if placed.len() == wanted || placed.len() == snapshot.distinct {
            break;
        }
        let Some(ticket) = ticket_for(stream_value(seed, k), n) else { continue };
        let Some(range) = snapshot.range_of(ticket) else { continue };
        if !placed.insert(range.entrant) {
            continue;
        }
        let list = if outcome.winners.len() < places as usize { &mut outcome.winners } else { &mut outcome.alternates };
        let place = u32::try_from(list.len()).unwrap_or(u32::MAX) + 1;
        list.push(Placement { place, ticket, entrant: range.entrant, k });
    }
    outcome
}

/// drand's round numbering: round 1 at `genesis`, one every `period` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundClock {
    pub genesis: i64,
    pub period: i64,
}

impl RoundClock {
    /// The first round published at or after `at` (epoch seconds); none for a clock that does
    /// not tick forward (a period of zero or less) or an instant it cannot count to.
    pub fn round_at_or_after(&self, at: i64) -> Option<u64> {
        if self.period <= 0 {
            return None;
        }
        if at <= self.genesis {
            return Some(1);
        }
        let elapsed = at.checked_sub(self.genesis)?;
        let steps = elapsed.checked_add(self.period - 1)? / self.period;
        u64::try_from(steps).ok()?.checked_add(1)
    }

    /// When `round` is published (epoch seconds), if the clock can say.
    pub fn time_of(&self, round: u64) -> Option<i64> {
        let steps = i64::try_from(round.checked_sub(1)?).ok()?;
        self.genesis.checked_add(steps.checked_mul(self.period)?)
    }
}

/// Seconds between close and the earliest instant the deciding randomness may be published: a
/// drawing closed late commits to a later round, never to one that may already be public.
pub const COMMIT_MARGIN_SECS: i64 = 30;

/// The instant the deciding randomness is published at or after: the drawing time, or, for a
/// drawing closed late, [`COMMIT_MARGIN_SECS`] after its close.
pub fn decided_at(draw_at: i64, closed_at: i64) -> i64 {
    draw_at.max(closed_at.saturating_add(COMMIT_MARGIN_SECS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entrant(n: u64) -> EntrantId {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&sha256(&n.to_be_bytes())[..8]);
        id[8..].copy_from_slice(&n.to_be_bytes());
        EntrantId(id)
    }

    fn snapshot_of(counts: &[u64]) -> Snapshot {
        Snapshot::assign(counts.iter().enumerate().map(|(i, c)| (entrant(i as u64), *c)))
    }

    #[test]
    fn the_file_format() {
        let a: EntrantId = "0000000000000000000000000000000a".parse().unwrap();
        let b: EntrantId = "0000000000000000000000000000000b".parse().unwrap();
        let snapshot = Snapshot::assign([(b, 2), (a, 3)]);
        let file = "0,3,0000000000000000000000000000000a\n3,2,0000000000000000000000000000000b\n";
        assert_eq!(snapshot.to_bytes(), file.as_bytes());
        assert_eq!(snapshot.hash(), sha256(file.as_bytes()));
        assert_eq!(Snapshot::parse(file.as_bytes()).unwrap(), snapshot);
        for broken in [
            "0,3,0000000000000000000000000000000a\n3,2,0000000000000000000000000000000b",
            "1,3,0000000000000000000000000000000a\n",
            "0,03,0000000000000000000000000000000a\n",
            "0,0,0000000000000000000000000000000a\n",
            "0,3,0000000000000000000000000000000A\n",
            "0,3,0000000000000000000000000000000a\n4,2,0000000000000000000000000000000b\n",
            "first,count,entrant\n0,3,0000000000000000000000000000000a\n",
            "0,3,0000000000000000000000000000000a,\n",
            "0,3,0000000000000000000000000000000a\n3,2,0000000000000000000000000000000a\n",
        ] {
            assert!(Snapshot::parse(broken.as_bytes()).is_err(), "{broken:?}");
        }
        assert_eq!(Snapshot::parse(b"").unwrap().total(), 0);
    }

    #[test]
    fn no_modulo_bias() {
        // 3 does not divide 2^64: the top values are skipped; a power of two skips nothing.
        assert_eq!(ticket_for(u64::MAX, 3), None);
        assert_eq!(ticket_for(u64::MAX - 1, 3), Some((u64::MAX - 1) % 3));
        assert_eq!(ticket_for(u64::MAX, 4), Some(3));
        assert_eq!(ticket_for(7, 1), Some(0));
        assert_eq!(ticket_for(u64::MAX, 1), Some(0));
    }

    #[test]
    fn drand_rounds() {
        // quicknet: round 1 at genesis, every 3 s.
        let clock = RoundClock { genesis: 1_692_803_367, period: 3 };
        assert_eq!(clock.round_at_or_after(1_692_803_367), Some(1));
        assert_eq!(clock.round_at_or_after(1_692_803_368), Some(2));
        assert_eq!(clock.round_at_or_after(1_692_803_370), Some(2));
        assert_eq!(clock.round_at_or_after(1_692_803_371), Some(3));
        assert_eq!(clock.time_of(3), Some(1_692_803_373));
        // Nonsense clocks answer nothing rather than panic.
        assert_eq!(RoundClock { genesis: 0, period: 0 }.round_at_or_after(10), None);
        assert_eq!(RoundClock { genesis: 0, period: -3 }.round_at_or_after(10), None);
        assert_eq!(RoundClock { genesis: i64::MIN, period: 3 }.round_at_or_after(i64::MAX), None);
        assert_eq!(RoundClock { genesis: i64::MAX, period: 3 }.time_of(2), None);
        assert_eq!(decided_at(100, 50), 100);
        assert_eq!(decided_at(100, 90), 120);
    }

    #[test]
    fn empty_and_tiny_drawings() {
        assert_eq!(draw(&Snapshot::default(), &[7; 32], 3), Outcome::default());
        let one = snapshot_of(&[5]);
        let outcome = draw(&one, &[1; 32], 3);
        assert_eq!(outcome.winners.len(), 1);
        assert!(outcome.alternates.is_empty());
    }

    proptest! {
        /// The ranges cover 0..N exactly, each entrant once, and survive a round trip through the file.
        #[test]
        fn ranges_cover_every_ticket_once(counts in prop::collection::vec(0u64..50, 0..40)) {
            let snapshot = snapshot_of(&counts);
            prop_assert_eq!(snapshot.total(), counts.iter().sum::<u64>());
            let mut next = 0;
            for range in snapshot.ranges() {
                prop_assert_eq!(range.first, next);
                prop_assert!(range.count > 0);
                next += range.count;
            }
            prop_assert_eq!(next, snapshot.total());
            for t in 0..snapshot.total() {
                let range = snapshot.range_of(t).unwrap();
                prop_assert!(range.first <= t && t < range.first + range.count);
            }
            prop_assert!(snapshot.range_of(snapshot.total()).is_none());
            prop_assert_eq!(Snapshot::parse(&snapshot.to_bytes()).unwrap(), snapshot);
        }

        /// No entrant is placed twice; winners fill the places first and alternates continue
        /// the same stream; the lists are only short when entrants ran out.
        #[test]
        fn places_and_alternates(counts in prop::collection::vec(0u64..20, 0..30), places in 0u32..8, seed in any::<[u8; 32]>()) {
            let snapshot = snapshot_of(&counts);
            let outcome = draw(&snapshot, &seed, places);
            let all: Vec<&Placement> = outcome.winners.iter().chain(&outcome.alternates).collect();
            let distinct: HashSet<EntrantId> = all.iter().map(|p| p.entrant).collect();
            prop_assert_eq!(distinct.len(), all.len());
            let entrants = counts.iter().filter(|c| **c > 0).count();
            prop_assert_eq!(all.len(), entrants.min(2 * places as usize));
            prop_assert!(outcome.alternates.is_empty() || outcome.winners.len() == places as usize);
            // One stream: k strictly increases from the first winner to the last alternate.
            prop_assert!(all.windows(2).all(|w| w[0].k < w[1].k));
            for (i, p) in outcome.winners.iter().enumerate() { prop_assert_eq!(p.place as usize, i + 1); }
            for (i, p) in outcome.alternates.iter().enumerate() { prop_assert_eq!(p.place as usize, i + 1); }
            for p in &all {
                prop_assert_eq!(snapshot.range_of(p.ticket).unwrap().entrant, p.entrant);
                prop_assert_eq!(ticket_for(stream_value(&seed, p.k), snapshot.total()), Some(p.ticket));
            }
            // The alternates are what a draw for twice the places would give as its second half.
            let longer = draw(&snapshot, &seed, 2 * places);
            let firsts: Vec<EntrantId> = longer.winners.iter().chain(&longer.alternates).map(|p| p.entrant).take(all.len()).collect();
            prop_assert_eq!(firsts, all.iter().map(|p| p.entrant).collect::<Vec<_>>());
        }
    }

    /// Every ticket is equally likely to win the first place: over many seeds, each of a small
    /// drawing's tickets wins within the statistical bounds (chi-squared, df = N − 1, p ≈ 0.001).
    #[test]
    fn each_ticket_is_equally_likely() {
        let counts = [1u64, 2, 3, 4, 7];
        let snapshot = snapshot_of(&counts);
        let n = snapshot.total() as usize; // 17 tickets
        let trials = 68_000u64;
        let mut wins = vec![0u64; n];
        for trial in 0..trials {
            let seed = sha256(&trial.to_be_bytes());
            wins[draw(&snapshot, &seed, 1).winners[0].ticket as usize] += 1;
        }
        let expected = trials as f64 / n as f64;
        let chi2: f64 = wins.iter().map(|w| (*w as f64 - expected).powi(2) / expected).sum();
        // The 0.999 quantile of chi-squared with 16 degrees of freedom is 39.25.
        assert!(chi2 < 39.25, "chi2 = {chi2}, wins = {wins:?}");
        // And per entrant, a share in proportion to their tickets.
        for range in snapshot.ranges() {
            let share: u64 = (range.first..range.first + range.count).map(|t| wins[t as usize]).sum();
            let expected = trials as f64 * range.count as f64 / n as f64;
            assert!((share as f64 - expected).abs() < 5.0 * expected.sqrt(), "{share} vs {expected}");
        }
    }
}
