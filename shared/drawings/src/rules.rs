//! The official rules of a drawing, rendered from compiled templates with the drawing's own facts.
//!
//! Sweepstakes law makes the rules part of the offer: the entry methods, limits, prizes and dates
//! an entrant reads must be the ones the drawing actually runs with. So no rules are typed by hand
//! per drawing: the legal text is a fixed template (HTML for the app and the web, plain text for
//! email and archiving) and every variable part comes from [`RulesFacts`], built from the stored
//! drawing by the caller.

use std::collections::BTreeMap;

use askama::Template;
use chrono::{DateTime, Timelike, Utc};
use chrono_tz::America::New_York;

use fittrack_domain::UsState;
use fittrack_domain::drawing::DrawingType;
use fittrack_domain::eligibility::age_of_majority;

/// Plain-text lines are wrapped at this width so the rules read well in email clients and
/// terminals, with room left for quoting.
const TEXT_WIDTH: usize = 78;

/// The age the rules state as the general requirement; states whose age of majority differs are
/// named next to it, from [`age_of_majority`] so the rules cannot drift from the sign-up check.
const BASE_AGE_OF_MAJORITY: u32 = 18;

/// Eligibility is stated by state name, as courts and regulators read it, with the USPS code the
/// app shows next to it.
const STATE_NAMES: [(&str, &str); 51] = [
    ("AL", "Alabama"),
    ("AK", "Alaska"),
    ("AZ", "Arizona"),
    ("AR", "Arkansas"),
    ("CA", "California"),
    ("CO", "Colorado"),
    ("CT", "Connecticut"),
    ("DE", "Delaware"),
    ("DC", "the District of Columbia"),
    ("FL", "Florida"),
    ("GA", "Georgia"),
    ("HI", "Hawaii"),
    ("ID", "Idaho"),
    ("IL", "Illinois"),
    ("IN", "Indiana"),
    ("IA", "Iowa"),
    ("KS", "Kansas"),
    ("KY", "Kentucky"),
    ("LA", "Louisiana"),
    ("ME", "Maine"),
    ("MD", "Maryland"),
    ("MA", "Massachusetts"),
    ("MI", "Michigan"),
    ("MN", "Minnesota"),
    ("MS", "Mississippi"),
    ("MO", "Missouri"),
    ("MT", "Montana"),
    ("NE", "Nebraska"),
    ("NV", "Nevada"),
    ("NH", "New Hampshire"),
    ("NJ", "New Jersey"),
    ("NM", "New Mexico"),
    ("NY", "New York"),
    ("NC", "North Carolina"),
    ("ND", "North Dakota"),
    ("OH", "Ohio"),
    ("OK", "Oklahoma"),
    ("OR", "Oregon"),
    ("PA", "Pennsylvania"),
    ("RI", "Rhode Island"),
    ("SC", "South Carolina"),
    ("SD", "South Dakota"),
    ("TN", "Tennessee"),
    ("TX", "Texas"),
    ("UT", "Utah"),
    ("VT", "Vermont"),
    ("VA", "Virginia"),
    ("WA", "Washington"),
    ("WV", "West Virginia"),
    ("WI", "Wisconsin"),
    ("WY", "Wyoming"),
];

/// Everything about one drawing that its official rules state. Built from the stored drawing and
/// the operator's configuration, so the published rules and the running drawing share one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesFacts {
    pub drawing_id: String,
    pub title: String,
    pub description: String,
    pub drawing_type: DrawingType,
    /// Who runs the app and the drawing ("FitTrack"); named as the administrator.
    pub operator: String,
    pub sponsor_name: String,
    /// Postal address; one line per address line.
    pub sponsor_address: String,
    pub sponsor_website: Option<String>,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub draw_at: DateTime<Utc>,
    pub ticket_cost_points: u64,
    pub max_tickets_per_person: u64,
    /// Tickets one free entry gives, online or by mail alike.
    pub free_entry_tickets: u64,
    /// Where mail-in entries go; one line per address line.
    pub mail_in_address: String,
    pub min_account_age_days: u32,
    pub premium_only: bool,
    /// Every exclusion together (operator, registration guard, drawing), sorted.
    pub excluded_states: Vec<UsState>,
    /// In place order: the protocol gives places to prize units in this order.
    pub prizes: Vec<PrizeFacts>,
    /// Prizes with an ARV at or above this are reported on IRS Form 1099-MISC.
    pub tax_threshold_cents: u64,
    /// Days a potential winner has to confirm a shipping address before the prize passes on.
    pub claim_days: u32,
    /// The fittrack-draw-v1 protocol document.
    pub verification_url: String,
    /// Where the snapshot, the randomness and the results are published.
    pub results_url: String,
    /// Where the snapshot's hash and the beacon round are published at close.
    pub commitment_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrizeFacts {
    pub name: String,
    pub description: String,
    /// Approximate retail value of one unit.
    pub arv_cents: u64,
    pub quantity: u32,
}

