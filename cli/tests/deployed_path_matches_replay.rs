//! One truth: the bundled real trace (with slowdowns and hung runs planted) driven through the
//! deployed path — ingest of every start and finish, the nightly roll-up at every night, the
//! checker at every tick, on the in-memory stores — and through the replay give the same limits at
//! every night and the same alerts and too-short notices at every tick.
//!
//! At one instant the deployed path runs the nightly job first, then the events of that instant
//! (starts, then finishes, in the history's order), then the check: the order the replay's
//! conventions assume (a run ending at a tick is not checked at it; a night's limits hold from its
//! start).

use overrun_app::nightly::SeasonNights;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use overrun_app::check::{CheckPorts, Tick};
use overrun_app::ingest::{NoticeSettings, record_and_notify};
use overrun_app::memory::MemoryNotifier;
use overrun_app::memory_store::MemoryStore;
use overrun_cli::commands::generate::{SyntheticSpec, write_csv};
use overrun_cli::history::{ReadOptions, read_all_runs};
use overrun_cli::input::Source;
use overrun_core::detect::check::CheckSettings;
use overrun_core::detect::overrides::{LimitRules, Sensitivity};
use overrun_core::evaluation::replay::missed_starts::MissedEventKind;
use overrun_core::evaluation::replay::replay_runs_with;
use overrun_core::evaluation::replay::{ReplayConfig, Replayer};
use overrun_core::limits::season::{Season, SeasonRule};
use overrun_core::limits::window::ExclusionCap;
use overrun_core::notify::missed::incident_key;
use overrun_core::ports::{RunFinished, RunStarted, TaskEvent};
use overrun_core::time::{Day, MS_PER_DAY};
use overrun_core::{Baseline, BaselinePolicy, CohortId, EpochMs, Method, Run, RunStatus};
use serde_json::Value;

/// The Julia trace, every 23rd succeeded run three times as long, every 211th run never
/// finishing (still running when the history was taken), and one succeeded run lasting
/// [`OUTLIER_TIMES`] its duration: a lone outlier in the windows that follow its end.
fn trace() -> Vec<Run> {
    let runs = trace_with_slowdowns_and_hangs();
    let planted = planted_outlier(&runs);
    runs.into_iter()
        .enumerate()
        .map(|(i, run)| match run.end() {
            Some(end) if i == planted => {
                let end = run.start() + OUTLIER_TIMES * (end - run.start());
                Run::new(run.task_type().clone(), run.run_id().clone(), run.start(), Some(end), run.status())
                    .unwrap()
            }
            _ => run,
        })
        .collect()
}

/// How many times longer the planted outlier runs.
const OUTLIER_TIMES: i64 = 400;

/// The succeeded run followed by the most succeeded runs of its type ending within a window
/// (14 days) of its end: the windows holding it are full enough for the outlier rule.
fn planted_outlier(runs: &[Run]) -> usize {
    let mut ends: BTreeMap<&str, Vec<EpochMs>> = BTreeMap::new();
    for run in runs.iter().filter(|r| r.status() == RunStatus::Succeeded) {
        ends.entry(run.task_type().as_str()).or_default().extend(run.end());
    }
    ends.values_mut().for_each(|ends| ends.sort_unstable());
    let followers = |run: &Run| {
        let (Some(end), Some(ends)) = (run.end(), ends.get(run.task_type().as_str())) else { return 0 };
        ends.partition_point(|&e| e < end + 14 * MS_PER_DAY) - ends.partition_point(|&e| e < end)
    };
    let candidates = runs.iter().enumerate().filter(|(_, r)| r.status() == RunStatus::Succeeded);
    let most = candidates.clone().map(|(_, r)| followers(r)).max().unwrap();
    candidates.filter(|(_, r)| followers(r) == most).map(|(i, _)| i).next().unwrap()
}

