//! Human time formats: UTC timestamps and compact durations, without a date-time dependency.

use crate::time::{EpochMs, civil_date, civil_from_days};

/// `2025-01-03 04:10 UTC` (minute precision: checks never fall between minutes).
pub fn utc_minute(t: EpochMs) -> String {
    let seconds = t.div_euclid(1_000);
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        second_of_day / 3_600,
        second_of_day % 3_600 / 60
    )
}

/// `2025-01-03 04:10:07 UTC` (second precision: for a clock's skew, minutes say too little).
pub fn utc_second(t: EpochMs) -> String {
    let minute = utc_minute(t);
    let second = t.div_euclid(1_000).rem_euclid(60);
    format!("{}:{second:02} UTC", minute.trim_end_matches(" UTC"))
}

/// `2025-01-03`.
pub fn utc_date(t: EpochMs) -> String {
    civil_date(t.div_euclid(86_400_000))
}

/// `45s`, `12m 05s`, `2h 03m`, `3d 04h`: two units at most, enough to compare at a glance.
pub fn duration(ms: f64) -> String {
    let total = (ms / 1_000.0).round().max(0.0) as u64;
    let (days, hours, minutes, seconds) =
        (total / 86_400, total % 86_400 / 3_600, total % 3_600 / 60, total % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, _) => format!("{minutes}m {seconds:02}s"),
        (0, _, _) => format!("{hours}h {minutes:02}m"),
        _ => format!("{days}d {hours:02}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_render_in_utc() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_minute(1_735_286_400_000), "2024-12-27 08:00 UTC");
        assert_eq!(utc_date(951_782_400_000), "2000-02-29");
    }

    #[test]
    fn durations_use_two_units_at_most() {
        assert_eq!(duration(45_000.0), "45s");
        assert_eq!(duration(725_000.0), "12m 05s");
        assert_eq!(duration(7_380_000.0), "2h 03m");
        assert_eq!(duration(273_600_000.0), "3d 04h");
    }
}
