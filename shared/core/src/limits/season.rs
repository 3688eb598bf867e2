//! Weekly seasons, the seed's second example ("this data source doesn't have data to serve on
//! the weekends"): which season a run belongs to, whether a task type's own history shows one,
//! and how far back a season's window looks.
//!
//! The rule, as screened (docs/DETECTION.md, "Seasons"): a type is seasonal on a night when,
//! over each season's look-back, each season has at least [`MIN_RUNS_PER_SEASON`] succeeded runs
//! and a log-normal whose median differs by season (one spread for both) explains its durations
//! better than one log-normal for all, by more than [`EVIDENCE_THRESHOLD`] in the Bayesian
//! information criterion (one parameter more, so the split must earn ln n and then the
//! threshold). A season is a shift of level: one slow run widens one season's spread, and a
//! model with a spread per season would take that for a season.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::limits::baseline::Baseline;
use crate::schedule::declared::Zone;
use crate::stats::histogram::DurationHistogram;
use crate::stats::moments::LogMoments;
use crate::time::{EpochMs, MS_PER_DAY};

/// Judging by season: the IANA time zone whose weekends count (UTC by default: a team's
/// weekends are local).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeasonRule {
    /// Made once per process and kept for its whole life (`&'static` keeps replay settings
    /// `Copy`).
    zone: &'static Zone,
}

impl SeasonRule {
    /// Weekends in `zone`.
    pub fn in_zone(zone: Zone) -> Self {
        Self { zone: Box::leak(Box::new(zone)) }
    }

    pub fn zone(&self) -> &Zone {
        self.zone
    }

    pub fn season_of(&self, start: EpochMs) -> Season {
        if self.zone.is_utc() {
            return Season::of(start, 0);
        }
        if self.zone.is_weekend(start) { Season::Weekend } else { Season::Weekday }
    }
}

impl Default for SeasonRule {
    fn default() -> Self {
        static UTC: std::sync::OnceLock<Zone> = std::sync::OnceLock::new();
        Self { zone: UTC.get_or_init(Zone::utc) }
    }
}

/// Days of the week, weekday or weekend, by a run's start in its zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Season {
    Weekday,
    Weekend,
}

/// Fewest succeeded runs in each season before a type may be found seasonal.
pub const MIN_RUNS_PER_SEASON: u64 = 10;

/// How much better (in BIC) a median per season must explain a type's durations than one for
/// both. On the generated seasonal histories every type crosses it within weeks of its season;
/// on the bundled traces three Julia types do, on 8 of 10,163 type-nights, and no NASA type.
pub const EVIDENCE_THRESHOLD: f64 = 30.0;

/// The variance of ln d below which durations are taken as equal (a 2 % spread): identical runs
/// would otherwise make any split look infinitely better.
const LOG_VARIANCE_FLOOR: f64 = 0.02 * 0.02;

impl Season {
    pub const ALL: [Season; 2] = [Season::Weekday, Season::Weekend];

    /// The season of a run started at `start`, in a zone `utc_offset_minutes` east of UTC.
    pub fn of(start: EpochMs, utc_offset_minutes: i32) -> Self {
        let local = start + i64::from(utc_offset_minutes) * 60_000;
        // 1970-01-01 was a Thursday: weekday 0 is Monday.
        let weekday = (local.div_euclid(MS_PER_DAY) + 3).rem_euclid(7);
        if weekday >= 5 { Season::Weekend } else { Season::Weekday }
    }

    /// 0 for weekdays, 1 for weekends.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Season::Weekday => "weekday",
            Season::Weekend => "weekend",
        }
    }

    /// Days of the week it holds.
    fn days_a_week(self) -> u32 {
        match self {
            Season::Weekday => 5,
            Season::Weekend => 2,
        }
    }

    /// Days a season's window looks back so that it holds about as many runs as the plain
    /// window of `window_days`: 20 for weekdays and 49 for weekends with a 14-day window.
    pub fn look_back_days(self, window_days: u32) -> u32 {
        (window_days * 7).div_ceil(self.days_a_week())
    }
}