fn trace_with_slowdowns_and_hangs() -> Vec<Run> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/data/julia_buildkite_jobs.csv.gz");
    let read = ReadOptions { skip_bad_rows: false, show_progress: false };
    let mut runs = read_all_runs(&Source::File(path), &read).expect("the bundled trace reads");
    runs.sort_by_key(Run::start);
    // Both paths key runs by task type and run id.
    let ids: BTreeSet<(&str, &str)> =
        runs.iter().map(|r| (r.task_type().as_str(), r.run_id().as_str())).collect();
    assert_eq!(ids.len(), runs.len(), "the bundled trace's runs are unique");
    runs.into_iter()
        .enumerate()
        .map(|(i, run)| {
            let (end, status) = match (run.end(), run.status()) {
                _ if i % 211 == 100 => (None, RunStatus::Running),
                (Some(end), RunStatus::Succeeded) if i % 23 == 5 => {
                    (Some(run.start() + 3 * (end - run.start())), RunStatus::Succeeded)
                }
                (end, status) => (end, status),
            };
            Run::new(run.task_type().clone(), run.run_id().clone(), run.start(), end, status).unwrap()
        })
        .collect()
}

/// A baseline's n, expected, σ and upper, and the duration of the outlier it kept out.
type BaselineParts = (u64, f64, f64, f64, Option<u64>);
/// The baselines stored after each night, by task type.
type StoredNights = BTreeMap<Day, BTreeMap<String, BaselineParts>>;

/// What either path said, in a form both give.
#[derive(Debug, Default, PartialEq)]
struct Said {
    /// (night, task type) → (n, expected, σ, upper, outlier), for every baseline the replay
    /// computed.
    baselines: BTreeMap<(Day, String), Option<BaselineParts>>,
    /// (at, task type, run id, level, limit s, upper s, expected s, n).
    alerts: Vec<(EpochMs, String, String, String, Numbers)>,
    /// (end, task type, run id).
    notices: Vec<(EpochMs, String, String)>,
    /// Missed starts and their "resolved": (at, task type, alert id).
    missed: BTreeSet<(EpochMs, String, String)>,
}

/// Floats compared to within rounding of their JSON text.
#[derive(Debug, Clone)]
struct Numbers(Vec<f64>);

impl PartialEq for Numbers {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self.0.iter().zip(&other.0).all(|(a, b)| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0))
    }
}

/// A type's name, and the season whose baseline it is, if one.
fn keyed(task_type: &str, season: Option<Season>) -> String {
    match season {
        Some(season) => format!("{task_type} ({})", season.as_str()),
        None => task_type.to_owned(),
    }
}

fn parts(b: Baseline) -> BaselineParts {
    (b.n, b.expected_ms, b.sigma_ms, b.upper_ms, b.outlier.map(|o| o.duration_ms))
}

fn replayed(config: ReplayConfig, runs: &[Run]) -> Said {
    let outcome = replay_runs_with(Replayer::new(config).recording_baselines(), runs).unwrap();
    Said {
        baselines: outcome
            .baselines
            .iter()
            .map(|record| {
                let key = (record.night, keyed(record.task_type.as_str(), record.season));
                (key, record.baseline.map(parts))
            })
            .collect(),
        alerts: outcome
            .alerts
            .iter()
            .map(|a| {
                let numbers = Numbers(vec![
                    a.limit_ms / 1e3,
                    a.thresholds.warning_ms / 1e3,
                    a.thresholds.critical_ms / 1e3,
                    // A fallback limit has no baseline: -1 on both sides.
                    a.baseline().map_or(-1.0, |b| b.upper_ms / 1e3),
                    a.baseline().map_or(-1.0, |b| b.expected_ms / 1e3),
                ]);
                let level = format!("{}{}", a.level.as_str(), a.season.map_or("", |s| s.as_str()));
                (a.at, a.task_type.to_string(), a.run_id.to_string(), level, numbers)
            })
            .collect(),
        notices: outcome
            .short_finishes
            .iter()
            .map(|s| (s.at, s.task_type.to_string(), s.run_id.to_string()))
            .collect(),
        missed: outcome
            .missed
            .iter()
            .map(|event| {
                let (first_due, what) = match &event.kind {
                    MissedEventKind::Missed { level, standing, .. } => (standing.first_due, level.as_str()),
                    MissedEventKind::Resumed(resumed) => (resumed.first_due, "resolved"),
                };
                let alert_id = format!("{}/{what}", incident_key(&event.task_type, first_due));
                (event.at, event.task_type.to_string(), alert_id)
            })
            .collect(),
    }
}

