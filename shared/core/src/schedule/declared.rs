//! Declared schedules: when an operator says a task type's runs are due, as an AWS EventBridge
//! `cron(…)` or `rate(…)` expression or a classic crontab line, in an IANA time zone.
//!
//! [`Pattern::parse`] reads an expression; [`Declared`] adds the time zone, the grace a start may
//! come late by and the moment it was declared, and lists due times as epoch milliseconds (UTC),
//! like the learned schedules' [`slots`](super::slots).
//!
//! ## Syntax
//! - `cron(minutes hours day-of-month month day-of-week year)`, as AWS documents it for
//!   EventBridge: `,` `-` `*` `/` in every field but day-of-week (no `/` there); `?` in exactly
//!   one of day-of-month and day-of-week; day-of-week `1`–`7` or `SUN`–`SAT` (1 is Sunday);
//!   month `1`–`12` or `JAN`–`DEC`; year `1970`–`2199`. Of the special days: day-of-month `L`
//!   (last day), `LW` (last weekday) and `nW` (the weekday nearest day n, never leaving the
//!   month, not due in a month without day n); day-of-week `L` (AWS: the last day of the week,
//!   Saturday), `n#k` (the k-th weekday n of the month, the field's only expression) and `nL`
//!   (the last weekday n of the month, Quartz's reading, which AWS does not spell out). Refused:
//!   `L-n`, and `L`, `W`, `#` inside a list or range, rather than guessed at.
//! - `rate(value unit)`: `minute`, `hour`, `day` for 1, `minutes`, `hours`, `days` above it.
//! - A crontab line `minute hour day-of-month month day-of-week` as Vixie cron (and cronie)
//!   reads it: day-of-week `0`–`7` (0 and 7 are Sunday) or names, steps after `*` or a range
//!   only, and, when neither day field starts with `*`, a day is due if it matches EITHER; also
//!   `@hourly`, `@daily` (`@midnight`), `@weekly`, `@monthly`, `@yearly` (`@annually`).
//!
//! ## Time
//! Crons are read in the declared time zone, from the IANA database bundled into the binary
//! (Lambda has no system copy, and a pure core must not read one). Daylight saving follows
//! EventBridge Scheduler's documented behaviour: a local time that a spring-forward skips is not
//! due that day, and one that a fall-back repeats is due once, at its first occurrence. Skipping
//! rather than moving it never makes up a due time the task's own scheduler may not keep, so
//! Overrun cannot page for a start that was never owed; the price is one unchecked slot a year.
//!
//! A rate counts exact periods (a day is 24 hours, whatever the clocks do, as EventBridge
//! Scheduler counts it) from an anchor, the moment the schedule was declared: the anchor fixes
//! the phase, and due times run both ways from it, so a declared schedule also replays over the
//! history before its declaration.

use std::fmt;
use std::ops::ControlFlow;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone, TimeZoneDatabase};
use thiserror::Error;

use super::{MINUTE_MS, Weekdays};
use crate::time::{
    EpochMs, MS_PER_DAY, MS_PER_HOUR, MS_PER_SECOND, civil_date, civil_from_days, days_from_civil,
};

/// How far ahead [`Declared::next_due`] looks, and within how long of its declaration a schedule
/// must be due at least once: five years, so that yearly crons and leap days are found.
pub const HORIZON_MS: i64 = 5 * 366 * MS_PER_DAY;

/// Why an expression is not a schedule.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum PatternError {
    #[error("the schedule expression is empty")]
    Empty,
    #[error("{expression:?} contains a control character (U+{code:04X})")]
    ControlCharacter { expression: String, code: u32 },
    #[error(
        "{expression:?} contains an invisible character (U+{code:04X}): an expression must read as it is stored"
    )]
    InvisibleCharacter { expression: String, code: u32 },
    #[error(
        "{expression:?} contains {character:?} (U+{code:04X}): schedule expressions are plain ASCII (- rather than –)"
    )]
    NotAscii { expression: String, character: char, code: u32 },
    #[error(
        "{0:?} is not a schedule: expected cron(minutes hours day-of-month month day-of-week year), \
         rate(value unit), a crontab line (minute hour day-of-month month day-of-week) \
         or @hourly, @daily, @weekly, @monthly, @yearly"
    )]
    Unrecognised(String),
    #[error("{expression}: {found} fields, but {syntax}")]
    FieldCount { expression: String, syntax: Syntax, found: usize },
    #[error("{expression}: {field} field {item:?}: {problem}")]
    Field { expression: String, field: Field, item: String, problem: FieldProblem },
    #[error("{expression}: {problem}")]
    DayFields { expression: String, problem: DayFieldsProblem },
    #[error("{expression}: {problem}")]
    Rate { expression: String, problem: RateProblem },
}

/// What is wrong with one value of a field.
#[derive(Debug, Clone, Copy, Error, PartialEq, Eq)]
pub enum FieldProblem {
    #[error("a value is missing (two commas in a row, or a range or step without its end)")]
    Missing,
    #[error("must be {allowed}")]
    OutOfRange { allowed: &'static str },
    #[error("a range must run upwards (write 22-23,0-2 rather than 22-2)")]
    Backwards,
    #[error("a step must be a whole number from 1 to {max}")]
    BadStep { max: u32 },
    #[error("in a crontab a step follows * or a range (write 5-59/10 rather than 5/10)")]
    StepAfterValue,
    #[error("? stands alone, in day-of-month or day-of-week only")]
    QuestionMark,
    #[error("{what} is not allowed in this field")]
    NotAllowed { what: &'static str },
    #[error("{what} must be the field's only expression")]
    NotAlone { what: &'static str },
    #[error("the week of the month after # must be 1–5")]
    BadNth,
    #[error("{what} is not in EventBridge's documented syntax, so it is refused rather than guessed at")]
    Unsupported { what: &'static str },
}

/// How the two day fields of an EventBridge cron go wrong together.
#[derive(Debug, Clone, Copy, Error, PartialEq, Eq)]
pub enum DayFieldsProblem {
    #[error("day-of-month and day-of-week cannot both be ?: one of them chooses the days")]
    BothQuestionMarks,
    #[error("one of day-of-month and day-of-week must be ? (EventBridge never combines them)")]
    NoQuestionMark,
}

/// What is wrong with a `rate(…)`.
#[derive(Debug, Clone, Copy, Error, PartialEq, Eq)]
pub enum RateProblem {
    #[error("a rate is a value and a unit, like rate(5 minutes)")]
    Shape,
    #[error("the value must be a whole number of at least 1")]
    Value,
    #[error("the unit must be minute(s), hour(s) or day(s)")]
    Unit,
    #[error("for 1 the unit is singular, like rate(1 hour)")]
    PluralForOne,
    #[error("above 1 the unit is plural, like rate(5 hours)")]
    SingularForMany,
    #[error("the period is longer than five years")]
    TooLong,
}

/// Why a schedule cannot be declared.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum DeclareError {
    #[error(transparent)]
    Pattern(#[from] PatternError),
    #[error("unknown time zone {0:?}: give an IANA name such as Europe/Paris, America/New_York or UTC")]
    UnknownZone(String),
    #[error("{expression} ({zone}) is never due in the five years from {from}")]
    NeverDue { expression: String, zone: String, from: String },
    #[error("a grace must not be negative, got {0} ms")]
    NegativeGrace(i64),
}

/// Which syntax an expression is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    EventBridge,
    Crontab,
}

impl Syntax {
    fn field_count(self) -> usize {
        match self {
            Self::EventBridge => 6,
            Self::Crontab => 5,
        }
    }
}

impl fmt::Display for Syntax {
    /// What the syntax's fields are, for an error about their count.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EventBridge => f.write_str("cron(…) has 6: minutes hours day-of-month month day-of-week year"),
            Self::Crontab => f.write_str(
                "a crontab line has 5: minute hour day-of-month month day-of-week (write cron(…) for EventBridge's 6)",
            ),
        }
    }
}

/// A field of a cron, named as AWS names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Minutes,
    Hours,
    DayOfMonth,
    Month,
    DayOfWeek,
    Year,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Minutes => "minutes",
            Self::Hours => "hours",
            Self::DayOfMonth => "day-of-month",
            Self::Month => "month",
            Self::DayOfWeek => "day-of-week",
            Self::Year => "year",
        })
    }
}

/// A parsed expression: a cron (either syntax) or a rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    Cron(Cron),
    Rate(Rate),
}

/// When a cron is due: the minutes, hours, days, months and years it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    syntax: Syntax,
    minutes: Bits,
    hours: Bits,
    days: Days,
    months: Bits,
    /// Years since 1970; `None` for a crontab, which has no year field.
    years: Option<Bits>,
}

/// A fixed period, counted from an anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    period_ms: i64,
}

impl Rate {
    pub fn period_ms(self) -> i64 {
        self.period_ms
    }
}

impl Cron {
    pub fn syntax(&self) -> Syntax {
        self.syntax
    }
}

/// An IANA time zone, from the database bundled into the binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    name: Box<str>,
    tz: TimeZone,
}

impl Zone {
    pub fn utc() -> Self {
        Self { name: "UTC".into(), tz: TimeZone::UTC }
    }