/// The same rules in both forms: HTML to show in the app and publish, plain text for email and
/// for archiving with the drawing's results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficialRules {
    pub html: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rules template: {0}")]
    Template(#[from] askama::Error),
}

/// Renders both forms of the official rules of the drawing `facts` describes. Times are shown in
/// America/New_York with their abbreviation (EST/EDT), the zone the app's days follow, and in UTC
/// so entrants elsewhere are not left converting.
///
/// # Errors
/// A template that fails to render.
pub fn render(facts: &RulesFacts) -> Result<OfficialRules, RulesError> {
    let view = View::new(facts);
    let html = RulesHtml { r: &view }.render()?;
    let text = tidy_text(&RulesText { r: &view }.render()?);
    Ok(OfficialRules { html, text })
}

/// Dollars from integer cents, with thousands separators: `123456` is `"$1,234.56"`. Prize values
/// are stored in cents so that totals never round.
pub fn format_cents(cents: u64) -> String {
    format!("${}.{:02}", group_thousands(cents / 100), cents % 100)
}

#[derive(Template)]
#[template(path = "rules/official_rules.html")]
struct RulesHtml<'v, 'a> {
    r: &'v View<'a>,
}

#[derive(Template)]
#[template(path = "rules/official_rules.txt")]
struct RulesText<'v, 'a> {
    r: &'v View<'a>,
}

/// The facts as the templates print them: every number, date and list is formatted here, so the
/// templates hold only the legal text and stay readable to whoever reviews it.
struct View<'a> {
    drawing_id: &'a str,
    title: &'a str,
    description: &'a str,
    /// "Weekly" and so on.
    kind: String,
    operator: &'a str,
    sponsor_name: &'a str,
    sponsor_address_lines: Vec<&'a str>,
    sponsor_address_inline: String,
    sponsor_website: Option<Website<'a>>,
    opens: When,
    closes: When,
    draw: When,
    /// "1,000 points".
    ticket_cost: String,
    /// "100 tickets".
    max_tickets: String,
    /// "5 tickets".
    free_tickets: String,
    mail_in_lines: Vec<&'a str>,
    /// "30 days", when accounts must be that old to enter.
    account_age: Option<String>,
    premium_only: bool,
    base_age: u32,
    /// "19 in Alabama and Nebraska, and 21 in Mississippi", without the excluded states.
    majority_exceptions: String,
    has_exclusions: bool,
    /// "Florida (FL), New York (NY), and Rhode Island (RI)".
    excluded_list: String,
    excluded_list_upper: String,
    prizes: Vec<PrizeRow<'a>>,
    total_arv: String,
    tax_applies: bool,
    tax_threshold: String,
    /// "14 days".
    claim_days: String,
    verification_url: &'a str,
    results_url: &'a str,
    commitment_url: &'a str,
}

/// A moment as the rules print it: Eastern Time with its abbreviation, and UTC.
struct When {
    local: String,
    utc: String,
}

/// A sponsor website is typed by an admin: it becomes a link only when it is an http(s) URL, so
/// no other scheme (`javascript:`) can end up in an `href`.
struct Website<'a> {
    text: &'a str,
    linkable: bool,
}