/// Everything that happens at one instant, in the order the deployed path takes it.
#[derive(Default)]
struct Instant {
    night: bool,
    starts: Vec<usize>,
    finishes: Vec<usize>,
    tick: bool,
}

fn timeline(config: &ReplayConfig, runs: &[Run]) -> BTreeMap<EpochMs, Instant> {
    let policy = config.policy;
    let mut instants: BTreeMap<EpochMs, Instant> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        instants.entry(run.start()).or_default().starts.push(i);
        if let Some(end) = run.end() {
            instants.entry(end).or_default().finishes.push(i);
        }
    }
    let first = runs.iter().map(Run::start).min().unwrap();
    let horizon = runs.iter().map(|r| r.end().unwrap_or(r.start()).max(r.start())).max().unwrap();
    for night in Day::each(policy.night_at_or_before(first) + 1..policy.night_at_or_before(horizon) + 1) {
        instants.entry(policy.night_start(night)).or_default().night = true;
    }
    let mut tick = config.interval().first_tick_at_or_after(first);
    while tick <= horizon {
        instants.entry(tick).or_default().tick = true;
        tick += config.interval().as_ms();
    }
    instants
}

fn cohort_of(config: &ReplayConfig, run: &Run) -> Option<CohortId> {
    config.cohorts.then(|| CohortId::new(&format!("started-{}", run.start())).unwrap())
}

/// The deployed path: the app's use cases on the in-memory stores. `nightly_exclusion` is what
/// the nightly job is deployed with (the replay's own, unless a test plants a difference).
fn deployed(config: ReplayConfig, nightly_exclusion: Option<ExclusionCap>, runs: &[Run]) -> Said {
    let policy = config.policy;
    let recent_count = if config.recent.is_enabled() { config.recent.count } else { 0 };
    let store = MemoryStore::new(policy, recent_count);
    let store = match config.seasons {
        Some(seasons) => store.with_seasons(seasons),
        None => store,
    };
    let notifier = MemoryNotifier::default();
    let settings = CheckSettings {
        rules: LimitRules {
            detection: config.detection,
            fallback_limit_ms: config.fallback_limit_ms,
            sensitivity: Sensitivity::of(&policy.method(), policy.check_interval()),
        },
        per_run: config.recent.for_policy(&policy).ok().flatten(),
        seasons: config.seasons,
    };
    let mut nights = StoredNights::new();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        for (at, instant) in timeline(&config, runs) {
            if instant.night {
                // The in-memory store keeps every run.
                let seasons =
                    config.seasons.as_ref().map(|rule| SeasonNights { rule, runs_kept_days: 100_000 });
                overrun_app::nightly::handle_by_season(
                    at,
                    &policy,
                    nightly_exclusion,
                    seasons,
                    &store,
                    &store,
                )
                .await
                .unwrap();
                let mut stored = BTreeMap::new();
                for (task, night) in store.baselines() {
                    stored.insert(task.to_string(), parts(night.baseline));
                    // A type judged by season that night: each season's baseline, as the
                    // replay records its season's.
                    let seasons =
                        night.seasons.as_ref().filter(|s| config.seasons.is_some() && s.is_seasonal());
                    for (season, limits) in
                        Season::ALL.into_iter().zip(seasons.iter().flat_map(|s| &s.seasons))
                    {
                        if let Some(baseline) = limits.baseline {
                            stored.insert(keyed(task.as_str(), Some(season)), parts(baseline));
                        }
                    }
                }
                nights.insert(policy.night_at_or_before(at), stored);
            }
            let events = instant.starts.iter().map(|&i| started(&config, &runs[i]));
            for event in events.chain(instant.finishes.iter().map(|&i| finished(&config, &runs[i]))) {
                let notice = NoticeSettings {
                    rule: config.short,
                    claim: "ingest",
                    now: at,
                    policy: &policy,
                    retention_ms: 400 * MS_PER_DAY,
                    clock_skew_ms: 300_000,
                    seasons: config.seasons,
                };
                record_and_notify(event, &store, &store, &store, &notifier, &notice).await.unwrap();
            }
            if instant.tick {
                let tick =
                    Tick { now: at, owner: "checker", settings: &settings, policy: &policy, notice_days: 35 };
                let ports = CheckPorts { runs: &store, stats: &store, outbox: &store, notifier: &notifier };
                let report = overrun_app::check::handle(&tick, &ports).await;
                assert!(!report.failed(), "tick {at}: {report:?}");
            }
        }
    });
    told(&notifier, &nights)
}