    /// The zone of an IANA name, in any letter case (`Europe/Paris`, `europe/paris`, `UTC`).
    pub fn named(name: &str) -> Result<Self, DeclareError> {
        let unknown = || DeclareError::UnknownZone(name.to_owned());
        // Etc/Unknown is the database's placeholder for "no zone": it would silently act as UTC.
        if !name.bytes().all(|b| b.is_ascii_graphic()) || name.eq_ignore_ascii_case("Etc/Unknown") {
            return Err(unknown());
        }
        // The bundled copy only: the host's files, or TZDIR, must not change what is due.
        let tz = TimeZoneDatabase::bundled().get(name).map_err(|_| unknown())?;
        let canonical = tz.iana_name().unwrap_or(name).into();
        Ok(Self { name: canonical, tz })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether `at` falls on a Saturday or Sunday in this zone.
    pub fn is_weekend(&self, at: EpochMs) -> bool {
        use jiff::civil::Weekday;
        let Ok(timestamp) = Timestamp::from_millisecond(at) else { return false };
        matches!(self.tz.to_datetime(timestamp).weekday(), Weekday::Saturday | Weekday::Sunday)
    }

    pub fn is_utc(&self) -> bool {
        self.tz == TimeZone::UTC
    }
}

impl Default for Zone {
    fn default() -> Self {
        Self::utc()
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A schedule an operator declared for a task type: valid by construction, and due at least once
/// within [`HORIZON_MS`] of its declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pattern: Pattern,
    zone: Zone,
    grace_ms: i64,
    since: EpochMs,
    expression: String,
}

impl Declared {
    /// `expression` as typed; `since` is when it was declared, and a rate's anchor.
    pub fn new(expression: &str, zone: Zone, grace_ms: i64, since: EpochMs) -> Result<Self, DeclareError> {
        if grace_ms < 0 {
            return Err(DeclareError::NegativeGrace(grace_ms));
        }
        let pattern = Pattern::parse(expression)?;
        let declared = Self { pattern, zone, grace_ms, since, expression: expression.to_owned() };
        if declared.next_due(since.saturating_sub(1)).is_none() {
            return Err(DeclareError::NeverDue {
                expression: expression.trim().to_owned(),
                zone: declared.zone.to_string(),
                from: civil_date(since.div_euclid(MS_PER_DAY)),
            });
        }
        Ok(declared)
    }

    pub fn pattern(&self) -> &Pattern {
        &self.pattern
    }

    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    pub fn grace_ms(&self) -> i64 {
        self.grace_ms
    }

    pub fn since(&self) -> EpochMs {
        self.since
    }

    /// The expression as it was typed.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// Every due time in `[from, to]`, oldest first. Not only those after `since`: the schedule
    /// also replays over the history before its declaration, and a caller judging missed starts
    /// chooses its own `from`.
    pub fn due_times(&self, from: EpochMs, to: EpochMs) -> Vec<EpochMs> {
        let mut due = Vec::new();
        let _ = self.each_due(from, to, &mut |at| {
            due.push(at);
            ControlFlow::Continue(())
        });
        due
    }

    /// The first due time after `after`, looking [`HORIZON_MS`] ahead.
    pub fn next_due(&self, after: EpochMs) -> Option<EpochMs> {
        let mut next = None;
        let _ = self.each_due(after.saturating_add(1), after.saturating_add(HORIZON_MS), &mut |at| {
            next = Some(at);
            ControlFlow::Break(())
        });
        next
    }

    fn each_due(
        &self,
        from: EpochMs,
        to: EpochMs,
        visit: &mut dyn FnMut(EpochMs) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        if from > to {
            return ControlFlow::Continue(());
        }
        match &self.pattern {
            Pattern::Rate(rate) => rate.each_due(self.since, from, to, visit),
            Pattern::Cron(cron) => cron.each_due(&self.zone.tz, from, to, visit),
        }
    }
}

impl fmt::Display for Declared {
    /// In words, as a person says it: "every 3 h at :15 (Europe/Paris)", "Mon–Fri at 02:10 UTC",
    /// "daily at 02:00 Europe/Paris", "every 5 min"; the expression itself when words would not
    /// be shorter or clearer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pattern {
            Pattern::Rate(rate) => write!(f, "{rate}"),
            Pattern::Cron(cron) => match cron.words(self.zone.name()) {
                Some(words) => f.write_str(&words),
                None => write!(f, "{} ({})", self.expression.trim(), self.zone),
            },
        }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.period_ms {
            MINUTE_MS => f.write_str("every minute"),
            MS_PER_HOUR => f.write_str("every hour"),
            MS_PER_DAY => f.write_str("every day"),
            ms if ms % MS_PER_DAY == 0 => write!(f, "every {} d", ms / MS_PER_DAY),
            ms if ms % MS_PER_HOUR == 0 => write!(f, "every {} h", ms / MS_PER_HOUR),
            ms => write!(f, "every {} min", ms / MINUTE_MS),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

impl Pattern {
    pub fn parse(expression: &str) -> Result<Self, PatternError> {
        let text = screen(expression)?;
        let unrecognised = || PatternError::Unrecognised(text.to_owned());
        if let Some(inner) = text.strip_prefix("cron(") {
            let inner = inner.strip_suffix(')').ok_or_else(unrecognised)?;
            return parse_cron(Syntax::EventBridge, text, inner).map(Self::Cron);
        }
        if let Some(inner) = text.strip_prefix("rate(") {
            let inner = inner.strip_suffix(')').ok_or_else(unrecognised)?;
            return parse_rate(text, inner).map(Self::Rate);
        }
        if let Some(nickname) = text.strip_prefix('@') {
            let fields = nickname_fields(nickname).ok_or_else(unrecognised)?;
            return parse_cron(Syntax::Crontab, text, fields).map(Self::Cron);
        }
        if text.contains(['(', ')']) {
            return Err(unrecognised());
        }
        parse_cron(Syntax::Crontab, text, text).map(Self::Cron)
    }
}

/// The expression without its surrounding spaces, once it holds nothing that hides or fakes a
/// character: control characters, invisible ones, and look-alikes such as an en dash.
fn screen(expression: &str) -> Result<&str, PatternError> {
    let owned = || expression.to_owned();
    for c in expression.chars() {
        let code = u32::from(c);
        if c.is_control() {
            return Err(PatternError::ControlCharacter { expression: owned(), code });
        }
        if crate::model::is_invisible(c) {
            return Err(PatternError::InvisibleCharacter { expression: owned(), code });
        }
        if !c.is_ascii() {
            return Err(PatternError::NotAscii { expression: owned(), character: c, code });
        }
    }
    let text = expression.trim_matches(' ');
    if text.is_empty() { Err(PatternError::Empty) } else { Ok(text) }
}

fn nickname_fields(nickname: &str) -> Option<&'static str> {
    Some(match nickname {
        "hourly" => "0 * * * *",
        "daily" | "midnight" => "0 0 * * *",
        "weekly" => "0 0 * * 0",
        "monthly" => "0 0 1 * *",
        "yearly" | "annually" => "0 0 1 1 *",
        _ => return None,
    })
}

fn parse_rate(expression: &str, inner: &str) -> Result<Rate, PatternError> {
    let problem = |problem| PatternError::Rate { expression: expression.to_owned(), problem };
    let parts: Vec<&str> = inner.split_ascii_whitespace().collect();
    let [value, unit] = parts[..] else {
        return Err(problem(RateProblem::Shape));
    };
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(problem(RateProblem::Value));
    }
    let value: i64 = value.parse().map_err(|_| problem(RateProblem::TooLong))?;
    if value == 0 {
        return Err(problem(RateProblem::Value));
    }
    let (unit_ms, plural) = match unit {
        "minute" => (MINUTE_MS, false),
        "minutes" => (MINUTE_MS, true),
        "hour" => (MS_PER_HOUR, false),
        "hours" => (MS_PER_HOUR, true),
        "day" => (MS_PER_DAY, false),
        "days" => (MS_PER_DAY, true),
        _ => return Err(problem(RateProblem::Unit)),
    };
    match (value == 1, plural) {
        (true, true) => return Err(problem(RateProblem::PluralForOne)),
        (false, false) => return Err(problem(RateProblem::SingularForMany)),
        _ => {}
    }
    // A period past the horizon would never be seen due twice; a longer one overflows.
    let period_ms = value.checked_mul(unit_ms).filter(|&ms| ms <= HORIZON_MS);
    period_ms.map(|period_ms| Rate { period_ms }).ok_or_else(|| problem(RateProblem::TooLong))
}

/// One value of a field that is wrong, and why.
struct Bad {
    item: String,
    problem: FieldProblem,
}

fn bad(item: &str, problem: FieldProblem) -> Bad {
    Bad { item: item.to_owned(), problem }
}

/// A field's values and names, and how they are described in an error.
struct Spec {
    min: u32,
    max: u32,
    /// Subtracted from a value to store it (years since 1970, EventBridge weekdays from 0).
    offset: u32,
    /// Names for the values from `min` on.
    names: &'static [&'static str],
    allowed: &'static str,
}

