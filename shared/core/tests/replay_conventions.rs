//! The seed method's conventions (docs/DETECTION.md, "The seed method"), each checked through a small hand-made replay.

use std::collections::HashMap;

use overrun_core::evaluation::replay::{ReplayConfig, ReplayError, Replayer, RunInput};
use overrun_core::evaluation::replay::{replay_runs, replay_runs_with};
use overrun_core::limits::window::ExclusionCap;
use overrun_core::time::{MS_PER_DAY, MS_PER_HOUR};
use overrun_core::{
    BaselinePolicy, DetectionConfig, Level, Method, RecentRuns, Run, RunId, RunStatus, ShortRule, TaskType,
};

const MINUTE: i64 = 60_000;

const S: i64 = 1_000;
const DAY: i64 = MS_PER_DAY;
/// A Monday, far from the epoch, so day arithmetic is not trivially zero-based.
const DAY0: i64 = 20_000 * DAY;

fn run(task: &str, id: &str, start: i64, end: Option<i64>, status: RunStatus) -> Run {
    Run::new(TaskType::new(task).unwrap(), RunId::new(id).unwrap(), start, end, status).unwrap()
}

fn ok(task: &str, id: &str, start: i64, duration: i64) -> Run {
    run(task, id, start, Some(start + duration), RunStatus::Succeeded)
}

fn config(k: f64, window_days: u32, min_samples: u64) -> ReplayConfig {
    ReplayConfig {
        policy: BaselinePolicy::new(Method::Seed { k }, window_days, min_samples, 0).unwrap(),
        detection: DetectionConfig::default(),
        exclusion: None,
        short: ShortRule::default(),
        cohorts: false,
        recent: RecentRuns::default(),
        // The seed's conventions: no baseline, no alert.
        fallback_limit_ms: None,
        seasons: None,
    }
}

fn alerts(config: ReplayConfig, runs: &[Run]) -> Vec<(String, i64, Level)> {
    replay_runs(config, runs)
        .unwrap()
        .alerts
        .into_iter()
        .map(|a| (a.run_id.to_string(), a.at, a.level))
        .collect()
}

/// The runs warned about, in alert order.
fn warned_run_ids(config: ReplayConfig, runs: &[Run]) -> Vec<String> {
    replay_runs(config, runs)
        .unwrap()
        .alerts
        .into_iter()
        .filter(|a| a.level == Level::Warning)
        .map(|a| a.run_id.to_string())
        .collect()
}

/// Five daily runs of 600..840 s give, at night 5, mean 720 s and σ = √9000 ≈ 94.87 s, so the
/// limit is ≈ 909.7 s and the critical limit ≈ 1819.5 s.
fn five_day_history() -> Vec<Run> {
    (0..5).map(|d| ok("etl", &format!("d{d}"), DAY0 + d * DAY + MS_PER_HOUR, (600 + 60 * d) * S)).collect()
}

#[test]
fn golden_replay_of_a_small_trace_alerts_at_the_expected_ticks() {
    let mut runs = five_day_history();
    let day5 = DAY0 + 5 * DAY;
    // Slow: runs two hours.
    runs.push(ok("etl", "slow", day5 + 3_600 * S, 7_200 * S));
    // Normal: ends before any tick sees it past the limit.
    runs.push(ok("etl", "normal", day5 + 7_200 * S, 900 * S));
    // Failed after a long time on day 3: no baseline yet then (3 runs < 5), and excluded later.
    runs.push(run(
        "etl",
        "failed",
        DAY0 + 3 * DAY + 2 * MS_PER_HOUR,
        Some(DAY0 + 3 * DAY + 2 * MS_PER_HOUR + 10_000 * S),
        RunStatus::Failed,
    ));

    let outcome = replay_runs(config(2.0, 14, 5), &runs).unwrap();
    let got: Vec<_> = outcome.alerts.iter().map(|a| (a.run_id.as_str(), a.at, a.level)).collect();
    assert_eq!(
        got,
        vec![("slow", day5 + 4_800 * S, Level::Warning), ("slow", day5 + 6_000 * S, Level::Critical),]
    );
    let warning = &outcome.alerts[0];
    assert_eq!(warning.baseline().unwrap().n, 5);
    assert_eq!(warning.baseline().unwrap().expected_ms, 720_000.0);
    assert!((warning.baseline().unwrap().sigma_ms - 9_000f64.sqrt() * 1_000.0).abs() < 1e-6);
    assert_eq!(warning.elapsed_ms, 1_200 * S);
    assert_eq!(warning.baseline().unwrap().computed_at, day5);
    assert_eq!(outcome.summary.warnings, 1);
    assert_eq!(outcome.summary.criticals, 1);
    assert_eq!(outcome.summary.failed, 1);
    assert_eq!(outcome.summary.noisiest[0].task_type.as_ref().unwrap().as_str(), "etl");
}

