//! Judging by season in the replay (`ReplayConfig::seasons`): a type whose weekend runs take a
//! fraction of its weekday time is judged against runs of its own season once its history shows
//! it; a type without a season is judged exactly as without seasons.

use overrun_core::evaluation::replay::{ReplayConfig, replay_runs};
use overrun_core::evaluation::rng::SplitMix64;
use overrun_core::limits::season::{Season, SeasonRule};
use overrun_core::time::{MS_PER_DAY, MS_PER_HOUR};
use overrun_core::{Run, RunId, RunStatus, TaskType};

const DAY: i64 = MS_PER_DAY;
/// 2024-10-07, a Monday.
const MONDAY: i64 = 20_003 * DAY;
const DAYS: i64 = 120;

/// Four runs a day at 02:00, 08:00, 14:00 and 20:00 UTC for 120 days: weekday runs about an
/// hour, weekend runs `weekend_factor` of that, each ±5 %; `slow` runs (by day and slot) last
/// `factor` times their normal.
fn history(weekend_factor: f64, slow: &[(i64, i64, f64)]) -> Vec<Run> {
    let mut rng = SplitMix64::new(5);
    let mut runs = Vec::new();
    for day in 0..DAYS {
        for slot in 0..4 {
            let start = MONDAY + day * DAY + (2 + 6 * slot) * MS_PER_HOUR;
            let mut duration = 3_600_000.0 * (0.05 * rng.normal()).exp();
            if Season::of(start, 0) == Season::Weekend {
                duration *= weekend_factor;
            }
            if let Some(&(_, _, factor)) = slow.iter().find(|&&(d, s, _)| d == day && s == slot) {
                duration *= factor;
            }
            let id = RunId::new(&format!("r{day}-{slot}")).unwrap();
            let end = start + duration as i64;
            runs.push(
                Run::new(TaskType::new("etl").unwrap(), id, start, Some(end), RunStatus::Succeeded).unwrap(),
            );
        }
    }
    runs
}

fn by_season() -> ReplayConfig {
    ReplayConfig { seasons: Some(SeasonRule::default()), ..ReplayConfig::default() }
}

/// Day 96 is a Saturday (96 = 13 weeks and 5 days after a Monday).
const SATURDAY: i64 = 96;
/// Day 100 is a Wednesday.
const WEDNESDAY: i64 = 100;