const MONTH_NAMES: &[&str] =
    &["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAY_NAMES: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const MINUTES: Spec = Spec { min: 0, max: 59, offset: 0, names: &[], allowed: "0–59" };
const HOURS: Spec = Spec { min: 0, max: 23, offset: 0, names: &[], allowed: "0–23" };
const MONTH_DAYS: Spec = Spec { min: 1, max: 31, offset: 0, names: &[], allowed: "1–31" };
const MONTHS: Spec = Spec { min: 1, max: 12, offset: 0, names: MONTH_NAMES, allowed: "1–12 or JAN–DEC" };
const YEARS: Spec = Spec { min: 1970, max: 2199, offset: 1970, names: &[], allowed: "1970–2199" };
/// EventBridge counts the week from 1, Sunday.
const WEEKDAYS_FROM_ONE: Spec =
    Spec { min: 1, max: 7, offset: 1, names: DAY_NAMES, allowed: "1–7 or SUN–SAT" };
/// A crontab counts it from 0, Sunday, and takes 7 for Sunday too.
const WEEKDAYS_FROM_ZERO: Spec =
    Spec { min: 0, max: 7, offset: 0, names: DAY_NAMES, allowed: "0–7 or SUN–SAT" };

fn parse_cron(syntax: Syntax, expression: &str, inner: &str) -> Result<Cron, PatternError> {
    let fields: Vec<&str> = inner.split_ascii_whitespace().collect();
    if fields.len() != syntax.field_count() {
        return Err(PatternError::FieldCount {
            expression: expression.to_owned(),
            syntax,
            found: fields.len(),
        });
    }
    let at = |field: Field| {
        move |Bad { item, problem }| PatternError::Field {
            expression: expression.to_owned(),
            field,
            item,
            problem,
        }
    };
    let minutes = plain_field(syntax, &MINUTES, fields[0]).map_err(at(Field::Minutes))?;
    let hours = plain_field(syntax, &HOURS, fields[1]).map_err(at(Field::Hours))?;
    let months = plain_field(syntax, &MONTHS, fields[3]).map_err(at(Field::Month))?;
    let (days, years) = match syntax {
        Syntax::EventBridge => {
            let month = eventbridge_month_day(fields[2]).map_err(at(Field::DayOfMonth))?;
            let week = eventbridge_week_day(fields[4]).map_err(at(Field::DayOfWeek))?;
            let days = eventbridge_days(expression, fields[2], fields[4], month, week)?;
            let years = plain_field(syntax, &YEARS, fields[5]).map_err(at(Field::Year))?;
            (days, Some(years))
        }
        Syntax::Crontab => {
            let month = crontab_month_day(fields[2]).map_err(at(Field::DayOfMonth))?;
            let week = crontab_week_day(fields[4]).map_err(at(Field::DayOfWeek))?;
            // Vixie cron: a day field starting with * leaves the choice to the other; when
            // neither does, a day matching either is due.
            let either = !fields[2].starts_with('*') && !fields[4].starts_with('*');
            (Days { month, week, either }, None)
        }
    };
    Ok(Cron { syntax, minutes, hours, days, months, years })
}

/// A list of `*`, values, ranges and steps, as every field but EventBridge's day fields is; those
/// come here once their special forms are ruled out.
fn plain_field(syntax: Syntax, spec: &Spec, text: &str) -> Result<Bits, Bad> {
    if text.contains('?') {
        return Err(bad(text, FieldProblem::QuestionMark));
    }
    if text.contains('#') {
        return Err(bad(text, FieldProblem::NotAllowed { what: "#" }));
    }
    let mut bits = Bits::default();
    for item in text.split(',') {
        let (start, end, step) = parse_item(syntax, spec, item)?;
        let mut value = start;
        while value <= end {
            bits.insert(value - spec.offset);
            value += step;
        }
    }
    Ok(bits)
}

/// `*`, `a`, `a-b`, each with an optional `/step`: the first value, the last, and the step.
fn parse_item(syntax: Syntax, spec: &Spec, item: &str) -> Result<(u32, u32, u32), Bad> {
    if item.is_empty() {
        return Err(bad(item, FieldProblem::Missing));
    }
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => (range, Some(parse_step(spec, item, step)?)),
        None => (item, None),
    };
    let (start, end) = match range.split_once('-') {
        _ if range == "*" => (spec.min, spec.max),
        Some((first, last)) => {
            let (first, last) = (value(spec, item, first)?, value(spec, item, last)?);
            if first > last {
                return Err(bad(item, FieldProblem::Backwards));
            }
            (first, last)
        }
        None => {
            let first = value(spec, item, range)?;
            match (step, syntax) {
                (None, _) => (first, first),
                // Quartz, and so EventBridge: `5/10` is 5, 15, 25… Vixie cron rejects it.
                (Some(_), Syntax::EventBridge) => (first, spec.max),
                (Some(_), Syntax::Crontab) => return Err(bad(item, FieldProblem::StepAfterValue)),
            }
        }
    };
    Ok((start, end, step.unwrap_or(1)))
}

fn parse_step(spec: &Spec, item: &str, step: &str) -> Result<u32, Bad> {
    let max = spec.max - spec.min + 1;
    if step.is_empty() {
        return Err(bad(item, FieldProblem::Missing));
    }
    number(step).filter(|n| (1..=max).contains(n)).ok_or_else(|| bad(item, FieldProblem::BadStep { max }))
}

/// A number or a name (any letter case) within the field's range.
fn value(spec: &Spec, item: &str, text: &str) -> Result<u32, Bad> {
    if text.is_empty() {
        return Err(bad(item, FieldProblem::Missing));
    }
    let named = spec.names.iter().position(|name| name.eq_ignore_ascii_case(text));
    let found = match named {
        Some(index) => u32::try_from(index).ok().map(|index| spec.min + index),
        None => number(text),
    };
    found
        .filter(|v| (spec.min..=spec.max).contains(v))
        .ok_or_else(|| bad(item, FieldProblem::OutOfRange { allowed: spec.allowed }))
}

/// Digits only: no sign, no spaces.
fn number(text: &str) -> Option<u32> {
    text.bytes().all(|b| b.is_ascii_digit()).then(|| text.parse().ok()).flatten()
}

fn eventbridge_month_day(text: &str) -> Result<MonthDay, Bad> {
    let upper = text.to_ascii_uppercase();
    match upper.as_str() {
        "?" => return Ok(MonthDay::Any),
        "L" => return Ok(MonthDay::Last),
        "LW" => return Ok(MonthDay::LastWeekday),
        _ => {}
    }
    if upper.starts_with("L-") {
        return Err(bad(text, FieldProblem::Unsupported { what: "L-n (days before the last)" }));
    }
    if let Some(day) = upper.strip_suffix('W')
        && !day.contains([',', '-', '/', '*', 'L', 'W'])
    {
        return value(&MONTH_DAYS, text, day).map(MonthDay::NearestWeekday);
    }
    for what in ["L", "W"] {
        if upper.contains(what) {
            return Err(bad(text, FieldProblem::NotAlone { what }));
        }
    }
    plain_field(Syntax::EventBridge, &MONTH_DAYS, text).map(month_days)
}

fn eventbridge_week_day(text: &str) -> Result<WeekDay, Bad> {
    let upper = text.to_ascii_uppercase();
    match upper.as_str() {
        "?" => return Ok(WeekDay::Any),
        // AWS: L is "the last day of the week", and its week ends with 7, Saturday.
        "L" => return Ok(WeekDay::Days(1 << 6)),
        _ => {}
    }
    if upper.contains('/') {
        return Err(bad(text, FieldProblem::NotAllowed { what: "/" }));
    }
    if upper.contains('#') {
        return nth_weekday(text, &upper);
    }
    if let Some(day) = upper.strip_suffix('L') {
        if day.contains([',', '-', '*', 'L']) {
            return Err(bad(text, FieldProblem::NotAlone { what: "L" }));
        }
        return value(&WEEKDAYS_FROM_ONE, text, day).map(|day| WeekDay::Last { weekday: day - 1 });
    }
    let bits = plain_field(Syntax::EventBridge, &WEEKDAYS_FROM_ONE, text)?.low_byte();
    Ok(week_days(bits))
}

/// `n#k`: AWS allows only one such expression in the field.
fn nth_weekday(text: &str, upper: &str) -> Result<WeekDay, Bad> {
    if upper.contains([',', '-', '*', 'L']) {
        return Err(bad(text, FieldProblem::NotAlone { what: "#" }));
    }
    let (day, nth) = upper.split_once('#').ok_or_else(|| bad(text, FieldProblem::BadNth))?;
    let weekday = value(&WEEKDAYS_FROM_ONE, text, day)? - 1;
    let nth = number(nth).filter(|n| (1..=5).contains(n)).ok_or_else(|| bad(text, FieldProblem::BadNth))?;
    Ok(WeekDay::Nth { weekday, nth })
}

fn crontab_month_day(text: &str) -> Result<MonthDay, Bad> {
    plain_field(Syntax::Crontab, &MONTH_DAYS, text).map(month_days)
}

fn crontab_week_day(text: &str) -> Result<WeekDay, Bad> {
    let bits = plain_field(Syntax::Crontab, &WEEKDAYS_FROM_ZERO, text)?;
    // 7 is Sunday again.
    let bits = (bits.low_byte() & 0x7f) | (bits.low_byte() >> 7);
    Ok(week_days(bits))
}

fn week_days(sunday_first: u8) -> WeekDay {
    if sunday_first == 0x7f { WeekDay::Any } else { WeekDay::Days(sunday_first) }
}

/// `Any` when the field lets every day through, so that words need not tell `*` from its
/// spelled-out equivalent.
fn month_days(bits: Bits) -> MonthDay {
    if bits == Bits::range(MONTH_DAYS.min, MONTH_DAYS.max) { MonthDay::Any } else { MonthDay::Days(bits) }
}

/// AWS's rule: exactly one day field is `?`. Asked of the texts, since `*` reads as `Any` too.
fn eventbridge_days(
    expression: &str,
    month_text: &str,
    week_text: &str,
    month: MonthDay,
    week: WeekDay,
) -> Result<Days, PatternError> {
    let problem = match (month_text == "?", week_text == "?") {
        (true, true) => DayFieldsProblem::BothQuestionMarks,
        (false, false) => DayFieldsProblem::NoQuestionMark,
        _ => return Ok(Days { month, week, either: false }),
    };
    Err(PatternError::DayFields { expression: expression.to_owned(), problem })
}

// ---------------------------------------------------------------------------------------------
// Days

/// Which days of a month the day-of-month field lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MonthDay {
    Any,
    Days(Bits),
    Last,
    LastWeekday,
    NearestWeekday(u32),
}