struct PrizeRow<'a> {
    /// "1" or "2–4": the protocol's place numbers, as the published results list them.
    places: String,
    /// "Place 1" or "Places 2–4".
    places_label: String,
    name: &'a str,
    /// On one line, so the text form can indent it under the prize.
    description: String,
    quantity: u32,
    arv_each: String,
    arv_total: String,
}

impl<'a> View<'a> {
    fn new(facts: &'a RulesFacts) -> Self {
        let mut next_place: u64 = 1;
        let prizes = facts
            .prizes
            .iter()
            .map(|prize| {
                let row = PrizeRow::new(prize, next_place);
                next_place = next_place.saturating_add(u64::from(prize.quantity));
                row
            })
            .collect();
        let total_cents = facts.prizes.iter().fold(0u64, |sum, p| sum.saturating_add(prize_total_cents(p)));

        let mut excluded: Vec<String> = facts.excluded_states.iter().map(|s| state_label(*s)).collect();
        excluded.dedup();
        let excluded_list = join_and(&excluded);

        let sponsor_address_lines = address_lines(&facts.sponsor_address);
        let sponsor_website = facts
            .sponsor_website
            .as_deref()
            .map(str::trim)
            .filter(|site| !site.is_empty())
            .map(|text| Website { text, linkable: text.starts_with("https://") || text.starts_with("http://") });

        Self {
            drawing_id: &facts.drawing_id,
            title: &facts.title,
            description: facts.description.trim(),
            kind: capitalized(facts.drawing_type.as_str()),
            operator: &facts.operator,
            sponsor_name: &facts.sponsor_name,
            sponsor_address_inline: sponsor_address_lines.join(", "),
            sponsor_address_lines,
            sponsor_website,
            opens: When::new(facts.opens_at),
            closes: When::new(facts.closes_at),
            draw: When::new(facts.draw_at),
            ticket_cost: count(facts.ticket_cost_points, "point", "points"),
            max_tickets: count(facts.max_tickets_per_person, "ticket", "tickets"),
            free_tickets: count(facts.free_entry_tickets, "ticket", "tickets"),
            mail_in_lines: address_lines(&facts.mail_in_address),
            account_age: (facts.min_account_age_days > 0)
                .then(|| count(u64::from(facts.min_account_age_days), "day", "days")),
            premium_only: facts.premium_only,
            base_age: BASE_AGE_OF_MAJORITY,
            majority_exceptions: majority_exceptions(&facts.excluded_states),
            has_exclusions: !excluded.is_empty(),
            excluded_list_upper: excluded_list.to_uppercase(),
            excluded_list,
            prizes,
            total_arv: format_cents(total_cents),
            tax_applies: facts.prizes.iter().any(|p| p.arv_cents >= facts.tax_threshold_cents),
            tax_threshold: format_cents(facts.tax_threshold_cents),
            claim_days: count(u64::from(facts.claim_days), "day", "days"),
            verification_url: &facts.verification_url,
            results_url: &facts.results_url,
            commitment_url: &facts.commitment_url,
        }
    }
}

impl When {
    fn new(at: DateTime<Utc>) -> Self {
        // Seconds only when they matter: a close at 23:59:59 must not read as 23:59.
        let (local_format, utc_format) = if at.second() == 0 {
            ("%A, %B %-d, %Y at %-I:%M %p %Z", "%Y-%m-%d %H:%M UTC")
        } else {
            ("%A, %B %-d, %Y at %-I:%M:%S %p %Z", "%Y-%m-%d %H:%M:%S UTC")
        };
        Self {
            local: at.with_timezone(&New_York).format(local_format).to_string(),
            utc: at.format(utc_format).to_string(),
        }
    }
}

impl<'a> PrizeRow<'a> {
    fn new(prize: &'a PrizeFacts, first_place: u64) -> Self {
        let (places, places_label) = match prize.quantity {
            0 => ("–".to_owned(), "No places".to_owned()),
            1 => (first_place.to_string(), format!("Place {first_place}")),
            quantity => {
                let last = first_place.saturating_add(u64::from(quantity) - 1);
                (format!("{first_place}–{last}"), format!("Places {first_place}–{last}"))
            }
        };
        Self {
            places,
            places_label,
            name: prize.name.trim(),
            description: prize.description.split_whitespace().collect::<Vec<_>>().join(" "),
            quantity: prize.quantity,
            arv_each: format_cents(prize.arv_cents),
            arv_total: format_cents(prize_total_cents(prize)),
        }
    }
}