#[test]
fn a_weekend_run_slowed_three_times_is_caught_by_season_and_hidden_under_the_weekday_limit_without() {
    let runs = history(0.2, &[(SATURDAY, 1, 3.0)]);
    let alerted = |config: ReplayConfig| {
        let outcome = replay_runs(config, &runs).unwrap();
        outcome.alerts.iter().any(|alert| alert.run_id.as_str() == format!("r{SATURDAY}-1"))
    };
    assert!(alerted(by_season()), "judged against weekend runs, a ×3 weekend run is late");
    let outcome = replay_runs(by_season(), &runs).unwrap();
    let alert =
        outcome.alerts.iter().find(|alert| alert.run_id.as_str() == format!("r{SATURDAY}-1")).unwrap();
    assert_eq!(alert.season, Some(Season::Weekend), "the alert says whose limits it crossed");
    let message = overrun_core::notify::message::alert_notification(alert);
    assert!(message.default.contains(r#""season":"weekend""#), "{}", message.default);
    assert!(message.email.contains("limits are those of its weekend runs"), "{}", message.email);
    assert!(!alerted(ReplayConfig::default()), "against the mixed window it looks like a short weekday run");
}

#[test]
fn a_weekday_slowdown_is_caught_by_season_too() {
    let runs = history(0.2, &[(WEDNESDAY, 2, 1.6)]);
    let outcome = replay_runs(by_season(), &runs).unwrap();
    assert!(outcome.alerts.iter().any(|alert| alert.run_id.as_str() == format!("r{WEDNESDAY}-2")));
    assert_eq!(outcome.summary.seasonal_types, 1);
}

#[test]
fn once_its_season_is_established_no_normal_weekend_run_is_too_short() {
    let runs = history(0.2, &[]);
    let established = MONDAY + 30 * DAY;
    let late_notices = |config: ReplayConfig| {
        let outcome = replay_runs(config, &runs).unwrap();
        outcome.short_finishes.iter().filter(|short| short.run_start >= established).count()
    };
    // The first weekend's runs are far below a window of weekday runs, whatever the setting:
    // the season is not known yet.
    for config in [ReplayConfig::default(), by_season()] {
        let outcome = replay_runs(config, &runs).unwrap();
        assert!(outcome.short_finishes.iter().any(|short| short.run_start < MONDAY + 7 * DAY));
    }
    assert_eq!(late_notices(by_season()), 0);
}

#[test]
fn a_type_without_a_season_is_judged_as_without_seasons() {
    let runs = history(1.0, &[(SATURDAY, 1, 3.0), (WEDNESDAY, 2, 1.6)]);
    let plain = replay_runs(ReplayConfig::default(), &runs).unwrap();
    let seasonal = replay_runs(by_season(), &runs).unwrap();
    assert_eq!(seasonal.summary.seasonal_types, 0);
    assert!(!plain.alerts.is_empty());
    assert_eq!(plain.alerts, seasonal.alerts);
    assert_eq!(plain.short_finishes, seasonal.short_finishes);
}

#[test]
fn missed_starts_are_found_alike_with_seasons_for_every_type_however_many_types_come_before() {
    // Three types four times a day, the last of them stopping on day 90: its missed starts are
    // found whether or not each type also keeps season states.
    let mut runs = Vec::new();
    for (name, stops) in [("a", DAYS), ("b", DAYS), ("stops", 90)] {
        for run in history(0.2, &[]).into_iter().filter(|run| run.start() < MONDAY + stops * DAY) {
            let id = run.run_id().clone();
            runs.push(
                Run::new(TaskType::new(name).unwrap(), id, run.start(), run.end(), run.status()).unwrap(),
            );
        }
    }
    let missed = |config: ReplayConfig| {
        let outcome = replay_runs(config, &runs).unwrap();
        let events: Vec<(String, i64)> =
            outcome.missed.iter().map(|event| (event.task_type.to_string(), event.at)).collect();
        events
    };
    let plain = missed(ReplayConfig::default());
    assert!(plain.iter().any(|(task, _)| task == "stops"), "{plain:?}");
    assert_eq!(missed(by_season()), plain);
}

/// Four runs a day from `first` for 120 days, 12 hours each on weekdays and 2.4 on weekends
/// (±5 %): long runs that a night can fall in the middle of.
fn long_runs_from(first: i64) -> Vec<Run> {
    let mut rng = SplitMix64::new(6);
    let mut runs = Vec::new();
    for day in 0..DAYS {
        for slot in 0..4 {
            let start = first + day * DAY + (2 + 6 * slot) * MS_PER_HOUR;
            let factor = if Season::of(start, 0) == Season::Weekend { 0.2 } else { 1.0 };
            let duration = 12.0 * 3_600_000.0 * factor * (0.05 * rng.normal()).exp();
            let id = RunId::new(&format!("r{day}-{slot}")).unwrap();
            let run = Run::new(
                TaskType::new("etl").unwrap(),
                id,
                start,
                Some(start + duration as i64),
                RunStatus::Succeeded,
            );
            runs.push(run.unwrap());
        }
    }
    runs
}

#[test]
fn a_run_open_when_its_type_becomes_seasonal_weighs_its_seasons_recent_runs_from_then_on() {
    use overrun_core::evaluation::replay::{Replayer, replay_runs_with};
    use overrun_core::time::Day;
    // The history begins on the weekday that makes the type's first night judged by season a
    // Sunday: a run hanging from Saturday 01:00 started before it, when its latest runs were
    // Friday's long ones, and is judged from Sunday on by its weekend runs.
    let found = (0..7).find_map(|shift| {
        let runs = long_runs_from(MONDAY + shift * DAY);
        let replayer = Replayer::new(by_season()).recording_baselines();
        let outcome = replay_runs_with(replayer, &runs).unwrap();
        let first = outcome.baselines.iter().filter(|r| r.season.is_some()).map(|r| r.night).min()?;
        let saturday = first - 1;
        ((saturday.number() + 3).rem_euclid(7) == 5).then_some((runs, saturday))
    });
    let (mut runs, saturday): (Vec<Run>, Day) =
        found.expect("some start makes the first seasonal night a Sunday");
    let start = saturday.number() * DAY + MS_PER_HOUR;
    let hung =
        Run::new(TaskType::new("etl").unwrap(), RunId::new("hung").unwrap(), start, None, RunStatus::Running);
    runs.push(hung.unwrap());
    let outcome = replay_runs(by_season(), &runs).unwrap();
    let hung: Vec<_> = outcome.alerts.iter().filter(|a| a.run_id.as_str() == "hung").collect();
    let by_season: Vec<_> = hung.iter().filter(|a| a.season == Some(Season::Weekend)).collect();
    assert!(!by_season.is_empty(), "judged by its weekend runs once its type is seasonal: {hung:#?}");
    for alert in by_season {
        assert!(
            !alert.recent_ms.is_empty() && alert.recent_ms.iter().all(|&ms| ms < 4 * 3_600_000),
            "its own season's recent runs (weekend, 2.4 hours), not Friday's: {:?}",
            alert.recent_ms
        );
    }
}