#[test]
fn elapsed_exactly_at_the_limit_does_not_alert_but_one_tick_later_does() {
    // 0, 1200, 2400 s: mean 1200 s, σ 1200 s exactly, limit 3600 s exactly.
    let mut runs: Vec<Run> = [0, 1_200, 2_400]
        .iter()
        .enumerate()
        .map(|(i, &d)| ok("tie", &format!("h{i}"), DAY0 + i as i64 * 3_600 * S, d * S))
        .collect();
    let start = DAY0 + DAY;
    runs.push(ok("tie", "probe", start, 5_000 * S));
    let got = alerts(config(2.0, 14, 3), &runs);
    assert_eq!(got, vec![("probe".to_owned(), start + 4_200 * S, Level::Warning)]);
}

#[test]
fn no_baseline_and_no_alert_below_min_samples() {
    let mut runs = five_day_history();
    runs.pop(); // four runs only
    runs.push(ok("etl", "slow", DAY0 + 5 * DAY, 20_000 * S));
    assert!(alerts(config(2.0, 14, 5), &runs).is_empty());
    assert!(!alerts(config(2.0, 14, 4), &runs).is_empty());
}

#[test]
fn failed_and_aborted_runs_are_excluded_from_baselines_but_still_checked() {
    let mut runs = five_day_history();
    // Long failed and aborted runs inside the window would raise mean and σ if counted.
    for (i, status) in [RunStatus::Failed, RunStatus::Aborted].into_iter().enumerate() {
        let start = DAY0 + 4 * DAY + (i as i64 + 3) * MS_PER_HOUR;
        runs.push(run("etl", &format!("bad{i}"), start, Some(start + 600 * S), status));
    }
    let day5 = DAY0 + 5 * DAY;
    runs.push(run("etl", "slow-failure", day5, Some(day5 + 7_200 * S), RunStatus::Failed));
    let outcome = replay_runs(config(2.0, 14, 5), &runs).unwrap();
    let warning = &outcome.alerts[0];
    assert_eq!(warning.run_id.as_str(), "slow-failure");
    assert_eq!(warning.baseline().unwrap().n, 5);
    assert_eq!(warning.baseline().unwrap().expected_ms, 720_000.0);
}

#[test]
fn window_includes_a_run_ending_just_before_the_night_and_excludes_one_ending_at_it() {
    let night = DAY0 + 20 * DAY;
    let mut runs: Vec<Run> =
        (0..4).map(|i| ok("w", &format!("in{i}"), night - DAY + i * MS_PER_HOUR, 60 * S)).collect();
    // Ends 1 ms before the night: in the window (5th sample).
    runs.push(ok("w", "edge-in", night - 61 * S, 61 * S - 1));
    // Ends exactly at the night: not in the window.
    runs.push(ok("w", "edge-out", night - 60 * S, 60 * S));
    // Ended 14 days + 1 ms before the night: too old.
    runs.push(ok("w", "too-old", night - 14 * DAY - 60 * S - 1, 60 * S));
    runs.sort_by_key(Run::start);
    runs.push(ok("w", "probe", night, 3_600 * S));
    let outcome = replay_runs(config(2.0, 14, 5), &runs).unwrap();
    let probe = outcome.alerts.iter().find(|a| a.run_id.as_str() == "probe").unwrap();
    assert_eq!(probe.baseline().unwrap().n, 5);
    assert_eq!(probe.baseline().unwrap().computed_at, night);
}

#[test]
fn window_reaches_back_exactly_window_days() {
    let night = DAY0 + 20 * DAY;
    let mut runs: Vec<Run> =
        (0..4).map(|i| ok("w", &format!("in{i}"), night - DAY + i * MS_PER_HOUR, 60 * S)).collect();
    // Ends exactly 14 days before the night: the window's first instant, so counted.
    runs.insert(0, ok("w", "oldest", night - 14 * DAY - 60 * S, 60 * S));
    runs.push(ok("w", "probe", night, 3_600 * S));
    let outcome = replay_runs(config(2.0, 14, 5), &runs).unwrap();
    assert_eq!(outcome.alerts[0].baseline().unwrap().n, 5);
}