fn prize_total_cents(prize: &PrizeFacts) -> u64 {
    prize.arv_cents.saturating_mul(u64::from(prize.quantity))
}

/// The states whose age of majority is above the general one, grouped by age, leaving out the
/// excluded ones (their residents cannot enter at any age).
fn majority_exceptions(excluded: &[UsState]) -> String {
    let mut by_age: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for (code, name) in STATE_NAMES {
        let Ok(state) = UsState::parse(code) else { continue };
        let age = age_of_majority(state);
        if age != BASE_AGE_OF_MAJORITY && !excluded.contains(&state) {
            by_age.entry(age).or_default().push(name.to_owned());
        }
    }
    let groups: Vec<String> = by_age.iter().map(|(age, names)| format!("{age} in {}", join_and(names))).collect();
    join_series(&groups, ", and ")
}

/// "New York (NY)".
fn state_label(state: UsState) -> String {
    let code = state.code();
    match STATE_NAMES.iter().find(|(c, _)| *c == code) {
        Some((_, name)) => format!("{name} ({code})"),
        None => code.to_owned(),
    }
}

fn address_lines(address: &str) -> Vec<&str> {
    address.lines().map(str::trim).filter(|line| !line.is_empty()).collect()
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// "1 ticket", "1,000 points".
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", group_thousands(n), if n == 1 { one } else { many })
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// "A", "A and B", "A, B, and C": the serial comma, as US legal drafting uses it.
fn join_and(items: &[String]) -> String {
    join_series(items, if items.len() > 2 { ", and " } else { " and " })
}

fn join_series(items: &[String], before_last: &str) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [rest @ .., last] => format!("{}{before_last}{last}", rest.join(", ")),
    }
}

/// The text template writes each paragraph on one line, because the facts it interpolates have
/// any length; the wrapping happens here, once the words are known. Blank lines left by optional
/// parts collapse to one, so the template need not balance them.
fn tidy_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + raw.len() / 16);
    let mut blank_before = false;
    for line in raw.lines().map(str::trim_end) {
        if line.is_empty() {
            blank_before = true;
            continue;
        }
        if blank_before && !out.is_empty() {
            out.push('\n');
        }
        blank_before = false;
        wrap_line(line, TEXT_WIDTH, &mut out);
    }
    out
}

/// Appends `line` wrapped at `width` characters. Continuation lines align under the text of a
/// list item ("(a) ", "- ", "3. ") or under the line's own indent. A word longer than the width
/// (a URL) stays whole on its own line rather than being broken.
fn wrap_line(line: &str, width: usize, out: &mut String) {
    if line.chars().count() <= width {
        out.push_str(line);
        out.push('\n');
        return;
    }
    let body = line.trim_start();
    let indent = &line[..line.len() - body.len()];
    let hang = " ".repeat(indent.chars().count() + marker_width(body));
    let mut current = indent.to_owned();
    let mut current_len = indent.chars().count();
    let mut has_word = false;
    for word in body.split(' ').filter(|word| !word.is_empty()) {
        let word_len = word.chars().count();
        if has_word && current_len + 1 + word_len > width {
            out.push_str(&current);
            out.push('\n');
            current.clone_from(&hang);
            current_len = hang.len();
            has_word = false;
        }
        if has_word {
            current.push(' ');
            current_len += 1;
        }
        current.push_str(word);
        current_len += word_len;
        has_word = true;
    }
    out.push_str(&current);
    out.push('\n');
}