fn started(config: &ReplayConfig, run: &Run) -> TaskEvent {
    TaskEvent::Started(RunStarted {
        task_type: run.task_type().clone(),
        run_id: run.run_id().clone(),
        numbered: false,
        start: run.start(),
        cohort: cohort_of(config, run),
    })
}

fn finished(config: &ReplayConfig, run: &Run) -> TaskEvent {
    TaskEvent::Finished(RunFinished {
        task_type: run.task_type().clone(),
        run_id: run.run_id().clone(),
        numbered: false,
        start: Some(run.start()),
        end: run.end().unwrap(),
        status: run.status(),
        cohort: cohort_of(config, run),
    })
}

/// What the deployed path published and stored, in the replay's terms.
fn told(notifier: &MemoryNotifier, nights: &StoredNights) -> Said {
    let mut said = Said::default();
    for (night, stored) in nights {
        for (task, baseline) in stored {
            said.baselines.insert((*night, task.clone()), Some(*baseline));
        }
    }
    for message in notifier.published() {
        let json: Value = serde_json::from_str(&message.default).unwrap();
        let text = |key: &str| json[key].as_str().unwrap().to_owned();
        let number = |key: &str| json[key].as_f64().unwrap();
        let or_none = |key: &str| json[key].as_f64().unwrap_or(-1.0);
        let ms = |key: &str| (number(key) * 1e3).round() as EpochMs;
        match json["kind"].as_str() {
            Some("overrun") => said.alerts.push((
                ms("at"),
                text("task_type"),
                text("run_id"),
                format!("{}{}", text("severity"), json["season"].as_str().unwrap_or_default()),
                Numbers(vec![
                    number("crossed_limit_s"),
                    number("warning_limit_s"),
                    number("critical_limit_s"),
                    or_none("baseline_limit_s"),
                    or_none("expected_s"),
                ]),
            )),
            Some("too_short") => said.notices.push((ms("run_end"), text("task_type"), text("run_id"))),
            Some("missed") => {
                said.missed.insert((ms("at"), text("task_type"), text("alert_id")));
            }
            Some("resolved") if json["incident"].is_string() => {
                said.missed.insert((ms("at"), text("task_type"), text("alert_id")));
            }
            _ => {}
        }
    }
    said
}

/// The replay's baselines at every night it computed one, against the store's at that night
/// (a type the replay found too few runs for has none stored).
fn compare(replay: &Said, deployed: &Said) -> Vec<String> {
    let mut differences = Vec::new();
    for (key, replayed) in &replay.baselines {
        let stored = deployed.baselines.get(key).copied().flatten();
        let same = match (replayed, stored) {
            (None, None) => true,
            (Some(a), Some(b)) => {
                (a.0, a.4) == (b.0, b.4) && Numbers(vec![a.1, a.2, a.3]) == Numbers(vec![b.1, b.2, b.3])
            }
            _ => false,
        };
        if !same {
            differences.push(format!("night {} {}: replay {replayed:?}, deployed {stored:?}", key.0, key.1));
        }
    }
    let sorted = |alerts: &[(EpochMs, String, String, String, Numbers)]| {
        let mut alerts = alerts.to_vec();
        alerts.sort_by(|a, b| (a.0, &a.1, &a.2, &a.3).cmp(&(b.0, &b.1, &b.2, &b.3)));
        alerts
    };
    let (replay_alerts, deployed_alerts) = (sorted(&replay.alerts), sorted(&deployed.alerts));
    let keys = |alerts: &[(EpochMs, String, String, String, Numbers)]| -> BTreeSet<(EpochMs, String, String, String)> {
        alerts.iter().map(|a| (a.0, a.1.clone(), a.2.clone(), a.3.clone())).collect()
    };
    for only in keys(&replay_alerts).difference(&keys(&deployed_alerts)) {
        differences.push(format!("alert only in the replay: {only:?}"));
    }
    for only in keys(&deployed_alerts).difference(&keys(&replay_alerts)) {
        differences.push(format!("alert only in the deployed path: {only:?}"));
    }
    for (a, b) in replay_alerts.iter().zip(&deployed_alerts) {
        if (a.0, &a.1, &a.2, &a.3) == (b.0, &b.1, &b.2, &b.3) && a.4 != b.4 {
            differences.push(format!("alert {a:?}: deployed limits {:?}", b.4));
        }
    }
    for only in replay.missed.symmetric_difference(&deployed.missed) {
        let side = if replay.missed.contains(only) { "the replay" } else { "the deployed path" };
        differences.push(format!("missed-start message only in {side}: {only:?}"));
    }
    let notices = |said: &Said| said.notices.iter().cloned().collect::<BTreeSet<_>>();
    for only in notices(replay).symmetric_difference(&notices(deployed)) {
        differences.push(format!("too-short notice in one path only: {only:?}"));
    }
    differences
}