/// Which days the day-of-week field lets through; weekdays count from 0, Sunday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WeekDay {
    Any,
    Days(u8),
    Nth { weekday: u32, nth: u32 },
    Last { weekday: u32 },
}

/// The two day fields, and whether a day must match both (EventBridge, where one is `?`, and
/// a crontab with `*` in one) or either (a crontab restricting both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Days {
    month: MonthDay,
    week: WeekDay,
    either: bool,
}

/// A day of the calendar, as the day fields look at it.
#[derive(Debug, Clone, Copy)]
struct CivilDay {
    /// Days since 1970-01-01.
    number: i64,
    year: i64,
    month: u32,
    day: u32,
    /// 0 for Sunday.
    weekday: u32,
    days_in_month: u32,
}

impl CivilDay {
    fn of(number: i64) -> Self {
        let (year, month, day) = civil_from_days(number);
        // 1970-01-01 was a Thursday.
        let weekday = (number + 4).rem_euclid(7) as u32;
        Self { number, year, month, day, weekday, days_in_month: days_in_month(year, month) }
    }

    fn weekday_of(&self, day: u32) -> u32 {
        (self.weekday + 35 + day - self.day) % 7
    }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    let next =
        if month == 12 { days_from_civil(year + 1, 1, 1) } else { days_from_civil(year, month + 1, 1) };
    (next - days_from_civil(year, month, 1)) as u32
}

impl Days {
    fn matches(&self, day: &CivilDay) -> bool {
        let month = self.month.matches(day);
        let week = self.week.matches(day);
        if self.either { month || week } else { month && week }
    }
}

impl MonthDay {
    fn matches(self, day: &CivilDay) -> bool {
        match self {
            Self::Any => true,
            Self::Days(bits) => bits.contains(day.day),
            Self::Last => day.day == day.days_in_month,
            Self::LastWeekday => day.day == last_weekday(day),
            Self::NearestWeekday(n) => nearest_weekday(day, n) == Some(day.day),
        }
    }
}

/// The last Monday-to-Friday day of the month.
fn last_weekday(day: &CivilDay) -> u32 {
    let last = day.days_in_month;
    match day.weekday_of(last) {
        6 => last - 1,
        0 => last - 2,
        _ => last,
    }
}

/// Quartz's `nW`: the weekday nearest day `n`, staying within the month; none in a month without
/// day `n`.
fn nearest_weekday(day: &CivilDay, n: u32) -> Option<u32> {
    if n > day.days_in_month {
        return None;
    }
    Some(match day.weekday_of(n) {
        6 if n == 1 => 3,
        6 => n - 1,
        0 if n == day.days_in_month => n - 2,
        0 => n + 1,
        _ => n,
    })
}