/// One season's limits on a night: its window's baseline (none with too few runs) and, with the
/// tailored method, the window's histogram, as a type's own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeasonLimits {
    pub baseline: Option<Baseline>,
    pub window: Option<DurationHistogram>,
}

/// A type's limits by season on a night, kept for every type with enough runs in each season
/// to tell, and the evidence that says whether its runs are judged by them.
#[derive(Debug, Clone, PartialEq)]
pub struct SeasonalLimits {
    /// [`seasonal_evidence`] of the night's look-backs.
    pub evidence: f64,
    /// Indexed by [`Season::index`].
    pub seasons: [SeasonLimits; 2],
}

impl SeasonalLimits {
    /// Whether its own history says the type is seasonal.
    pub fn is_seasonal(&self) -> bool {
        self.evidence > EVIDENCE_THRESHOLD
    }

    pub fn of(&self, season: Season) -> &SeasonLimits {
        &self.seasons[season.index()]
    }
}

/// An operator's choice for a type: judged by season or not, whatever its history says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeasonMode {
    /// One window for every run, as before seasons.
    Plain,
    /// By season whenever each season has enough runs to tell.
    Seasonal,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("a season mode is plain or seasonal, got {0:?}")]
pub struct SeasonModeError(pub String);

impl SeasonMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SeasonMode::Plain => "plain",
            SeasonMode::Seasonal => "seasonal",
        }
    }
}

impl FromStr for SeasonMode {
    type Err = SeasonModeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "plain" => Ok(SeasonMode::Plain),
            "seasonal" => Ok(SeasonMode::Seasonal),
            _ => Err(SeasonModeError(text.to_owned())),
        }
    }
}

impl fmt::Display for SeasonMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a type with `limits` is judged by season: as an operator's `forced` mode says, or as
/// its own history does.
pub fn judged_by_season(limits: Option<&SeasonalLimits>, forced: Option<SeasonMode>) -> bool {
    match (limits, forced) {
        (None, _) | (Some(_), Some(SeasonMode::Plain)) => false,
        (Some(_), Some(SeasonMode::Seasonal)) => true,
        (Some(limits), None) => limits.is_seasonal(),
    }
}

/// How much better, in BIC, a median per season explains the runs than one for both (n ln of
/// the total over the within-season variance of ln d, less ln n); `None` when a season has too
/// few runs to tell.
pub fn seasonal_evidence(weekday: &LogMoments, weekend: &LogMoments) -> Option<f64> {
    if weekday.count() < MIN_RUNS_PER_SEASON || weekend.count() < MIN_RUNS_PER_SEASON {
        return None;
    }
    let mut both = *weekday;
    both.merge(weekend);
    let n = both.count() as f64;
    let scatter = |moments: &LogMoments| moments.count() as f64 * log_variance(moments);
    let within = ((scatter(weekday) + scatter(weekend)) / n).max(LOG_VARIANCE_FLOOR);
    let total = log_variance(&both).max(LOG_VARIANCE_FLOOR);
    Some(n * (total / within).ln() - n.ln())
}

/// Whether a type with these runs per season is judged by season.
pub fn is_seasonal(weekday: &LogMoments, weekend: &LogMoments) -> bool {
    seasonal_evidence(weekday, weekend).is_some_and(|evidence| evidence > EVIDENCE_THRESHOLD)
}

