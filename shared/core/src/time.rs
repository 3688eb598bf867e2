//! Time conventions: epoch milliseconds, check ticks aligned to the epoch.

use std::fmt;
use std::ops::{Add, Sub};

use thiserror::Error;

/// Milliseconds since the Unix epoch (UTC).
pub type EpochMs = i64;

pub const MS_PER_SECOND: i64 = 1_000;
pub const MS_PER_HOUR: i64 = 3_600_000;
pub const MS_PER_DAY: i64 = 86_400_000;

/// A day number: whole days since the Unix epoch, counted from the nightly hour. One number, three
/// uses: night `d` is the nightly run that starts day `d`; a run ending within day `d` counts for
/// day `d`'s bucket; a night's window is the days before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Day(i64);

impl Day {
    pub const fn new(number: i64) -> Self {
        Self(number)
    }

    pub const fn number(self) -> i64 {
        self.0
    }

    /// Its date, `YYYY-MM-DD` (the date its bucket's end times start on, before the nightly hour).
    pub fn date(self) -> String {
        civil_date(self.0)
    }

    /// The days of `range`, oldest first.
    pub fn each(range: std::ops::Range<Day>) -> impl DoubleEndedIterator<Item = Day> {
        (range.start.0..range.end.0).map(Day)
    }
}

impl Add<i64> for Day {
    type Output = Day;

    fn add(self, days: i64) -> Day {
        Day(self.0 + days)
    }
}

impl Sub<i64> for Day {
    type Output = Day;