#[test]
fn alerts_fall_on_ticks_aligned_to_the_epoch_even_for_unaligned_starts() {
    let mut runs = five_day_history();
    let start = DAY0 + 5 * DAY + 3_600 * S + 7 * S; // 7 s after a tick
    runs.push(ok("etl", "late-start", start, 7_200 * S));
    let outcome = replay_runs(config(2.0, 14, 5), &runs).unwrap();
    let warning = &outcome.alerts[0];
    // Elapsed must pass 909.7 s: the tick at +593 s is too early, the one at +1193 s alerts.
    assert_eq!(warning.at, DAY0 + 5 * DAY + 4_800 * S);
    assert_eq!(warning.at % (600 * S), 0);
    assert_eq!(warning.elapsed_ms, 1_193 * S);
}

#[test]
fn a_run_is_not_checked_at_its_end_tick() {
    let mut runs = five_day_history();
    let start = DAY0 + 5 * DAY + 3_600 * S;
    // Ends exactly at the tick where it would first exceed the limit: start ≤ t < end fails.
    runs.push(ok("etl", "just-done", start, 1_200 * S));
    assert!(alerts(config(2.0, 14, 5), &runs).is_empty());
}

#[test]
fn each_run_alerts_once_per_level_even_across_many_nights() {
    let mut runs = five_day_history();
    let start = DAY0 + 5 * DAY + 3_600 * S;
    runs.push(ok("etl", "stuck", start, 10 * DAY));
    let got = alerts(config(2.0, 14, 5), &runs);
    assert_eq!(got.iter().filter(|(_, _, level)| *level == Level::Warning).count(), 1);
    assert_eq!(got.iter().filter(|(_, _, level)| *level == Level::Critical).count(), 1);
}

#[test]
fn a_new_night_with_a_lower_limit_alerts_a_run_that_was_fine_before_it() {
    // History of long runs, then short ones: the limit drops at the night they enter the window.
    let mut runs: Vec<Run> =
        (0..5).map(|d| ok("shift", &format!("a{d}"), DAY0 + d * DAY, 7_200 * S)).collect();
    runs.extend((0..5).map(|d| ok("shift", &format!("b{d}"), DAY0 + (5 + d) * DAY, 600 * S)));
    // One-day window, k = 0, min_samples 1: each night's limit is the previous day's duration.
    let start = DAY0 + 5 * DAY + DAY - 1_800 * S; // 30 min before night 6
    runs.push(ok("shift", "probe", start, 7_200 * S));
    runs.sort_by_key(Run::start);
    let outcome = replay_runs(config(0.0, 1, 1), &runs).unwrap();
    let probe: Vec<_> = outcome.alerts.iter().filter(|a| a.run_id.as_str() == "probe").collect();
    // Night 5's window holds only a4 (7200 s): no alert before midnight. Night 6's holds only b0
    // (600 s): the first tick of night 6 alerts, at 1800 s elapsed.
    assert_eq!(probe[0].at, DAY0 + 6 * DAY);
    assert_eq!(probe[0].baseline().unwrap().computed_at, DAY0 + 6 * DAY);
}

#[test]
fn runs_still_running_are_checked_up_to_the_latest_time_in_the_history() {
    let mut runs = five_day_history();
    let start = DAY0 + 5 * DAY + 3_600 * S;
    runs.push(run("etl", "open", start, None, RunStatus::Running));
    // The history ends 1000 s after the start: no tick past the 909.7 s limit exists before it.
    runs.push(ok("other", "last", start, 1_000 * S));
    assert!(alerts(config(2.0, 14, 5), &runs).is_empty());
    runs.push(ok("other", "later", start, 1_200 * S));
    let got = alerts(config(2.0, 14, 5), &runs);
    assert_eq!(got, vec![("open".to_owned(), start + 1_200 * S, Level::Warning)]);
}

#[test]
fn streaming_rejects_a_run_that_starts_before_the_previous_one_and_keeps_going() {
    let mut replayer = Replayer::new(config(2.0, 14, 5));
    let input = |id, start| RunInput {
        task_type: "t",
        run_id: id,
        start,
        end: Some(start + 1),
        status: RunStatus::Succeeded,
    };
    replayer.push(input("a", 1_000)).unwrap();
    assert_eq!(replayer.push(input("b", 999)), Err(ReplayError::OutOfOrder { start: 999, previous: 1_000 }));
    replayer.push(input("c", 1_000)).unwrap();
    assert_eq!(replayer.finish().summary.runs, 2);
}