/// The width of a list marker opening `body` ("- ", "(a) ", "12. "), counting its space; 0 for
/// ordinary text.
fn marker_width(body: &str) -> usize {
    let Some((first, _)) = body.split_once(' ') else { return 0 };
    let core = first.trim_start_matches('(').trim_end_matches(['.', ')']);
    let numbered = !core.is_empty() && core.len() <= 3 && core.bytes().all(|b| b.is_ascii_digit());
    let lettered = core.len() == 1 && core.bytes().all(|b| b.is_ascii_lowercase());
    let is_marker = first == "-" || first == "*" || (first != core && (numbered || lettered));
    if is_marker { first.chars().count() + 1 } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn state(code: &str) -> UsState {
        UsState::parse(code).unwrap()
    }

    fn facts() -> RulesFacts {
        RulesFacts {
            drawing_id: "drw_01HV3K9Q".to_owned(),
            title: "Spring Step Challenge Sweepstakes".to_owned(),
            description: "Celebrate spring with a new running watch.".to_owned(),
            drawing_type: DrawingType::Monthly,
            operator: "FitTrack".to_owned(),
            sponsor_name: "Acme Fitness Co".to_owned(),
            sponsor_address: "100 Main Street\nSuite 200\nSpringfield, IL 62701".to_owned(),
            sponsor_website: Some("https://acme.example".to_owned()),
            // Midnight EST on March 1, 2026; DST starts March 8, so the close and draw are EDT.
            opens_at: Utc.with_ymd_and_hms(2026, 3, 1, 5, 0, 0).unwrap(),
            closes_at: Utc.with_ymd_and_hms(2026, 3, 31, 3, 59, 59).unwrap(),
            draw_at: Utc.with_ymd_and_hms(2026, 3, 31, 16, 0, 0).unwrap(),
            ticket_cost_points: 1000,
            max_tickets_per_person: 100,
            free_entry_tickets: 5,
            mail_in_address: "FitTrack Drawings, Mail-in Entries\nPO Box 1234\nSeattle, WA 98101".to_owned(),
            min_account_age_days: 30,
            premium_only: false,
            excluded_states: vec![state("FL"), state("NY"), state("RI")],
            prizes: vec![
                PrizeFacts {
                    name: "Garmin Forerunner 265".to_owned(),
                    description: "GPS running watch with AMOLED display.".to_owned(),
                    arv_cents: 44_999,
                    quantity: 1,
                },
                PrizeFacts {
                    name: "Insulated Water Bottle".to_owned(),
                    description: String::new(),
                    arv_cents: 2_500,
                    quantity: 10,
                },
            ],
            tax_threshold_cents: 60_000,
            claim_days: 14,
            verification_url: "https://fittrack.example/docs/drawing-verification".to_owned(),
            results_url: "https://fittrack.example/drawings/drw_01HV3K9Q/results".to_owned(),
            commitment_url: "https://fittrack.example/drawings/drw_01HV3K9Q/commitment".to_owned(),
        }
    }

    /// Both forms break lines wherever they like; phrases are checked on the words alone.
    fn flat(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn both(facts: &RulesFacts) -> [String; 2] {
        let rules = render(facts).unwrap();
        [flat(&rules.html), flat(&rules.text)]
    }

    #[test]
    fn formats_cents_as_dollars() {
        assert_eq!(format_cents(0), "$0.00");
        assert_eq!(format_cents(5), "$0.05");
        assert_eq!(format_cents(100), "$1.00");
        assert_eq!(format_cents(99_999), "$999.99");
        assert_eq!(format_cents(123_456), "$1,234.56");
        assert_eq!(format_cents(100_000_000), "$1,000,000.00");
        assert_eq!(format_cents(u64::MAX), "$184,467,440,737,095,516.15");
    }

    #[test]
    fn both_forms_state_every_fact() {
        let facts = facts();
        for form in both(&facts) {
            for needle in [
                "Acme Fitness Co",
                "100 Main Street",
                "Suite 200",
                "Springfield, IL 62701",
                "Garmin Forerunner 265",
                "$449.99",
                "Insulated Water Bottle",
                "$25.00",
                "$250.00",
                "$699.99",
                "NO PURCHASE NECESSARY",
                "FitTrack Drawings, Mail-in Entries",
                "PO Box 1234",
                "Seattle, WA 98101",
                "100 tickets",
                "5 tickets",
                "1,000 points",
                "30 days",
                "14 days",
                "Florida (FL)",
                "New York (NY)",
                "Rhode Island (RI)",
                "19 in Alabama and Nebraska, and 21 in Mississippi",
                "Sunday, March 1, 2026 at 12:00 AM EST (2026-03-01 05:00 UTC)",
                "Monday, March 30, 2026 at 11:59:59 PM EDT (2026-03-31 03:59:59 UTC)",
                "Tuesday, March 31, 2026 at 12:00 PM EDT (2026-03-31 16:00 UTC)",
                "fittrack-draw-v1",
                "drand",
                "SHA-256",
                "https://fittrack.example/docs/drawing-verification",
                "https://fittrack.example/drawings/drw_01HV3K9Q/results",
                "drw_01HV3K9Q",
                "Administered by FitTrack",
            ] {
                assert!(form.contains(needle), "missing {needle:?} in:\n{form}");
            }
            assert!(!form.contains("Premium membership"), "{form}");
        }
        let rules = render(&facts).unwrap();
        assert!(flat(&rules.text).contains("Places 2–11: Insulated Water Bottle Quantity: 10."), "{}", rules.text);
        assert!(rules.html.contains(r#"<td class="num">10</td>"#), "{}", rules.html);
        assert!(rules.html.contains(r#"href="https://fittrack.example/docs/drawing-verification""#));
    }

    #[test]
    fn optional_conditions_appear_when_set() {
        let mut facts = facts();
        facts.premium_only = true;
        facts.min_account_age_days = 0;
        facts.excluded_states = vec![state("MS")];
        for form in both(&facts) {
            assert!(form.contains("Premium membership"), "{form}");
            assert!(!form.contains("before the entry"), "{form}");
            assert!(form.contains("Mississippi (MS)"), "{form}");
            assert!(form.contains("(18, except 19 in Alabama and Nebraska)"), "{form}");
        }
    }

    #[test]
    fn tax_notice_appears_only_at_or_above_the_threshold() {
        let mut facts = facts();
        for form in both(&facts) {
            assert!(!form.contains("1099-MISC"), "{form}");
        }
        facts.tax_threshold_cents = 44_999;
        for form in both(&facts) {
            assert!(form.contains("1099-MISC"), "{form}");
            assert!(form.contains("$449.99 or more"), "{form}");
        }
    }

    #[test]
    fn html_is_a_document_that_escapes_admin_text() {
        let mut facts = facts();
        facts.title = "<script>alert(1)</script> Sweepstakes".to_owned();
        facts.sponsor_website = Some("javascript:alert(1)".to_owned());
        let html = render(&facts).unwrap().html;
        assert!(html.starts_with("<!doctype html>"), "{html}");
        assert!(html.contains(r#"<meta charset="utf-8">"#));
        assert!(html.contains("<title>Official Rules: &#60;script&#62;alert(1)&#60;/script&#62; Sweepstakes</title>"));
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains(r#"href="javascript:"#), "{html}");
    }

    #[test]
    fn text_is_plain_and_wrapped() {
        let text = render(&facts()).unwrap().text;
        assert!(!text.contains('<') && !text.contains('>'), "{text}");
        assert!(!text.contains("&#"), "{text}");
        assert!(!text.contains("\n\n\n"), "{text}");
        for line in text.lines() {
            assert!(line.chars().count() <= TEXT_WIDTH || !line.trim().contains(' '), "too long: {line:?}");
        }
        assert!(text.contains("\n1. SPONSOR AND ADMINISTRATOR\n"), "{text}");
        assert!(text.contains("\n13. WINNERS LIST AND RESULTS\n"), "{text}");
    }

    #[test]
    fn wrapping_hangs_list_items_and_keeps_long_words_whole() {
        let mut out = String::new();
        wrap_line("(a) one two three four five six", 12, &mut out);
        assert_eq!(out, "(a) one two\n    three\n    four\n    five six\n");
        let mut out = String::new();
        wrap_line("see https://example.com/a/very/long/path now", 10, &mut out);
        assert_eq!(out, "see\nhttps://example.com/a/very/long/path\nnow\n");
        assert_eq!(marker_width("e.g. this"), 0);
        assert_eq!(marker_width("12. SECTION"), 4);
        assert_eq!(marker_width("- item"), 2);
    }
}