impl WeekDay {
    fn matches(self, day: &CivilDay) -> bool {
        match self {
            Self::Any => true,
            Self::Days(bits) => bits & (1 << day.weekday) != 0,
            Self::Nth { weekday, nth } => day.weekday == weekday && (day.day - 1) / 7 + 1 == nth,
            Self::Last { weekday } => day.weekday == weekday && day.day + 7 > day.days_in_month,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Due times

impl Rate {
    fn each_due(
        self,
        anchor: EpochMs,
        from: EpochMs,
        to: EpochMs,
        visit: &mut dyn FnMut(EpochMs) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let period = i128::from(self.period_ms);
        let periods_to_first = (i128::from(from) - i128::from(anchor) + period - 1).div_euclid(period);
        let mut at = i128::from(anchor) + periods_to_first * period;
        while at <= i128::from(to) {
            visit(at as EpochMs)?;
            at += period;
        }
        ControlFlow::Continue(())
    }
}

impl Cron {
    /// Walks the local days around `[from, to]`, skipping whole years and months that cannot
    /// match, and looks at the times of the days that do.
    fn each_due(
        &self,
        zone: &TimeZone,
        from: EpochMs,
        to: EpochMs,
        visit: &mut dyn FnMut(EpochMs) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        // A day either side: a local day starts up to a day away from the UTC one.
        let mut number = local_day(zone, from) - 1;
        let last = local_day(zone, to) + 1;
        while number <= last {
            let day = CivilDay::of(number);
            if !self.year_matches(day.year) {
                number = days_from_civil(day.year + 1, 1, 1);
                continue;
            }
            if !self.months.contains(day.month) {
                number += i64::from(day.days_in_month - day.day + 1);
                continue;
            }
            if self.days.matches(&day) {
                self.each_time_of(zone, &day, from, to, visit)?;
            }
            number += 1;
        }
        ControlFlow::Continue(())
    }

    fn each_time_of(
        &self,
        zone: &TimeZone,
        day: &CivilDay,
        from: EpochMs,
        to: EpochMs,
        visit: &mut dyn FnMut(EpochMs) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let Some(date) = civil(day) else { return ControlFlow::Continue(()) };
        for hour in self.hours.iter() {
            for minute in self.minutes.iter() {
                if let Some(at) = instant_of(zone, date, day.number, hour, minute)
                    && (from..=to).contains(&at)
                {
                    visit(at)?;
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn year_matches(&self, year: i64) -> bool {
        match self.years {
            None => true,
            Some(years) => u32::try_from(year - 1970).is_ok_and(|offset| years.contains(offset)),
        }
    }
}

fn civil(day: &CivilDay) -> Option<Date> {
    Date::new(i16::try_from(day.year).ok()?, day.month as i8, day.day as i8).ok()
}

/// The instant a local time names: none in a spring-forward gap, the first of the two in a
/// fall-back fold (see the module's doc).
fn instant_of(zone: &TimeZone, date: Date, day_number: i64, hour: u32, minute: u32) -> Option<EpochMs> {
    let time = Time::new(hour as i8, minute as i8, 0, 0).ok()?;
    let offset = match zone.to_ambiguous_timestamp(DateTime::from_parts(date, time)).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset,
        AmbiguousOffset::Gap { .. } => return None,
        AmbiguousOffset::Fold { before, .. } => before,
    };
    let local_ms = day_number * MS_PER_DAY + i64::from(hour * 60 + minute) * MINUTE_MS;
    Some(local_ms - i64::from(offset.seconds()) * MS_PER_SECOND)
}

/// The local day (days since 1970-01-01 on the zone's calendar) at an instant.
fn local_day(zone: &TimeZone, at: EpochMs) -> i64 {
    // Past the calendar's ends there is nothing due; clamping keeps the walk finite and valid.
    let earliest = Timestamp::MIN.as_millisecond() + 2 * MS_PER_DAY;
    let latest = Timestamp::MAX.as_millisecond() - 2 * MS_PER_DAY;
    let at = at.clamp(earliest, latest);
    let offset_ms = Timestamp::from_millisecond(at)
        .map_or(0, |instant| i64::from(zone.to_offset(instant).seconds()) * MS_PER_SECOND);
    (at + offset_ms).div_euclid(MS_PER_DAY)
}

// ---------------------------------------------------------------------------------------------
// Words

impl Cron {
    /// The schedule as a person says it, or `None` when words would not be clearer than the
    /// expression.
    fn words(&self, zone: &str) -> Option<String> {
        if !self.every_month_and_year() {
            return None;
        }
        let days = self.days_in_words()?;
        let hours: Vec<u32> = self.hours.iter().collect();
        let minutes: Vec<u32> = self.minutes.iter().collect();
        // A step round the whole day reads best; then a few times ("at 09:00, 17:00"); then a
        // step within some hours.
        match (every_in_words(&hours, &minutes), times_in_words(&hours, &minutes)) {
            (Some(every), _) if every.whole_day => every_with_days(&every.text, days, zone),
            (_, Some(times)) => Some(times_with_days(&times, days, zone)),
            (Some(every), None) => every_with_days(&every.text, days, zone),
            (None, None) => None,
        }
    }

    fn every_month_and_year(&self) -> bool {
        let years = self.years.is_none_or(|years| years == Bits::range(0, YEARS.max - YEARS.min));
        years && self.months == Bits::range(1, 12)
    }

    fn days_in_words(&self) -> Option<DayWords> {
        let Days { month, week, either } = self.days;
        if either {
            return None;
        }
        Some(match (month, week) {
            (MonthDay::Any, WeekDay::Any) => DayWords::Daily,
            (MonthDay::Any, WeekDay::Days(bits)) if bits.count_ones() == 1 => {
                DayWords::Weekdays(format!("{}s", DAY_WORDS[bits.trailing_zeros() as usize]))
            }
            (MonthDay::Any, WeekDay::Days(bits)) => DayWords::Weekdays(monday_first(bits)?.to_string()),
            (MonthDay::Any, WeekDay::Nth { weekday, nth }) => {
                DayWords::Monthly(format!("the {} {}", ordinal(nth), DAY_WORDS[weekday as usize]))
            }
            (MonthDay::Any, WeekDay::Last { weekday }) => {
                DayWords::Monthly(format!("the last {}", DAY_WORDS[weekday as usize]))
            }
            (MonthDay::Days(bits), WeekDay::Any) if bits.count() == 1 => {
                DayWords::Monthly(format!("the {}", ordinal(bits.iter().next()?)))
            }
            (MonthDay::Last, WeekDay::Any) => DayWords::Monthly("the last day".to_owned()),
            (MonthDay::LastWeekday, WeekDay::Any) => DayWords::Monthly("the last weekday".to_owned()),
            (MonthDay::NearestWeekday(n), WeekDay::Any) => {
                DayWords::Monthly(format!("the weekday nearest the {}", ordinal(n)))
            }
            _ => return None,
        })
    }
}

fn every_with_days(every: &str, days: DayWords, zone: &str) -> Option<String> {
    let days = match days {
        DayWords::Daily => String::new(),
        DayWords::Weekdays(days) => format!(", {days}"),
        DayWords::Monthly(_) => return None,
    };
    Some(format!("{every}{days} ({zone})"))
}

fn times_with_days(times: &str, days: DayWords, zone: &str) -> String {
    let days = match days {
        DayWords::Daily => "daily".to_owned(),
        DayWords::Weekdays(days) => days,
        DayWords::Monthly(day) => format!("monthly on {day}"),
    };
    format!("{days} at {times} {zone}")
}

enum DayWords {
    Daily,
    /// "Sundays", "Mon–Fri", "Mon, Wed".
    Weekdays(String),
    Monthly(String),
}

const DAY_WORDS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/// Sunday-first weekday bits as the schedule module's Monday-first [`Weekdays`].
fn monday_first(bits: u8) -> Option<Weekdays> {
    Weekdays::from_bits((bits >> 1) | ((bits & 1) << 6))
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// A regular step in words, and whether it repeats all day.
struct Every {
    text: String,
    whole_day: bool,
}

/// A regular step: "every minute", "every 15 min", "hourly at :15", "every 3 h at :15", with
/// its hours when they do not cover the day.
fn every_in_words(hours: &[u32], minutes: &[u32]) -> Option<Every> {
    let hour_step = progression(hours)?;
    let minute_step = progression(minutes)?;
    let whole_day = covers(hours, hour_step, 24);
    let text = match (minutes, hour_step) {
        (_, 1) if covers(minutes, minute_step, 60) && minutes.len() > 1 => {
            let every =
                if minute_step == 1 { "every minute".to_owned() } else { format!("every {minute_step} min") };
            let last = minutes.last()?;
            Some(if whole_day && minutes[0] == 0 {
                every
            } else if whole_day {
                format!("{every} from {}", clock(0, minutes[0]))
            } else {
                format!("{every} from {} to {}", clock(hours[0], minutes[0]), clock(*hours.last()?, *last))
            })
        }
        ([minute], step) if hours.len() > 1 => {
            let every = if step == 1 { "hourly".to_owned() } else { format!("every {step} h") };
            Some(match (whole_day, hours[0]) {
                (true, 0) => format!("{every} at :{minute:02}"),
                (true, first) => format!("{every} at :{minute:02} from {}", clock(first, *minute)),
                (false, first) => {
                    format!(
                        "{every} at :{minute:02} from {} to {}",
                        clock(first, *minute),
                        clock(*hours.last()?, *minute)
                    )
                }
            })
        }
        _ => None,
    };
    text.map(|text| Every { text, whole_day })
}

/// The step of an evenly spaced, sorted list (1 for a single value).
fn progression(values: &[u32]) -> Option<u32> {
    let step = match values {
        [] => return None,
        [_] => return Some(1),
        [first, second, ..] => second - first,
    };
    values.windows(2).all(|pair| pair[1] - pair[0] == step).then_some(step)
}

/// Whether a progression repeats evenly all round a cycle of `size` (the hours of a day, the
/// minutes of an hour).
fn covers(values: &[u32], step: u32, size: u32) -> bool {
    size % step == 0
        && values.first().is_some_and(|&first| first < step)
        && values.len() as u32 == size / step
}

/// A few times of day: "02:00", "02:10, 14:10".
fn times_in_words(hours: &[u32], minutes: &[u32]) -> Option<String> {
    if hours.len() * minutes.len() > 4 {
        return None;
    }
    let times: Vec<String> =
        hours.iter().flat_map(|&hour| minutes.iter().map(move |&minute| clock(hour, minute))).collect();
    Some(times.join(", "))
}

fn clock(hour: u32, minute: u32) -> String {
    format!("{hour:02}:{minute:02}")
}

// ---------------------------------------------------------------------------------------------
// Bits

/// A set of small numbers (a field's values, years since 1970).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Bits([u64; 4]);

impl Bits {
    const CAPACITY: u32 = 256;

    fn range(first: u32, last: u32) -> Self {
        let mut bits = Self::default();
        (first..=last).for_each(|value| bits.insert(value));
        bits
    }

    fn insert(&mut self, value: u32) {
        if value < Self::CAPACITY {
            self.0[(value / 64) as usize] |= 1 << (value % 64);
        }
    }

    fn contains(self, value: u32) -> bool {
        value < Self::CAPACITY && self.0[(value / 64) as usize] & (1 << (value % 64)) != 0
    }

    fn count(self) -> u32 {
        self.0.iter().map(|word| word.count_ones()).sum()
    }

    fn iter(self) -> impl Iterator<Item = u32> {
        // Bit by bit from the lowest set one: a day's times are walked for every matching day.
        self.0.into_iter().zip(0u32..).flat_map(|(word, index)| {
            std::iter::successors(Some(word), |&rest| Some(rest & rest.wrapping_sub(1)))
                .take_while(|&rest| rest != 0)
                .map(move |rest| index * 64 + rest.trailing_zeros())
        })
    }

    fn low_byte(self) -> u8 {
        (self.0[0] & 0xff) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_timestamp;

    fn at(text: &str) -> EpochMs {
        parse_timestamp(text).unwrap()
    }

    fn all_at(texts: &[&str]) -> Vec<EpochMs> {
        texts.iter().map(|text| at(text)).collect()
    }

    fn declared_in(expression: &str, zone: &str) -> Declared {
        Declared::new(expression, Zone::named(zone).unwrap(), 20 * MINUTE_MS, at("2025-01-01T00:00:00Z"))
            .unwrap()
    }

    fn declared(expression: &str) -> Declared {
        declared_in(expression, "UTC")
    }

    fn due(expression: &str, zone: &str, from: &str, to: &str) -> Vec<EpochMs> {
        declared_in(expression, zone).due_times(at(from), at(to))
    }

    fn error(expression: &str) -> PatternError {
        Pattern::parse(expression).unwrap_err()
    }

    fn field_problem(expression: &str) -> (Field, String, FieldProblem) {
        match error(expression) {
            PatternError::Field { field, item, problem, .. } => (field, item, problem),
            other => panic!("{expression}: {other}"),
        }
    }

    /// The dates (`YYYY-MM-DD`, UTC) of a list of due times.
    fn dates(due: &[EpochMs]) -> Vec<String> {
        due.iter().map(|&at| civil_date(at.div_euclid(MS_PER_DAY))).collect()
    }

    #[test]
    fn an_eventbridge_cron_every_three_hours_at_a_quarter_past_is_due_eight_times_a_day() {
        let due = due("cron(15 */3 * * ? *)", "UTC", "2025-01-15T00:00:00Z", "2025-01-15T23:59:59Z");
        let expected: Vec<EpochMs> =
            (0..8).map(|n| at("2025-01-15T00:15:00Z") + n * 3 * MS_PER_HOUR).collect();
        assert_eq!(due, expected);
    }

    #[test]
    fn a_weekday_cron_is_due_monday_to_friday_only() {
        let week = ("2025-01-04T00:00:00Z", "2025-01-12T23:59:59Z");
        let expected = all_at(&[
            "2025-01-06T02:10:00Z",
            "2025-01-07T02:10:00Z",
            "2025-01-08T02:10:00Z",
            "2025-01-09T02:10:00Z",
            "2025-01-10T02:10:00Z",
        ]);
        assert_eq!(due("cron(10 2 ? * MON-FRI *)", "UTC", week.0, week.1), expected);
        assert_eq!(due("cron(10 2 ? * 2-6 *)", "UTC", week.0, week.1), expected, "EventBridge's 1 is Sunday");
        assert_eq!(due("10 2 * * 1-5", "UTC", week.0, week.1), expected, "a crontab's 0 is Sunday");
        assert_eq!(due("10 2 * * mon-fri", "UTC", week.0, week.1), expected, "names in any case");
    }

    #[test]
    fn steps_lists_and_month_names_read_as_aws_documents_them() {
        let hour = ("2025-07-01T08:00:00Z", "2025-07-01T08:59:59Z");
        let minutes = |expression: &str| -> Vec<i64> {
            due(expression, "UTC", hour.0, hour.1).iter().map(|&t| (t - at(hour.0)) / MINUTE_MS).collect()
        };
        assert_eq!(minutes("cron(0/20 8 1 JAN,JUL ? *)"), [0, 20, 40]);
        assert_eq!(
            minutes("cron(5/10 8 1 jan,jul ? *)"),
            [5, 15, 25, 35, 45, 55],
            "a/n runs from a to the end"
        );
        assert_eq!(minutes("cron(10-30/10 8 * 7 ? *)"), [10, 20, 30]);
        assert_eq!(minutes("cron(1,2,59 * * * ? *)"), [1, 2, 59]);
        assert!(minutes("cron(0 8 1 FEB-JUN ? *)").is_empty());
        assert_eq!(minutes("*/20 8 1 7 *"), [0, 20, 40]);
    }

    #[test]
    fn a_year_field_limits_the_years_it_is_due_in() {
        let declared =
            Declared::new("cron(0 0 1 1 ? 2026-2027)", Zone::utc(), 0, at("2025-06-01T00:00:00Z")).unwrap();
        let due = declared.due_times(at("2025-01-01T00:00:00Z"), at("2029-12-31T00:00:00Z"));
        assert_eq!(due, all_at(&["2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"]));
        assert_eq!(declared.next_due(at("2027-01-01T00:00:00Z")), None);
    }

    #[test]
    fn l_in_the_day_of_month_is_the_last_day_of_each_month() {
        let due = due("cron(0 18 L * ? *)", "UTC", "2024-01-01T00:00:00Z", "2025-03-01T00:00:00Z");
        let dates = dates(&due);
        assert_eq!(&dates[..3], ["2024-01-31", "2024-02-29", "2024-03-31"]);
        assert!(dates.contains(&"2025-02-28".to_owned()));
        assert_eq!(due.len(), 14);
    }

    #[test]
    fn the_last_weekday_and_the_nearest_weekday_stay_within_their_month() {
        let window = ("2025-01-01T00:00:00Z", "2025-12-31T23:59:59Z");
        let last_weekdays = dates(&due("cron(0 9 LW * ? *)", "UTC", window.0, window.1));
        assert_eq!(last_weekdays[4], "2025-05-30", "May 31 is a Saturday");
        assert_eq!(last_weekdays[7], "2025-08-29", "August 31 is a Sunday");
        let first = dates(&due("cron(0 9 1W * ? *)", "UTC", window.0, window.1));
        assert_eq!(first[1], "2025-02-03", "February 1 is a Saturday: Monday the 3rd, not Friday in January");
        assert_eq!(first[5], "2025-06-02", "June 1 is a Sunday");
        let fifteenth = dates(&due("cron(0 9 15W * ? *)", "UTC", window.0, window.1));
        assert_eq!(fifteenth[2], "2025-03-14", "March 15 is a Saturday");
        let thirty_first = dates(&due("cron(0 9 31W * ? *)", "UTC", window.0, window.1));
        assert_eq!(thirty_first.len(), 7, "due only in months that have a 31st");
        assert!(thirty_first.contains(&"2025-08-29".to_owned()), "the 31st is a Sunday and the last day");
    }

    #[test]
    fn six_hash_three_is_the_third_friday_of_each_month() {
        let due = due("cron(0 9 ? * 6#3 *)", "UTC", "2025-01-01T00:00:00Z", "2025-03-31T00:00:00Z");
        assert_eq!(dates(&due), ["2025-01-17", "2025-02-21", "2025-03-21"]);
        let named = due_dates("cron(0 9 ? * FRI#3 *)");
        assert_eq!(named, ["2025-01-17", "2025-02-21", "2025-03-21"]);
    }

    fn due_dates(expression: &str) -> Vec<String> {
        dates(&due(expression, "UTC", "2025-01-01T00:00:00Z", "2025-03-31T00:00:00Z"))
    }

    #[test]
    fn six_l_is_the_last_friday_and_a_bare_l_is_saturday() {
        assert_eq!(due_dates("cron(0 9 ? * 6L *)"), ["2025-01-31", "2025-02-28", "2025-03-28"]);
        let saturdays = due_dates("cron(0 9 ? * L *)");
        assert_eq!(saturdays[0], "2025-01-04");
        assert_eq!(saturdays, due_dates("cron(0 9 ? * SAT *)"));
    }

    #[test]
    fn a_rate_counts_whole_periods_from_its_anchor_both_ways() {
        let anchor = at("2025-01-01T10:02:30Z");
        let declared = Declared::new("rate(5 minutes)", Zone::utc(), 0, anchor).unwrap();
        let due = declared.due_times(at("2025-01-01T09:55:00Z"), at("2025-01-01T10:10:00Z"));
        assert_eq!(due, all_at(&["2025-01-01T09:57:30Z", "2025-01-01T10:02:30Z", "2025-01-01T10:07:30Z"]));
        assert_eq!(declared.next_due(anchor), Some(anchor + 5 * MINUTE_MS));
        assert_eq!(declared.next_due(anchor - 1), Some(anchor), "the anchor itself is due");
        let hourly = Declared::new("rate(1 hour)", Zone::utc(), 0, anchor).unwrap();
        assert_eq!(hourly.next_due(at("2025-03-01T00:00:00Z")), Some(at("2025-03-01T00:02:30Z")));
    }

    #[test]
    fn a_daily_rate_is_24_hours_even_across_a_daylight_saving_change() {
        let paris = Zone::named("Europe/Paris").unwrap();
        let declared = Declared::new("rate(1 day)", paris, 0, at("2025-03-29T11:00:00Z")).unwrap();
        assert_eq!(declared.next_due(at("2025-03-29T11:00:00Z")), Some(at("2025-03-30T11:00:00Z")));
    }

    #[test]
    fn a_crontab_line_matches_either_day_field_when_both_are_restricted() {
        let due = due("0 0 13 * 5", "UTC", "2025-01-01T00:00:00Z", "2025-01-31T23:59:59Z");
        let expected = ["2025-01-03", "2025-01-10", "2025-01-13", "2025-01-17", "2025-01-24", "2025-01-31"];
        assert_eq!(dates(&due), expected, "the 13th, and every Friday");
    }

    #[test]
    fn a_crontab_day_field_starting_with_a_star_leaves_the_choice_to_the_other() {
        let odd_mondays = due("0 0 */2 * 1", "UTC", "2025-01-01T00:00:00Z", "2025-01-31T23:59:59Z");
        assert_eq!(dates(&odd_mondays), ["2025-01-13", "2025-01-27"], "Vixie cron: odd days AND Mondays");
        let mondays = due("0 0 * * 1", "UTC", "2025-01-01T00:00:00Z", "2025-01-31T23:59:59Z");
        assert_eq!(dates(&mondays), ["2025-01-06", "2025-01-13", "2025-01-20", "2025-01-27"]);
    }

    #[test]
    fn sunday_is_0_7_or_sun_in_a_crontab() {
        let sundays =
            |expression: &str| dates(&due(expression, "UTC", "2025-01-01T00:00:00Z", "2025-01-14T00:00:00Z"));
        assert_eq!(sundays("0 12 * * 0"), ["2025-01-05", "2025-01-12"]);
        assert_eq!(sundays("0 12 * * 7"), sundays("0 12 * * 0"));
        assert_eq!(sundays("0 12 * * SUN"), sundays("0 12 * * 0"));
        assert_eq!(sundays("0 12 * * 6-7"), ["2025-01-04", "2025-01-05", "2025-01-11", "2025-01-12"]);
    }

    #[test]
    fn crontab_nicknames_are_the_lines_they_stand_for() {
        for (nickname, line) in [
            ("@hourly", "0 * * * *"),
            ("@daily", "0 0 * * *"),
            ("@midnight", "0 0 * * *"),
            ("@weekly", "0 0 * * 0"),
            ("@monthly", "0 0 1 * *"),
            ("@yearly", "0 0 1 1 *"),
            ("@annually", "0 0 1 1 *"),
        ] {
            assert_eq!(Pattern::parse(nickname), Pattern::parse(line), "{nickname}");
        }
        assert!(matches!(error("@reboot"), PatternError::Unrecognised(_)), "@reboot has no due times");
    }

    #[test]
    fn an_out_of_range_weekday_names_its_field_and_the_values_allowed() {
        let message = error("cron(15 */3 * * 8 *)").to_string();
        assert_eq!(message, "cron(15 */3 * * 8 *): day-of-week field \"8\": must be 1–7 or SUN–SAT");
        assert_eq!(
            field_problem("cron(0 9 ? * MON,FUN *)"),
            (Field::DayOfWeek, "FUN".to_owned(), FieldProblem::OutOfRange { allowed: "1–7 or SUN–SAT" })
        );
    }

    #[test]
    fn each_field_refuses_values_outside_its_range() {
        for (expression, field, allowed) in [
            ("cron(60 * * * ? *)", Field::Minutes, "0–59"),
            ("cron(0 24 * * ? *)", Field::Hours, "0–23"),
            ("cron(0 0 32 * ? *)", Field::DayOfMonth, "1–31"),
            ("cron(0 0 0 * ? *)", Field::DayOfMonth, "1–31"),
            ("cron(0 0 1 13 ? *)", Field::Month, "1–12 or JAN–DEC"),
            ("cron(0 0 ? * 0 *)", Field::DayOfWeek, "1–7 or SUN–SAT"),
            ("cron(0 0 1 * ? 2200)", Field::Year, "1970–2199"),
            ("cron(0 0 1 * ? 1969)", Field::Year, "1970–2199"),
            ("0 0 * * 8", Field::DayOfWeek, "0–7 or SUN–SAT"),
            ("+5 0 * * *", Field::Minutes, "0–59"),
            ("0 0 L * *", Field::DayOfMonth, "1–31"),
        ] {
            let (found, _, problem) = field_problem(expression);
            assert_eq!((found, problem), (field, FieldProblem::OutOfRange { allowed }), "{expression}");
        }
    }

    #[test]
    fn exactly_one_eventbridge_day_field_is_a_question_mark() {
        let day_fields = |expression: &str| match error(expression) {
            PatternError::DayFields { problem, .. } => problem,
            other => panic!("{expression}: {other}"),
        };
        assert_eq!(day_fields("cron(0 10 * * * *)"), DayFieldsProblem::NoQuestionMark);
        assert_eq!(day_fields("cron(0 10 1 * MON *)"), DayFieldsProblem::NoQuestionMark);
        assert_eq!(day_fields("cron(0 10 ? * ? *)"), DayFieldsProblem::BothQuestionMarks);
        assert_eq!(field_problem("cron(? 10 * * ? *)").2, FieldProblem::QuestionMark);
        assert_eq!(field_problem("cron(0 10 ?,1 * ? *)").2, FieldProblem::QuestionMark);
        assert!(Pattern::parse("cron(0 10 ? * * *)").is_ok());
    }

    #[test]
    fn wrong_field_counts_are_refused_saying_what_the_fields_are() {
        let message = error("cron(0 10 * * ?)").to_string();
        assert!(message.contains("5 fields, but cron(…) has 6: minutes hours"), "{message}");
        assert!(matches!(
            error("0 10 * * ? *"),
            PatternError::FieldCount { found: 6, syntax: Syntax::Crontab, .. }
        ));
        assert!(matches!(error("0 10 * *"), PatternError::FieldCount { found: 4, .. }));
    }

    #[test]
    fn empty_values_backwards_ranges_and_bad_steps_are_refused() {
        assert_eq!(field_problem("1,,2 * * * *"), (Field::Minutes, String::new(), FieldProblem::Missing));
        assert_eq!(field_problem("0 1- * * *").2, FieldProblem::Missing);
        assert_eq!(field_problem("0 0 * * -1"), (Field::DayOfWeek, "-1".to_owned(), FieldProblem::Missing));
        assert_eq!(field_problem("0 22-2 * * *"), (Field::Hours, "22-2".to_owned(), FieldProblem::Backwards));
        assert_eq!(field_problem("*/0 * * * *").2, FieldProblem::BadStep { max: 60 });
        assert_eq!(field_problem("*/ * * * *").2, FieldProblem::Missing);
        assert_eq!(field_problem("cron(0 */25 * * ? *)").2, FieldProblem::BadStep { max: 24 });
        assert!(matches!(error("   "), PatternError::Empty));
        assert!(matches!(error(""), PatternError::Empty));
    }

    #[test]
    fn control_invisible_and_look_alike_characters_are_refused() {
        assert!(matches!(error("0 2 * *\t*"), PatternError::ControlCharacter { code: 0x09, .. }));
        assert!(matches!(error("0 2 * * 1\u{200B}"), PatternError::InvisibleCharacter { code: 0x200B, .. }));
        assert!(matches!(
            error("cron(0 2 ? * MON\u{2013}FRI *)"),
            PatternError::NotAscii { character: '–', .. }
        ));
        assert!(matches!(error("0 2 * * \u{FF11}"), PatternError::NotAscii { .. }), "a fullwidth digit");
    }

    #[test]
    fn rate_units_are_singular_for_one_and_plural_above() {
        let rate = |expression: &str| match Pattern::parse(expression) {
            Ok(Pattern::Rate(rate)) => Ok(rate.period_ms()),
            Ok(other) => panic!("{expression}: {other:?}"),
            Err(PatternError::Rate { problem, .. }) => Err(problem),
            Err(other) => panic!("{expression}: {other}"),
        };
        assert_eq!(rate("rate(5 minutes)"), Ok(5 * MINUTE_MS));
        assert_eq!(rate("rate(1 hour)"), Ok(MS_PER_HOUR));
        assert_eq!(rate("rate(2 days)"), Ok(2 * MS_PER_DAY));
        assert_eq!(rate("rate(1 minute)"), Ok(MINUTE_MS));
        assert_eq!(rate("rate(1 hours)"), Err(RateProblem::PluralForOne));
        assert_eq!(rate("rate(5 hour)"), Err(RateProblem::SingularForMany));
        assert_eq!(rate("rate(0 minutes)"), Err(RateProblem::Value));
        assert_eq!(rate("rate(-5 minutes)"), Err(RateProblem::Value));
        assert_eq!(rate("rate(1.5 hours)"), Err(RateProblem::Value));
        assert_eq!(rate("rate(2 weeks)"), Err(RateProblem::Unit));
        assert_eq!(rate("rate(5)"), Err(RateProblem::Shape));
        assert_eq!(rate("rate(5 minutes now)"), Err(RateProblem::Shape));
        assert_eq!(rate("rate(99999999999999999999 days)"), Err(RateProblem::TooLong));
        assert_eq!(rate("rate(5000 days)"), Err(RateProblem::TooLong));
    }

    #[test]
    fn syntax_aws_does_not_document_is_refused_rather_than_guessed_at() {
        let refused = |expression: &str| field_problem(expression).2;
        assert!(matches!(refused("cron(0 9 L-3 * ? *)"), FieldProblem::Unsupported { .. }));
        assert_eq!(refused("cron(0 9 1,L * ? *)"), FieldProblem::NotAlone { what: "L" });
        assert_eq!(refused("cron(0 9 1-15W * ? *)"), FieldProblem::NotAlone { what: "W" });
        assert_eq!(refused("cron(0 9 ? * 3#1,6#3 *)"), FieldProblem::NotAlone { what: "#" });
        assert_eq!(refused("cron(0 9 ? * MON,6L *)"), FieldProblem::NotAlone { what: "L" });
        assert_eq!(refused("cron(0 9 ? * 6#6 *)"), FieldProblem::BadNth);
        assert_eq!(refused("cron(0 9 ? * */2 *)"), FieldProblem::NotAllowed { what: "/" });
        assert_eq!(refused("cron(0 9 1#2 * ? *)"), FieldProblem::NotAllowed { what: "#" });
    }

    #[test]
    fn crontab_lines_refuse_what_only_eventbridge_reads() {
        assert_eq!(field_problem("0 9 ? * 1").2, FieldProblem::QuestionMark);
        assert_eq!(field_problem("0 9 * * 5#3").2, FieldProblem::NotAllowed { what: "#" });
        assert_eq!(field_problem("5/10 * * * *").2, FieldProblem::StepAfterValue);
        assert!(Pattern::parse("5-59/10 * * * *").is_ok());
    }

    #[test]
    fn unrecognised_expressions_say_what_is_expected() {
        for text in ["cron(0 10 * * ? *", "CRON(0 10 * * ? *)", "every day at ten", "at(2025-01-01T10:00:00)"]
        {
            let error = error(text);
            assert!(
                matches!(error, PatternError::Unrecognised(_) | PatternError::FieldCount { .. }),
                "{text}: {error}"
            );
        }
        assert!(error("cron(0 10 * * ? *").to_string().contains("expected cron(minutes hours"));
    }

    #[test]
    fn a_cron_that_can_never_fire_is_refused() {
        let since = at("2025-06-01T00:00:00Z");
        for expression in ["cron(0 0 30 2 ? *)", "0 0 31 4 *", "cron(0 0 1 1 ? 2020)", "cron(0 9 31W 2 ? *)"]
        {
            let refused = Declared::new(expression, Zone::utc(), 0, since).unwrap_err();
            assert!(matches!(refused, DeclareError::NeverDue { .. }), "{expression}: {refused}");
            assert!(refused.to_string().contains("never due in the five years from 2025-06-01"), "{refused}");
        }
        let leap_day = Declared::new("0 0 29 2 *", Zone::utc(), 0, since).unwrap();
        assert_eq!(leap_day.next_due(since), Some(at("2028-02-29T00:00:00Z")));
        let either = Declared::new("0 0 30 2 1", Zone::utc(), 0, since);
        assert!(either.is_ok(), "Vixie cron: February 30th OR Mondays in February");
    }

    #[test]
    fn a_time_that_daylight_saving_always_skips_is_never_due() {
        // 02:30 on the last Sunday of March, Paris's spring-forward: the hour does not exist.
        let since = at("2025-01-01T00:00:00Z");
        let refused = Declared::new("cron(30 2 ? 3 1L *)", Zone::named("Europe/Paris").unwrap(), 0, since);
        assert!(matches!(refused, Err(DeclareError::NeverDue { .. })), "{refused:?}");
    }

    #[test]
    fn unknown_time_zones_are_refused_and_known_ones_take_their_canonical_name() {
        for name in ["Mars/Olympus_Mons", "Etc/Unknown", "", "Europe/Paris\n", "+01:00"] {
            assert_eq!(Zone::named(name), Err(DeclareError::UnknownZone(name.to_owned())), "{name:?}");
        }
        assert_eq!(Zone::named("europe/paris").unwrap().name(), "Europe/Paris");
        assert_eq!(Zone::named("UTC").unwrap().name(), "UTC");
        assert_eq!(Zone::default(), Zone::utc());
    }

    #[test]
    fn a_negative_grace_is_refused() {
        assert_eq!(Declared::new("@daily", Zone::utc(), -1, 0), Err(DeclareError::NegativeGrace(-1)));
    }

    #[test]
    fn a_declared_schedule_keeps_what_was_typed() {
        let declared = Declared::new(" 0 2 * * * ", Zone::utc(), 5 * MINUTE_MS, 7).unwrap();
        assert_eq!(declared.expression(), " 0 2 * * * ");
        assert_eq!(
            (declared.grace_ms(), declared.since(), declared.zone().name()),
            (5 * MINUTE_MS, 7, "UTC")
        );
        assert!(matches!(declared.pattern(), Pattern::Cron(cron) if cron.syntax() == Syntax::Crontab));
    }

    #[test]
    fn a_paris_job_at_0230_follows_the_spring_forward() {
        // 2025-03-30: at 02:00 CET Paris's clocks jump to 03:00 CEST.
        let at_0230 = due("30 2 * * *", "Europe/Paris", "2025-03-29T00:00:00Z", "2025-03-31T23:59:59Z");
        assert_eq!(at_0230, all_at(&["2025-03-29T01:30:00Z", "2025-03-31T00:30:00Z"]), "not due on the 30th");
        let after = due("30 3 * * *", "Europe/Paris", "2025-03-30T00:00:00Z", "2025-03-30T23:59:59Z");
        assert_eq!(after, all_at(&["2025-03-30T01:30:00Z"]), "03:30 exists, in summer time");
    }

    #[test]
    fn a_paris_job_at_0230_is_due_once_on_the_fall_back() {
        // 2025-10-26: at 03:00 CEST Paris's clocks go back to 02:00 CET, so 02:30 comes twice.
        let due = due("cron(30 2 * * ? *)", "Europe/Paris", "2025-10-25T00:00:00Z", "2025-10-27T23:59:59Z");
        let expected = all_at(&["2025-10-25T00:30:00Z", "2025-10-26T00:30:00Z", "2025-10-27T01:30:00Z"]);
        assert_eq!(due, expected, "the first 02:30 (summer time) only");
    }

    #[test]
    fn a_half_hourly_paris_job_keeps_its_wall_clock_slots_on_both_changeover_days() {
        let spring = due("*/30 * * * *", "Europe/Paris", "2025-03-29T23:00:00Z", "2025-03-30T21:59:59Z");
        assert_eq!(spring.len(), 46, "a 23-hour day without 02:00 and 02:30");
        let autumn = due("*/30 * * * *", "Europe/Paris", "2025-10-25T22:00:00Z", "2025-10-26T22:59:59Z");
        assert_eq!(autumn.len(), 48, "a 25-hour day, its repeated hour due once");
        let repeat = (at("2025-10-26T01:00:00Z"), at("2025-10-26T01:59:59Z"));
        assert!(
            !autumn.iter().any(|t| (repeat.0..=repeat.1).contains(t)),
            "nothing in the hour's second pass"
        );
    }

    #[test]
    fn a_new_york_job_in_the_skipped_hour_is_not_due_that_day() {
        // 2025-03-09: at 02:00 EST New York's clocks jump to 03:00 EDT.
        let due = due("30 2 * * *", "America/New_York", "2025-03-08T00:00:00Z", "2025-03-10T23:59:59Z");
        assert_eq!(due, all_at(&["2025-03-08T07:30:00Z", "2025-03-10T06:30:00Z"]));
    }

    #[test]
    fn a_new_york_job_in_the_repeated_hour_is_due_at_its_first_occurrence() {
        // 2025-11-02: at 02:00 EDT New York's clocks go back to 01:00 EST.
        let due =
            due("cron(30 1 * * ? *)", "America/New_York", "2025-11-01T00:00:00Z", "2025-11-03T23:59:59Z");
        let expected = all_at(&["2025-11-01T05:30:00Z", "2025-11-02T05:30:00Z", "2025-11-03T06:30:00Z"]);
        assert_eq!(due, expected);
    }

    #[test]
    fn a_zone_without_daylight_saving_is_a_fixed_offset_and_utc_is_the_default() {
        let tokyo = due("0 9 * * *", "Asia/Tokyo", "2025-03-30T00:00:00Z", "2025-03-30T23:59:59Z");
        assert_eq!(tokyo, all_at(&["2025-03-30T00:00:00Z"]));
        let utc = Declared::new("0 9 * * *", Zone::default(), 0, 0).unwrap();
        assert_eq!(utc.next_due(at("2025-03-30T00:00:00Z")), Some(at("2025-03-30T09:00:00Z")));
    }

    #[test]
    fn next_due_looks_years_ahead_for_yearly_crons() {
        let yearly = declared("cron(0 0 1 JAN ? *)");
        assert_eq!(yearly.next_due(at("2025-02-01T00:00:00Z")), Some(at("2026-01-01T00:00:00Z")));
        let hourly = declared("@hourly");
        assert_eq!(hourly.next_due(at("2025-02-01T10:00:00Z")), Some(at("2025-02-01T11:00:00Z")));
        assert_eq!(hourly.next_due(at("2025-02-01T10:59:59.999Z")), Some(at("2025-02-01T11:00:00Z")));
    }

    #[test]
    fn windows_at_the_ends_of_time_neither_panic_nor_overflow() {
        for expression in ["rate(7 minutes)", "cron(0 0 1 1 ? *)", "* * * * *"] {
            let declared = declared(expression);
            assert_eq!(declared.next_due(EpochMs::MAX), None, "{expression}");
            assert!(
                declared.due_times(EpochMs::MAX - MS_PER_DAY, EpochMs::MAX).len() <= 1440,
                "{expression}"
            );
            assert!(
                declared.due_times(EpochMs::MIN, EpochMs::MIN + MS_PER_DAY).len() <= 1440,
                "{expression}"
            );
            assert!(declared.due_times(10, 5).is_empty(), "{expression}");
        }
        let rate = Declared::new("rate(1 day)", Zone::utc(), 0, EpochMs::MIN).unwrap();
        assert!(rate.next_due(EpochMs::MAX - MS_PER_DAY).is_none_or(|t| t > EpochMs::MAX - MS_PER_DAY));
    }

    #[test]
    fn a_month_of_minutely_due_times_is_listed_whole() {
        let minutely = declared("* * * * *");
        let due = minutely.due_times(at("2025-01-01T00:00:00Z"), at("2025-01-31T00:00:00Z"));
        assert_eq!(due.len(), 30 * 1440 + 1);
        assert!(due.windows(2).all(|pair| pair[1] - pair[0] == MINUTE_MS));
    }

    #[test]
    fn declared_schedules_read_as_people_say_them() {
        let words = |expression: &str, zone: &str| declared_in(expression, zone).to_string();
        assert_eq!(words("cron(15 */3 * * ? *)", "Europe/Paris"), "every 3 h at :15 (Europe/Paris)");
        assert_eq!(words("cron(10 2 ? * MON-FRI *)", "UTC"), "Mon–Fri at 02:10 UTC");
        assert_eq!(words("0 2 * * *", "Europe/Paris"), "daily at 02:00 Europe/Paris");
        assert_eq!(words("rate(5 minutes)", "UTC"), "every 5 min");
        assert_eq!(words("rate(1 hour)", "UTC"), "every hour");
        assert_eq!(words("rate(2 days)", "Europe/Paris"), "every 2 d");
        assert_eq!(words("*/15 * * * *", "UTC"), "every 15 min (UTC)");
        assert_eq!(words("5-59/30 * * * *", "UTC"), "every 30 min from 00:05 (UTC)");
        assert_eq!(words("* * * * *", "UTC"), "every minute (UTC)");
        assert_eq!(words("@hourly", "UTC"), "hourly at :00 (UTC)");
        assert_eq!(words("15 1-23/3 * * *", "UTC"), "every 3 h at :15 from 01:15 (UTC)");
        assert_eq!(words("*/10 8-17 * * 1-5", "UTC"), "every 10 min from 08:00 to 17:50, Mon–Fri (UTC)");
        assert_eq!(words("0 8-18 * * *", "UTC"), "hourly at :00 from 08:00 to 18:00 (UTC)");
        assert_eq!(words("0 9,17 * * 1,3", "UTC"), "Mon, Wed at 09:00, 17:00 UTC");
        assert_eq!(words("@weekly", "UTC"), "Sundays at 00:00 UTC");
        assert_eq!(words("cron(0 8 1 * ? *)", "UTC"), "monthly on the 1st at 08:00 UTC");
        assert_eq!(words("cron(0 9 ? * 6#3 *)", "UTC"), "monthly on the 3rd Friday at 09:00 UTC");
        assert_eq!(words("cron(0 9 ? * 6L *)", "UTC"), "monthly on the last Friday at 09:00 UTC");
        assert_eq!(words("cron(0 18 L * ? *)", "UTC"), "monthly on the last day at 18:00 UTC");
        assert_eq!(words("0 0 13 * 5", "UTC"), "0 0 13 * 5 (UTC)");
        assert_eq!(words("cron(0 9 ? * 6L 2026)", "UTC"), "cron(0 9 ? * 6L 2026) (UTC)");
        assert_eq!(words("0 0 1 1 *", "UTC"), "0 0 1 1 * (UTC)");
        assert_eq!(words("0,30 9 * * *", "UTC"), "daily at 09:00, 09:30 UTC");
        assert_eq!(words("0 */6 * * *", "UTC"), "every 6 h at :00 (UTC)");
        assert_eq!(words("*/5 * 1 * *", "UTC"), "*/5 * 1 * * (UTC)");
    }

    /// Expressions and zones for the property tests, with changeovers in the windows below.
    const SCHEDULES: &[(&str, &str)] = &[
        ("*/30 * * * *", "Europe/Paris"),
        ("30 2 * * *", "Europe/Paris"),
        ("cron(30 1 * * ? *)", "America/New_York"),
        ("cron(15 */3 * * ? *)", "UTC"),
        ("cron(0 9 ? * 6#3 *)", "Europe/Paris"),
        ("cron(0 18 L * ? *)", "America/New_York"),
        ("0 0 13 * 5", "UTC"),
        ("rate(7 minutes)", "UTC"),
        ("rate(1 day)", "Europe/Paris"),
        ("17 * * * 1-5", "Australia/Lord_Howe"),
    ];

    proptest::proptest! {
        #[test]
        fn due_times_over_a_window_are_those_of_its_two_halves(
            schedule in proptest::sample::select(SCHEDULES),
            start in at("2025-03-25T00:00:00Z")..at("2025-11-05T00:00:00Z"),
            first in 0..4 * MS_PER_DAY,
            second in 0..4 * MS_PER_DAY,
        ) {
            let declared = Declared::new(schedule.0, Zone::named(schedule.1).unwrap(), 0, at("2025-03-01T00:00:07Z")).unwrap();
            let (a, b, c) = (start, start + first, start + first + second);
            let mut halves = declared.due_times(a, b);
            halves.extend(declared.due_times(b + 1, c));
            let whole = declared.due_times(a, c);
            proptest::prop_assert!(whole.windows(2).all(|pair| pair[0] < pair[1]), "oldest first, once each");
            proptest::prop_assert_eq!(&whole, &halves);
            let next = declared.due_times(a + 1, a + 40 * MS_PER_DAY).first().copied();
            proptest::prop_assert_eq!(declared.next_due(a), next);
        }
    }
}