#[test]
fn critical_factor_moves_the_critical_alert() {
    let mut runs = five_day_history();
    let day5 = DAY0 + 5 * DAY;
    runs.push(ok("etl", "slow", day5 + 3_600 * S, 7_200 * S));
    let mut cfg = config(2.0, 14, 5);
    cfg.detection = DetectionConfig::new(3.0).unwrap();
    let got = alerts(cfg, &runs);
    // 3 × 909.7 s = 2729.2 s: first tick past it is +3000 s.
    assert_eq!(got[1], ("slow".to_owned(), day5 + 6_600 * S, Level::Critical));
}

#[test]
fn excluding_alerted_runs_keeps_one_slow_run_out_of_the_next_nights_limit() {
    let mut runs = five_day_history();
    let day5 = DAY0 + 5 * DAY;
    // A very slow run on day 5, then a moderately slow one on day 6.
    runs.push(ok("etl", "very-slow", day5 + 3_600 * S, 20_000 * S));
    let day6 = DAY0 + 6 * DAY + MS_PER_HOUR;
    runs.push(ok("etl", "moderate", day6 + 3_600 * S, 1_500 * S));
    let warned = |exclude: bool| {
        warned_run_ids(
            ReplayConfig {
                exclusion: exclude.then_some(ExclusionCap::EVERY_WARNED_RUN),
                ..config(2.0, 14, 5)
            },
            &runs,
        )
    };
    // Counted, the 20 000 s run inflates σ so much that 1 500 s looks normal on day 7's night…
    assert_eq!(warned(false), vec!["very-slow".to_owned()]);
    // …left out, the limit stays near 910 s and the moderate slowdown is caught.
    assert_eq!(warned(true), vec!["very-slow".to_owned(), "moderate".to_owned()]);
}

#[test]
fn a_run_finishing_in_a_tenth_of_its_expected_time_gets_one_notice_at_its_end() {
    let mut runs: Vec<Run> =
        (0..6).map(|d| ok("export", &format!("r{d}"), d * MS_PER_DAY + MS_PER_HOUR, 40 * MINUTE)).collect();
    // Day 8: 4 minutes instead of 40; day 9: 35 minutes, normal.
    runs.push(ok("export", "shrunk", 8 * MS_PER_DAY + MS_PER_HOUR, 4 * MINUTE));
    runs.push(ok("export", "normal", 9 * MS_PER_DAY + MS_PER_HOUR, 35 * MINUTE));
    let outcome = replay_runs(config(2.0, 14, 5), &runs).unwrap();
    let shorts: Vec<(&str, i64)> = outcome.short_finishes.iter().map(|s| (s.run_id.as_str(), s.at)).collect();
    assert_eq!(shorts, vec![("shrunk", 8 * MS_PER_DAY + MS_PER_HOUR + 4 * MINUTE)]);
    assert_eq!(outcome.short_finishes[0].floor_ms, 10.0 * MINUTE as f64, "a quarter of 40 minutes");
    assert_eq!(outcome.summary.short_finishes, 1);
    assert!(outcome.alerts.is_empty());
}

#[test]
fn a_short_run_is_judged_by_the_baseline_in_force_when_it_ends_not_when_it_starts() {
    // Five 40-minute runs end on day 0; before night 1 there is no baseline at all.
    let mut runs: Vec<Run> =
        (0..5).map(|i| ok("export", &format!("r{i}"), i * MS_PER_HOUR, 40 * MINUTE)).collect();
    // Starts on day 0 (no baseline yet) and ends 5 minutes into day 1 (baseline in force).
    runs.push(ok("export", "across", MS_PER_DAY - 3 * MINUTE, 8 * MINUTE));
    let outcome = replay_runs(config(2.0, 14, 5), &runs).unwrap();
    let shorts: Vec<&str> = outcome.short_finishes.iter().map(|s| s.run_id.as_str()).collect();
    assert_eq!(shorts, vec!["across"]);
}