/// The maximum-likelihood variance of ln d.
fn log_variance(moments: &LogMoments) -> f64 {
    let n = moments.count() as f64;
    let sample = moments.sample_std_dev().unwrap_or(0.0).powi(2);
    sample * (n - 1.0) / n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::rng::SplitMix64;

    const SATURDAY_NOON: EpochMs = 1_738_411_200_000; // 2025-02-01T12:00:00Z

    fn log_normal(n: usize, median_ms: f64, log_sigma: f64, rng: &mut SplitMix64) -> LogMoments {
        let mut moments = LogMoments::default();
        for _ in 0..n {
            moments.push((median_ms * (log_sigma * rng.normal()).exp()) as u64);
        }
        moments
    }

    #[test]
    fn a_run_belongs_to_the_weekend_of_its_own_zone() {
        assert_eq!(Season::of(SATURDAY_NOON, 0), Season::Weekend);
        assert_eq!(Season::of(SATURDAY_NOON + 36 * 3_600_000, 0), Season::Weekday, "Monday 00:00 UTC");
        // Friday 23:00 UTC is already Saturday in Berlin, and still Friday in New York.
        let friday_late = SATURDAY_NOON - 13 * 3_600_000;
        assert_eq!(Season::of(friday_late, 0), Season::Weekday);
        assert_eq!(Season::of(friday_late, 60), Season::Weekend);
        assert_eq!(Season::of(friday_late, -300), Season::Weekday);
    }

    #[test]
    fn a_zone_with_daylight_saving_puts_friday_night_in_its_own_weekend() {
        let berlin = SeasonRule::in_zone(Zone::named("Europe/Berlin").unwrap());
        let new_york = SeasonRule::in_zone(Zone::named("America/New_York").unwrap());
        // Friday 2025-07-04 22:30 UTC: Saturday 00:30 in Berlin (summer time, UTC+2), Friday
        // 18:30 in New York.
        let friday_late: EpochMs = 1_751_668_200_000;
        assert_eq!(Season::of(friday_late, 0), Season::Weekday);
        assert_eq!(berlin.season_of(friday_late), Season::Weekend);
        assert_eq!(new_york.season_of(friday_late), Season::Weekday);
        assert_eq!(SeasonRule::default().season_of(SATURDAY_NOON), Season::Weekend);
    }

    #[test]
    fn a_seasons_window_looks_back_far_enough_for_as_many_runs_as_the_plain_window() {
        assert_eq!(Season::Weekend.look_back_days(14), 49);
        assert_eq!(Season::Weekday.look_back_days(14), 20);
    }

    #[test]
    fn weekends_a_fraction_of_weekdays_or_longer_are_a_season_and_the_same_runs_are_not() {
        let mut rng = SplitMix64::new(7);
        let weekday = log_normal(40, 600_000.0, 0.1, &mut rng);
        for factor in [0.1, 0.3, 2.5] {
            let weekend = log_normal(16, 600_000.0 * factor, 0.1, &mut rng);
            assert!(is_seasonal(&weekday, &weekend), "×{factor}");
        }
        let alike = log_normal(16, 600_000.0, 0.1, &mut rng);
        assert!(!is_seasonal(&weekday, &alike), "{:?}", seasonal_evidence(&weekday, &alike));
        let identical = LogMoments::default();
        assert!(!is_seasonal(&weekday, &identical), "no weekend runs: nothing to tell");
    }

    #[test]
    fn one_slow_weekend_run_is_not_a_season() {
        let mut rng = SplitMix64::new(9);
        let weekday = log_normal(57, 3_600_000.0, 0.05, &mut rng);
        let mut weekend = log_normal(55, 3_600_000.0, 0.05, &mut rng);
        weekend.push(3 * 3_600_000);
        assert!(!is_seasonal(&weekday, &weekend), "{:?}", seasonal_evidence(&weekday, &weekend));
    }

    #[test]
    fn a_season_needs_enough_runs_on_both_sides() {
        let mut rng = SplitMix64::new(8);
        let weekday = log_normal(40, 600_000.0, 0.1, &mut rng);
        let few = log_normal(MIN_RUNS_PER_SEASON as usize - 1, 60_000.0, 0.1, &mut rng);
        assert_eq!(seasonal_evidence(&weekday, &few), None);
    }

    #[test]
    fn runs_of_identical_length_in_each_season_do_not_make_a_season_out_of_nothing() {
        let constant = |ms: u64, n: usize| {
            let mut moments = LogMoments::default();
            (0..n).for_each(|_| moments.push(ms));
            moments
        };
        assert!(!is_seasonal(&constant(600_000, 40), &constant(600_000, 16)));
        assert!(is_seasonal(&constant(600_000, 40), &constant(60_000, 16)));
    }
}