fn assert_same(config: ReplayConfig) -> Said {
    assert_same_on(config, &trace())
}

fn assert_same_on(config: ReplayConfig, runs: &[Run]) -> Said {
    let replay = replayed(config, runs);
    let deployed = deployed(config, config.exclusion, runs);
    let differences = compare(&replay, &deployed);
    assert!(
        differences.is_empty(),
        "{} differences, the first: {:#?}",
        differences.len(),
        &differences[..differences.len().min(12)]
    );
    replay
}

fn config_for(method: Method) -> ReplayConfig {
    ReplayConfig::for_policy(BaselinePolicy::new(method, 14, 5, 0).unwrap())
}

/// A comparison that found nothing to compare would prove nothing.
fn assert_substantial(said: &Said) {
    let computed = said.baselines.values().filter(|b| b.is_some()).count();
    assert!(computed > 1_000, "only {computed} baselines compared");
    assert!(said.alerts.len() > 50, "only {} alerts compared", said.alerts.len());
    assert!(!said.notices.is_empty(), "no too-short notice compared");
    let resolved = said.missed.iter().filter(|m| m.2.ends_with("/resolved")).count();
    assert!(
        said.missed.len() > 20 && resolved > 5,
        "only {} missed-start messages compared",
        said.missed.len()
    );
}

#[test]
fn the_deployed_path_and_the_replay_agree_on_every_limit_alert_and_notice_with_the_default_method() {
    // As deployed by default: types whose history shows a season are judged by season.
    let config = with_seasons(ReplayConfig::default());
    assert!(config.recent.is_enabled(), "the default weighs recent runs");
    let said = assert_same(config);
    assert_substantial(&said);
    let by_fallback = said.alerts.iter().filter(|alert| alert.4.0[3] == -1.0).count();
    assert!(
        by_fallback > 0,
        "a hang of a type with no baseline yet pages by the fallback limit, on both paths"
    );
    assert_planted_outlier_kept_out(&said);
}

/// The planted run was kept out of its type's windows as a lone outlier, on some nights.
fn assert_planted_outlier_kept_out(said: &Said) {
    let runs = trace();
    let planted = &runs[planted_outlier(&trace_with_slowdowns_and_hangs())];
    let duration = planted.end().map(|end| (end - planted.start()) as u64);
    let task = planted.task_type().as_str();
    let nights = said
        .baselines
        .iter()
        .filter(|((_, t), baseline)| t == task && baseline.is_some_and(|b| b.4 == duration))
        .count();
    assert!(nights >= 7, "the planted outlier kept out of {task}'s windows on only {nights} nights");
}

#[test]
fn the_deployed_path_and_the_replay_agree_with_guarded_exclusion_of_warned_runs() {
    let said = assert_same(config_for(Method::Guarded { k: 4.0 }));
    assert_substantial(&said);
}

#[test]
fn the_deployed_path_and_the_replay_agree_with_the_seed_method() {
    assert_substantial(&assert_same(config_for(Method::Seed { k: 2.0 })));
}

#[test]
fn the_deployed_path_and_the_replay_agree_when_cohorts_stretch_limits() {
    let config = ReplayConfig { cohorts: true, ..ReplayConfig::default() };
    assert_substantial(&assert_same(config));
}

