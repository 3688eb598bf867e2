//! Time conventions: epoch milliseconds, check ticks aligned to the epoch.

use thiserror::Error;

/// Milliseconds since the Unix epoch (UTC).
pub type EpochMs = i64;

pub const MS_PER_SECOND: i64 = 1_000;
pub const MS_PER_HOUR: i64 = 3_600_000;
pub const MS_PER_DAY: i64 = 86_400_000;

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
        Self(600 * MS_PER_SECOND)
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

#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0:?} is not an RFC 3339 timestamp (like 2025-01-31T12:00:00Z)")]
pub struct TimestampError(pub String);

/// Parses an RFC 3339 timestamp (`2025-01-31T12:00:00Z`, `…12:00:00.250+02:00`) to epoch ms.
pub fn parse_rfc3339(text: &str) -> Result<EpochMs, TimestampError> {
    let fail = || TimestampError(text.to_owned());
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Result<i64, TimestampError> {
        let part = bytes.get(range).ok_or_else(fail)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return Err(fail());
        }
        Ok(part.iter().fold(0, |acc, &d| acc * 10 + i64::from(d - b'0')))
    };
    let separators_ok = bytes.len() >= 20
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && matches!(bytes[10], b'T' | b't' | b' ')
        && bytes[13] == b':'
        && bytes[16] == b':';
    if !separators_ok {
        return Err(fail());
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return Err(fail());
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(fail());
        }
        millis = fraction
            .bytes()
            .take(3)
            .chain(std::iter::repeat(b'0'))
            .take(3)
            .fold(0, |acc, d| acc * 10 + i64::from(if d.is_ascii_digit() { d - b'0' } else { 0 }));
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [h1, h2, m1, m2];
            if !digits.iter().all(|d| d.is_ascii_digit()) {
                return Err(fail());
            }
            let value = |a: &u8, b: &u8| i64::from((a - b'0') * 10 + (b - b'0'));
            let minutes = value(h1, h2) * 60 + value(m1, m2);
            if *sign == b'+' { minutes } else { -minutes }
        }
        _ => return Err(fail()),
    };
    let days = days_from_civil(year, month as u32, day as u32);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Ok(seconds * MS_PER_SECOND + millis)
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
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_rfc3339("2024-12-27T08:00:00Z"), Ok(1_735_286_400_000));
        assert_eq!(parse_rfc3339("2024-12-27T08:00:00.25Z"), Ok(1_735_286_400_250));
        assert_eq!(parse_rfc3339("2024-12-27T10:00:00.123456+02:00"), Ok(1_735_286_400_123));
        assert_eq!(parse_rfc3339("2024-12-27T03:00:00-05:00"), Ok(1_735_286_400_000));
    }

    #[test]
    fn malformed_timestamps_are_rejected_with_the_text() {
        for bad in [
            "",
            "2024-12-27",
            "2024-12-27T08:00:00",
            "2024-13-01T00:00:00Z",
            "2024-12-27T08:00:00.Z",
            "yesterday at noon!!",
        ] {
            let error = parse_rfc3339(bad).unwrap_err();
            assert!(error.to_string().contains(&format!("{bad:?}")), "{error}");
        }
    }
}