    fn sub(self, days: i64) -> Day {
        Day(self.0 - days)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The checker's period. Checks happen at every multiple of it since the Unix epoch, which is
/// what an EventBridge `rate(10 minutes)` schedule approximates and what makes replays
/// reproducible regardless of where a trace starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickInterval(i64);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("check interval must be between 1 second and 1 day, got {0} s")]
pub struct IntervalError(pub i64);

impl TickInterval {
    pub fn from_seconds(seconds: i64) -> Result<Self, IntervalError> {
        if (1..=86_400).contains(&seconds) {
            Ok(Self(seconds * MS_PER_SECOND))
        } else {
            Err(IntervalError(seconds))
        }
    }

    pub fn as_ms(self) -> i64 {
        self.0
    }

    /// The first tick at or after `t`.
    pub fn first_tick_at_or_after(self, t: EpochMs) -> EpochMs {
        let rem = t.rem_euclid(self.0);
        if rem == 0 { t } else { t - rem + self.0 }
    }

    /// The last tick at or before `t`.
    pub fn last_tick_at_or_before(self, t: EpochMs) -> EpochMs {
        t - t.rem_euclid(self.0)
    }
}

impl Default for TickInterval {
    fn default() -> Self {
        Self(crate::defaults::CHECK_INTERVAL_MINUTES * 60 * MS_PER_SECOND)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_aligned_to_the_epoch_not_to_the_trace() {
        let interval = TickInterval::from_seconds(600).unwrap();
        assert_eq!(interval.first_tick_at_or_after(0), 0);
        assert_eq!(interval.first_tick_at_or_after(1), 600_000);
        assert_eq!(interval.first_tick_at_or_after(600_000), 600_000);
        assert_eq!(interval.first_tick_at_or_after(600_001), 1_200_000);
        assert_eq!(interval.last_tick_at_or_before(1_199_999), 600_000);
        assert_eq!(interval.last_tick_at_or_before(1_200_000), 1_200_000);
    }

    #[test]
    fn interval_outside_one_second_to_one_day_is_rejected() {
        assert_eq!(TickInterval::from_seconds(0), Err(IntervalError(0)));
        assert_eq!(TickInterval::from_seconds(-5), Err(IntervalError(-5)));
        assert!(TickInterval::from_seconds(86_401).is_err());
        assert!(TickInterval::from_seconds(86_400).is_ok());
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day number, `YYYY-MM-DD`: the form in which days are stored and shown.
pub fn civil_date(days: i64) -> String {
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = (if month_index < 10 { month_index + 3 } else { month_index - 9 }) as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Why a text is not a timestamp.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TimestampError {
    #[error("{0:?} has no time zone: add Z for UTC or an offset such as +01:00")]
    NoZone(String),
    #[error("{0:?} is not a real date or time ({1})")]
    Impossible(String, String),
    #[error("{0:?} is not an RFC 3339 timestamp (like 2025-01-31T12:00:00Z)")]
    Malformed(String),
}

/// The date and time of day, before the zone: `T`, `t` or a space between them, and any
/// fraction of a second.
const LOCAL: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    version = 2,
    "[year]-[month]-[day][first [T] [t] [ ]][hour]:[minute]:[second][optional [.[subsecond]]]"
);

/// Parses a timestamp to epoch ms: RFC 3339 (`2025-01-31T12:00:00Z`, `…12:00:00.250+02:00`), and
/// the offsets other exports write, `+0100` (ISO 8601 basic) and `+01` (PostgreSQL). Impossible
/// dates (`2025-02-30`) are refused, and so is a timestamp without a zone, saying so.
pub fn parse_timestamp(text: &str) -> Result<EpochMs, TimestampError> {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(text, &Rfc3339) {
        Ok(at) => return epoch_ms(text, at),
        Err(time::error::Parse::TryFromParsed(error)) => {
            return Err(TimestampError::Impossible(text.to_owned(), out_of_range(&error)));
        }
        Err(_) => {}
    }
    let (local, offset) = split_zone(text);
    let local = time::PrimitiveDateTime::parse(local, LOCAL).map_err(|error| match error {
        time::error::Parse::TryFromParsed(error) => {
            TimestampError::Impossible(text.to_owned(), out_of_range(&error))
        }
        _ => TimestampError::Malformed(text.to_owned()),
    })?;
    let offset = offset.ok_or_else(|| TimestampError::NoZone(text.to_owned()))?;
    let offset = parse_offset(offset).ok_or_else(|| TimestampError::Malformed(text.to_owned()))?;
    let offset = time::UtcOffset::from_whole_seconds(offset).map_err(|_| {
        TimestampError::Impossible(text.to_owned(), "its offset is more than a day".to_owned())
    })?;
    epoch_ms(text, local.assume_offset(offset))
}

/// What is impossible about a date or time, in plain words (the `time` crate says "day must be
/// in the range 1..=28").
pub fn out_of_range(error: &time::error::TryFromParsed) -> String {
    let part = match error {
        time::error::TryFromParsed::ComponentRange(range) => range.name(),
        _ => "",
    };
    match part {
        "day" | "ordinal" => "its month has no such day".to_owned(),
        "month" => "there are 12 months".to_owned(),
        "hour" => "hours run from 00 to 23".to_owned(),
        "minute" => "minutes run from 00 to 59".to_owned(),
        "second" => "seconds run from 00 to 59".to_owned(),
        "" => "some part is missing".to_owned(),
        other => format!("its {other} is out of range"),
    }
}

/// The text before its zone, and the zone (`Z`, `+01:00`, `+0100`, `+01`), if any.
fn split_zone(text: &str) -> (&str, Option<&str>) {
    if let Some(local) = text.strip_suffix(['Z', 'z']) {
        return (local, Some("+00:00"));
    }
    // The sign of an offset comes after the time of day (past "YYYY-MM-DDTHH:MM:SS").
    match text.char_indices().skip(19).find(|&(_, c)| c == '+' || c == '-') {
        Some((at, _)) => (&text[..at], Some(&text[at..])),
        None => (text, None),
    }
}

/// `+HH:MM`, `+HHMM` or `+HH` in seconds east of UTC.
fn parse_offset(offset: &str) -> Option<i32> {
    let sign = match offset.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = offset[1..].chars().filter(|&c| c != ':').collect();
    let colons = offset[1..].matches(':').count();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || colons > 1 || (colons == 1 && offset.len() != 6) {
        return None;
    }
    let (hours, minutes) = match digits.len() {
        2 => (digits.parse::<i32>().ok()?, 0),
        4 => (digits[..2].parse::<i32>().ok()?, digits[2..].parse::<i32>().ok()?),
        _ => return None,
    };
    // No zone is a day or more from UTC: `+25:00` is a typo or a forgery, never an offset.
    (hours <= 23 && minutes < 60).then_some(sign * (hours * 3_600 + minutes * 60))
}

fn epoch_ms(text: &str, at: time::OffsetDateTime) -> Result<EpochMs, TimestampError> {
    i64::try_from(at.unix_timestamp_nanos().div_euclid(1_000_000))
        .map_err(|_| TimestampError::Impossible(text.to_owned(), "out of range".into()))
}

#[cfg(test)]
mod calendar_tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip_through_day_numbers() {
        for days in [-1, 0, 1, 10_956, 11_016, 20_000, 2_932_896] {
            let date = civil_date(days);
            let year: i64 = date[0..4].parse().unwrap();
            let month: u32 = date[5..7].parse().unwrap();
            let day: u32 = date[8..10].parse().unwrap();
            assert_eq!(days_from_civil(year, month, day), days, "{date}");
        }
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(11_016), "2000-02-29");
    }

    #[test]
    fn rfc3339_timestamps_parse_with_fractions_and_offsets() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_timestamp("2024-12-27T08:00:00Z"), Ok(1_735_286_400_000));
        assert_eq!(parse_timestamp("2024-12-27t08:00:00z"), Ok(1_735_286_400_000));
        assert_eq!(parse_timestamp("2024-12-27T08:00:00.25Z"), Ok(1_735_286_400_250));
        assert_eq!(parse_timestamp("2024-12-27T10:00:00.123456+02:00"), Ok(1_735_286_400_123));
        assert_eq!(parse_timestamp("2024-12-27T03:00:00-05:00"), Ok(1_735_286_400_000));
    }

    #[test]
    fn other_exports_offsets_and_a_space_for_the_t_are_accepted() {
        assert_eq!(parse_timestamp("2024-12-27T09:00:00+0100"), Ok(1_735_286_400_000));
        assert_eq!(parse_timestamp("2024-12-27 09:00:00+01"), Ok(1_735_286_400_000));
        assert_eq!(parse_timestamp("2024-12-27 08:00:00.25+00"), Ok(1_735_286_400_250));
        assert_eq!(parse_timestamp("2024-12-27 03:30:00-0430"), Ok(1_735_286_400_000));
        assert_eq!(parse_timestamp("2024-12-27 08:00:00Z"), Ok(1_735_286_400_000));
    }

    #[test]
    fn offsets_of_a_day_or_more_are_refused_in_every_form() {
        for beyond in [
            "2024-12-27T08:00:00+25:00",
            "2024-12-27T08:00:00-24:00",
            "2024-12-27 08:00:00+2500",
            "2024-12-27 08:00:00+99",
        ] {
            assert!(parse_timestamp(beyond).is_err(), "{beyond} was accepted: {:?}", parse_timestamp(beyond));
        }
        assert_eq!(
            parse_timestamp("2024-12-27T08:00:00+23:59"),
            Ok(1_735_286_400_000 - (23 * 60 + 59) * 60_000)
        );
        assert_eq!(
            parse_timestamp("2024-12-27 08:00:00-2359"),
            Ok(1_735_286_400_000 + (23 * 60 + 59) * 60_000)
        );
    }

    #[test]
    fn an_impossible_date_or_time_is_told_in_plain_words() {
        for (text, words) in [
            ("2025-02-30T12:00:00Z", "its month has no such day"),
            ("2025-13-01T12:00:00Z", "there are 12 months"),
            ("2025-01-01T24:00:00Z", "hours run from 00 to 23"),
            ("2025-02-29 12:00:00+01", "its month has no such day"),
        ] {
            let told = parse_timestamp(text).unwrap_err().to_string();
            assert!(told.contains(words), "{text}: {told}");
            assert!(!told.contains("..="), "{text}: no library wording: {told}");
        }
    }

    #[test]
    fn impossible_dates_are_refused_not_rolled_over() {
        for impossible in
            ["2025-02-30T12:00:00Z", "2025-04-31T00:00:00Z", "2025-02-29 12:00:00+00", "2024-12-27T24:30:00Z"]
        {
            assert!(
                matches!(parse_timestamp(impossible), Err(TimestampError::Impossible(..))),
                "{impossible}: {:?}",
                parse_timestamp(impossible)
            );
        }
        assert!(parse_timestamp("2024-02-29T12:00:00Z").is_ok(), "a leap day is a real date");
    }

    #[test]
    fn a_timestamp_without_a_zone_is_named_as_such() {
        let error = parse_timestamp("2024-12-27T08:00:00").unwrap_err();
        assert_eq!(error, TimestampError::NoZone("2024-12-27T08:00:00".into()));
        assert!(error.to_string().contains("has no time zone"));
    }

    #[test]
    fn malformed_timestamps_are_rejected_with_the_text() {
        for bad in [
            "",
            "2024-12-27",
            "2024-12-27T08:00:00+1",
            "2024-12-27T08:00:00+01:0",
            "2024-12-27T08:00:00.Z",
            "yesterday at noon!!",
        ] {
            let error = parse_timestamp(bad).unwrap_err();
            assert!(error.to_string().contains(&format!("{bad:?}")), "{error}");
        }
    }
}