#[test]
fn a_cohort_running_twice_as_slow_stretches_its_members_limits_from_the_check_its_third_sibling_finishes_at()
{
    // "etl" and "load" each have five daily runs: etl expects 720 s (limit ≈ 910 s at k = 2),
    // load expects 720 s too.
    let mut runs = five_day_history();
    runs.extend(
        (0..5).map(|d| ok("load", &format!("l{d}"), DAY0 + d * DAY + MS_PER_HOUR, (600 + 60 * d) * S)),
    );
    // On day 5 one build starts four jobs at the same instant (a tick): three loads take twice
    // their expected time and finish exactly at the second tick; etl runs 1,500 s.
    let build = DAY0 + 5 * DAY + 3_600 * S;
    for id in ["b1", "b2", "b3"] {
        runs.push(ok("load", id, build, 1_200 * S));
    }
    runs.push(ok("etl", "slow-with-its-build", build, 1_500 * S));

    // The loads finish at the second tick, so no check sees them past their limit; etl is.
    let alone = alerts(config(2.0, 14, 5), &runs);
    assert_eq!(alone, vec![("slow-with-its-build".to_owned(), build + 1_200 * S, Level::Warning)]);

    // With cohorts, at the tick the loads finish the build's pace is 1,200 / 720 ≈ 1.67, so etl's
    // limit is ≈ 1,516 s: 1,200 s elapsed is within it, and etl finishes at 1,500 s.
    let with_cohorts = ReplayConfig { cohorts: true, ..config(2.0, 14, 5) };
    assert_eq!(alerts(with_cohorts, &runs), vec![], "etl is judged at its build's pace");

    // Two finished siblings are not enough to judge a build's pace.
    let two_siblings: Vec<Run> = runs.iter().filter(|r| r.run_id().as_str() != "b3").cloned().collect();
    assert_eq!(alerts(with_cohorts, &two_siblings), alone);
}

#[test]
fn a_fixed_limit_replaces_the_methods_limit_only_on_nights_the_type_has_a_baseline() {
    let fixed = |runs: &[Run]| {
        let limits = HashMap::from([(TaskType::new("etl").unwrap(), 700_000.0)]);
        let replayer = Replayer::new(config(2.0, 14, 5)).with_fixed_limits(limits);
        let outcome = replay_runs_with(replayer, runs).unwrap();
        outcome
            .alerts
            .into_iter()
            .map(|a| (a.run_id.to_string(), a.at, a.level, a.limit_ms))
            .collect::<Vec<_>>()
    };
    // Night 5: the method's limit is ≈ 909.7 s. A 900 s run starting 450 s past a tick is seen at
    // 150 s and 750 s: past 700 s, not past 909.7 s.
    let start = DAY0 + 5 * DAY + MS_PER_HOUR + 450 * S;
    let mut runs = five_day_history();
    runs.push(ok("etl", "probe", start, 900 * S));
    assert!(alerts(config(2.0, 14, 5), &runs).is_empty());
    assert_eq!(fixed(&runs), vec![("probe".to_owned(), start + 750 * S, Level::Warning, 700_000.0)]);

    // Night 3 has three runs in its window: no baseline, so no limit of any kind.
    let mut early = five_day_history();
    early.push(ok("etl", "early", DAY0 + 3 * DAY + 2 * MS_PER_HOUR + 450 * S, 5_000 * S));
    assert!(fixed(&early).iter().all(|(id, ..)| id != "early"), "{:?}", fixed(&early));
}

#[test]
fn a_runs_recent_runs_are_those_that_ended_before_it_started_and_they_can_lift_its_limit() {
    let recent_config = |count: usize| ReplayConfig {
        recent: RecentRuns { count, weight: 0.6 },
        ..ReplayConfig::for_policy(BaselinePolicy::new(Method::Tailored { k: 5.0 }, 14, 5, 0).unwrap())
    };
    // Ten days of steady hour-long runs, then on day 10 a 100-minute run ending at `streak_end`.
    let mut runs: Vec<Run> = (0..10)
        .map(|d| ok("job", &format!("d{d}"), DAY0 + d * DAY + MS_PER_HOUR, (60 + d % 2) * MINUTE))
        .collect();
    let streak_end = DAY0 + 10 * DAY + MS_PER_HOUR + 100 * MINUTE;
    runs.push(ok("job", "long", DAY0 + 10 * DAY + MS_PER_HOUR, 100 * MINUTE));
    // Two 85-minute runs: one starting the very instant the long one ends, one a second later.
    runs.push(ok("job", "at-its-end", streak_end, 85 * MINUTE));
    runs.push(ok("job", "after-it", streak_end + S, 85 * MINUTE));

    let warned = |config: ReplayConfig| warned_run_ids(config, &runs);
    assert_eq!(warned(recent_config(0)), ["long", "at-its-end", "after-it"], "the window alone");
    // With the latest run weighing 60 %, a run that starts after the long one ended is judged
    // by it; one starting as it ends is not (it had not ended yet).
    assert_eq!(warned(recent_config(1)), ["long", "at-its-end"]);
}