#[test]
fn the_comparison_fails_when_the_nightly_job_excludes_warned_runs_differently_from_the_replay() {
    let config = config_for(Method::Guarded { k: 4.0 });
    let runs = trace();
    let replay = replayed(config, &runs);
    let planted = deployed(config, Some(ExclusionCap::EVERY_WARNED_RUN), &runs);
    let differences = compare(&replay, &planted);
    assert!(
        differences.iter().any(|d| d.starts_with("night")),
        "a different exclusion cap must change some night's limits: {differences:?}"
    );
}

#[test]
fn the_comparison_fails_when_the_deployed_runs_weigh_fewer_recent_runs() {
    let config = ReplayConfig::default();
    let runs = trace();
    let replay = replayed(config, &runs);
    let mut fewer = config;
    fewer.recent.count = 2;
    let planted = deployed(fewer, config.exclusion, &runs);
    let differences = compare(&replay, &planted);
    assert!(
        differences.iter().any(|d| d.starts_with("alert")),
        "own limits from two recent runs instead of three must change some alert: {differences:?}"
    );
}

/// A generated history of the seed's kind: six task types over 150 days, each with a weekly
/// season (weekend runs a fraction of their weekday time, or longer, one from mid-history), one
/// run in 30 three times as long, and every 211th run never finishing.
fn seasonal_trace() -> Vec<Run> {
    let spec = SyntheticSpec {
        runs: 6_000,
        task_types: 6,
        days: 150,
        seed: 11,
        begin: 1_735_689_600, // 2025-01-01
        slow_fraction: 1.0 / 30.0,
        fail_fraction: 0.01,
        scheduled_share: 0.0,
        seasonal_share: 1.0,
        max_log_sigma: 0.1,
    };
    let mut csv = Vec::new();
    write_csv(&mut csv, &spec).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seasonal.csv");
    std::fs::write(&path, csv).unwrap();
    let read = ReadOptions { skip_bad_rows: false, show_progress: false };
    let runs = read_all_runs(&Source::File(path), &read).expect("the generated history reads");
    runs.into_iter()
        .enumerate()
        .map(|(i, run)| match i % 211 {
            100 => {
                Run::new(run.task_type().clone(), run.run_id().clone(), run.start(), None, RunStatus::Running)
                    .unwrap()
            }
            _ => run,
        })
        .collect()
}

fn with_seasons(config: ReplayConfig) -> ReplayConfig {
    ReplayConfig { seasons: Some(SeasonRule::default()), ..config }
}

#[test]
fn the_deployed_path_and_the_replay_agree_on_a_seasonal_history_judged_by_season() {
    let said = assert_same_on(with_seasons(ReplayConfig::default()), &seasonal_trace());
    let by_season = |season: &str| said.alerts.iter().filter(|alert| alert.3.ends_with(season)).count();
    assert!(
        by_season("weekday") > 20 && by_season("weekend") > 5,
        "alerts judged by season: {} on weekdays, {} on weekends, of {}",
        by_season("weekday"),
        by_season("weekend"),
        said.alerts.len()
    );
    assert!(!said.notices.is_empty(), "no too-short notice compared");
    let season_nights =
        said.baselines.iter().filter(|((_, key), b)| key.ends_with(')') && b.is_some()).count();
    assert!(season_nights > 300, "only {season_nights} season baselines compared");
}

#[test]
fn the_deployed_path_and_the_replay_agree_by_season_with_the_guarded_method() {
    assert_same_on(with_seasons(config_for(Method::Guarded { k: 4.0 })), &seasonal_trace());
}

#[test]
fn the_comparison_fails_when_the_deployed_path_does_not_judge_by_season() {
    let config = with_seasons(ReplayConfig::default());
    let runs = seasonal_trace();
    let replay = replayed(config, &runs);
    let plain = deployed(ReplayConfig { seasons: None, ..config }, config.exclusion, &runs);
    let differences = compare(&replay, &plain);
    assert!(
        differences.iter().any(|d| d.starts_with("alert only")),
        "judging by season must change some alert: {differences:?}"
    );
}
