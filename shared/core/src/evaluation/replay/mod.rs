//! The replay engine: what would Overrun have alerted on, and when, over a recorded history?
//!
//! It simulates the nightly baseline job and a check at every tick, but never steps through
//! ticks. Between two nights a task type's limit is constant, so the first alerting tick of a run
//! in that span has a closed form: the first tick at or after both the span's start and
//! `start + (smallest elapsed past the limit)`. Work is therefore per run and per night a run
//! spans, memory holds only the runs still open at the last night plus a window of daily
//! aggregates per task type, and neither grows with the number of ticks.
//!
//! Runs must arrive in start order (as workflow histories are exported). Once a run starting at
//! `s` arrives, every run that ended before `s` is known, so every night at or before `s` is
//! final; that is what lets alerts be found while streaming.

mod cohort_paces;
mod daily;
pub mod missed_starts;
mod missed_workers;
mod outcome;
mod own_limits;
mod short_finishes;

use crate::stats::moments::LogMoments;
use std::collections::{BTreeMap, HashMap, VecDeque};

use thiserror::Error;

use crate::detect::levels::{AlertedLevels, DetectionConfig, Level, Thresholds};
use crate::detect::overrides::{EffectiveLimits, LimitSource};
use crate::detect::short::{ShortFinish, ShortRule, first_of_each_day};
use crate::limits::baseline::{Baseline, BaselinePolicy};
use crate::limits::recent::PerRunLimits;
use crate::limits::season::{MIN_RUNS_PER_SEASON, Season, SeasonRule, is_seasonal};
use crate::limits::tailored::PreparedWindow;
use crate::limits::window::ExclusionCap;
use crate::model::{ModelError, Run, RunId, RunStatus, TaskType, check_times};
use crate::settings::Detection;
use crate::time::{Day, EpochMs, TickInterval};
use daily::DailyBuckets;
use missed_starts::{MissedEvent, MissedEventKind};
use missed_workers::MissedWorkers;
pub use outcome::{Alert, NightRecord, ReplayOutcome, ReplaySummary, TaskAlertCount};
use short_finishes::{PendingShort, ShortCandidate};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayConfig {
    /// How baselines are computed, and how often runs are checked ([`ReplayConfig::interval`]).
    pub policy: BaselinePolicy,
    pub detection: DetectionConfig,
    /// Leave runs that were themselves warned about out of later baselines, up to this share of a
    /// window (the slowest warned runs), so one slow run does not widen the limit for the next two
    /// weeks. The guarded method's tenth by default; `None` (every run counts) for the seed
    /// method as docs/DETECTION.md ("The seed method") states it.
    pub exclusion: Option<ExclusionCap>,
    /// Succeeded runs far below their expected duration get an informational notice.
    pub short: ShortRule,
    /// Runs that start at the same instant form a cohort (the jobs of one build, the tasks of one
    /// workflow run): once at least [`MIN_COHORT_FINISHED`] of a run's cohort have succeeded, its
    /// limits stretch by their median slowdown (duration over their type's expected duration,
    /// never below 1), so a build that is slow as a whole pages for its first slow jobs, not for
    /// all of them. The functions do the same for the cohorts task events name (a history has
    /// none, hence the same instant here).
    pub cohorts: bool,
    /// With the tailored method: the type's most recent succeeded runs count for more in each
    /// run's limit (see [`RecentRuns`]); by default the tailored method's three latest.
    pub recent: RecentRuns,
    /// The limit of a run whose type has no baseline yet, as the checker deploys it (`None`: such
    /// runs are not judged).
    pub fallback_limit_ms: Option<f64>,
    /// Judge a type whose own history shows a weekly season by season ([`crate::limits::season`]):
    /// each run against runs of its own season (weekday or weekend by its start), over a
    /// look-back holding as many runs as the plain window. `None`: every type plain.
    pub seasons: Option<SeasonRule>,
}

pub use crate::limits::recent::RecentRuns;

pub use crate::detect::cohort::MIN_COHORT_FINISHED;

impl Default for ReplayConfig {
    /// What the functions run by default: the tailored method.
    fn default() -> Self {
        Self::for_policy(BaselinePolicy::default())
    }
}

impl From<Detection> for ReplayConfig {
    /// The replay of what the functions run with `detection` (a history names no cohorts: off).
    fn from(detection: Detection) -> Self {
        let Detection { policy, detection, exclusion, short, recent, fallback_limit_ms } = detection;
        Self { policy, detection, exclusion, short, cohorts: false, recent, fallback_limit_ms, seasons: None }
    }
}

impl ReplayConfig {
    /// Time between checks: the policy's, which its limits assume.
    pub fn interval(&self) -> TickInterval {
        self.policy.check_interval()
    }

    /// Default settings for `policy`, with warned runs kept out as far as its method does and
    /// recent runs weighed as far as its method does.
    pub fn for_policy(policy: BaselinePolicy) -> Self {
        Self {
            policy,
            detection: DetectionConfig::default(),
            exclusion: policy.method().exclusion_cap(),
            short: ShortRule::default(),
            cohorts: false,
            recent: RecentRuns::default_for(policy.method()),
            fallback_limit_ms: Some(crate::defaults::FALLBACK_LIMIT_S * 1_000.0),
            seasons: None,
        }
    }

    /// Whether warned runs stay out of later windows.
    fn excludes_warned(&self) -> bool {
        self.exclusion.is_some()
    }

    /// Whether runs get their own limits from their type's recent runs.
    fn per_run_limits(&self) -> bool {
        self.recent.is_enabled() && self.policy.method().needs_histogram()
    }
}

/// One run as read from a history, borrowed so that parsing allocates only for runs that matter.
#[derive(Debug, Clone, Copy)]
pub struct RunInput<'a> {
    pub task_type: &'a str,
    pub run_id: &'a str,
    pub start: EpochMs,
    /// `None` only for a run still running when the history was taken.
    pub end: Option<EpochMs>,
    pub status: RunStatus,
}

impl<'a> From<&'a Run> for RunInput<'a> {
    fn from(run: &'a Run) -> Self {
        Self {
            task_type: run.task_type().as_str(),
            run_id: run.run_id().as_str(),
            start: run.start(),
            end: run.end(),
            status: run.status(),
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReplayError {
    #[error(transparent)]
    InvalidRun(#[from] ModelError),
    #[error("runs must be in start order: start {start} comes after start {previous}")]
    OutOfOrder { start: EpochMs, previous: EpochMs },
}

/// Streaming replay: [`Replayer::push`] runs in start order, then [`Replayer::finish`].
pub struct Replayer {
    config: ReplayConfig,
    /// With recent runs: how each run's own limit is computed.
    per_run: Option<PerRunLimits>,
    task_index: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
    tasks: Vec<TaskState>,
    /// The latest night whose baselines are final, once any run has arrived.
    night: Option<Day>,
    last_start: Option<EpochMs>,
    horizon: EpochMs,
    open: Vec<OpenRun>,
    alerts: Vec<RecordedAlert>,
    /// Runs with no end time: alerts past the horizon are not theirs to raise.
    endless: Vec<u64>,
    /// Succeeded runs ending after the current night, judged once their end's night is final.
    pending_short: Vec<PendingShort>,
    short_finishes: Vec<(u64, ShortFinish)>,
    summary: ReplaySummary,
    /// With cohorts: the runs sharing the latest start, held until the next start arrives so each
    /// knows its whole cohort.
    group: Vec<GroupedRun>,
    /// Warning limits given from outside for some task types (the hindsight reference), in place
    /// of the method's upper limit whenever the type has a baseline.
    fixed_limits: HashMap<TaskType, f64>,
    /// With [`Replayer::recording_baselines`]: every baseline computed.
    recorded_baselines: Option<Vec<NightRecord>>,
    /// The fallback's thresholds, from the config.
    fallback: Option<Fallback>,
    /// The missed-start replay, fed every start as it comes (taken when finishing).
    missed: Option<MissedWorkers>,
}

/// The limits of a run whose type has no baseline: the fallback, as the checker applies it.
#[derive(Clone, Copy)]
struct Fallback {
    thresholds: Thresholds,
    first_exceeding_ms: [i64; 2],
}

/// A validated run waiting for the rest of its cohort.
struct GroupedRun {
    task: u32,
    run_id: Box<str>,
    start: EpochMs,
    end: Option<EpochMs>,
    status: RunStatus,
}

/// A succeeded member of a run's cohort.
#[derive(Clone, Copy)]
struct Sibling {
    task: u32,
    end: EpochMs,
    duration_ms: u64,
}

struct TaskState {
    name: TaskType,
    daily: DailyBuckets,
    /// The limits of one night, memoised: many runs of a type consult the same night.
    cached: Option<(Day, Option<NightLimits>)>,
    runs: u64,
    fixed_limit_ms: Option<f64>,
    /// With recent runs: (end, duration) of the succeeded runs that may still be among the most
    /// recent for a later start, with how many share them.
    recent: BTreeMap<(EpochMs, u64), u32>,
    /// With recent runs: the night whose window is kept, prepared for each run's own limit.
    night_window: Option<NightWindow>,
    /// With recent runs: the last own limits computed, by night and recent runs, memoised: the
    /// runs of a type that start between two of its finishes share their recent runs.
    own_cached: Option<(Day, Box<[u64]>, NightLimits)>,
    /// A run of it started before it had a baseline, judged by the fallback limit; or, with
    /// none, not judged at all.
    started_by_fallback: bool,
    started_unjudged: bool,
    /// The durations of the lone outliers its windows kept out (each counted once, however many
    /// nights' windows held it).
    outliers_kept_out: Vec<u64>,
    /// Its number among the task types (season states have their type's): the index of its
    /// missed-start replay.
    ordinal: u32,
    /// With seasons: its two season states (weekday, weekend), each holding only that season's
    /// runs, which judge the runs of their season on the nights the type is seasonal.
    seasons: Option<[u32; 2]>,
    /// A season state: the days its window looks back (for as many runs as the plain window).
    look_back_days: Option<u32>,
    /// Whether it is a season state of another type (not a type of its own in the summary).
    is_season: bool,
    /// A season state's season.
    season: Option<Season>,
    /// Whether the type is seasonal on a night, memoised for that night.
    seasonal_night: Option<(Day, bool)>,
    /// The nights it was judged by season (once each).
    seasonal_nights: u64,
    /// With seasons: the log moments of its counted runs by day of end and season, over the
    /// longest season's look-back, from which each night's decision is made.
    season_log: VecDeque<(Day, [LogMoments; 2])>,
    /// With seasons: what its season states are still owed, in the order it happened. Season
    /// states are read only on the nights their type is seasonal, so they are fed then
    /// ([`Replayer::feed_seasons`]), not on every run.
    season_owed: VecDeque<Owed>,
}

/// A success a type's season state is owed: as a day's run (counted or warned), as a recent
/// run, or both (one entry for both keeps the memory of a replay with seasons down).
#[derive(Debug, Clone, Copy)]
struct Owed {
    end: EpochMs,
    duration_ms: u64,
    season: Season,
    /// `Some(warned)`: owed to its season's days.
    day: Option<bool>,
    /// Owed to its season's recent runs.
    recent: bool,
}

/// A run whose later nights still have to be checked.
/// A run just checked through tonight, before it is recorded or kept open.
struct CheckedRun {
    seq: u64,
    task: u32,
    start: EpochMs,
    end: Option<EpochMs>,
    succeeded: bool,
    alerted: AlertedLevels,
    /// The state that judged it at its start, and the recent runs it weighed then.
    judged: u32,
    recent: Box<[u64]>,
    siblings: Box<[Sibling]>,
}

struct OpenRun {
    seq: u64,
    task: u32,
    run_id: RunId,
    start: EpochMs,
    end: Option<EpochMs>,
    alerted: AlertedLevels,
    /// Its duration enters baselines once it is known not to have been warned about.
    deferred_success: bool,
    /// With recent runs: the durations of its type's most recent runs when it started.
    recent: Box<[u64]>,
    /// With seasons too: those of its own season's, weighed on the nights its type is judged
    /// by season (the checker reads either from the run, night by night).
    season_recent: Option<Box<[u64]>>,
    /// The succeeded members of its cohort (empty without cohorts).
    siblings: Box<[Sibling]>,
}

/// With recent runs: one night's window of a task type, prepared for each run's own limit.
struct NightWindow {
    night: Day,
    prepared: PreparedWindow,
    /// No run's own limit of that night lies at or below this (ms).
    own_floor_ms: f64,
}

/// A run as one night's span of checks sees it.
#[derive(Clone, Copy)]
struct SpanRun<'a> {
    task: u32,
    start: EpochMs,
    end: Option<EpochMs>,
    siblings: &'a [Sibling],
    recent: &'a [u64],
}

/// A night's baseline for one task type, with what detection derives from it.
#[derive(Clone, Copy)]
struct NightLimits {
    baseline: Baseline,
    thresholds: Thresholds,
    /// Per level, the smallest elapsed time that alerts.
    first_exceeding_ms: [i64; 2],
}

impl NightLimits {
    fn new(baseline: Baseline, detection: &DetectionConfig) -> Self {
        let thresholds = detection.thresholds(&baseline);
        Self {
            baseline,
            thresholds,
            first_exceeding_ms: Level::ALL.map(|level| thresholds.first_exceeding_elapsed_ms(level)),
        }
    }
}

/// What a span is checked against: a night's baseline limits, or the fallback.
struct SpanLimits {
    baseline: Option<Baseline>,
    thresholds: Thresholds,
    first_exceeding_ms: [i64; 2],
    source: LimitSource,
}

/// What one night's span of checks found for one run.
struct Found {
    level: Level,
    at: EpochMs,
    limit_ms: f64,
    baseline: Option<Baseline>,
    /// The night's limits, before the cohort's stretch.
    thresholds: Thresholds,
    /// The limits it crossed, stretched.
    stretched: Thresholds,
    source: LimitSource,
    stretch: f64,
    /// Whether the limit was the run's own, from its recent runs.
    own_limit: bool,
    /// The season whose runs the limits came from, when its type was judged by season.
    season: Option<Season>,
}

impl Replayer {
    pub fn new(config: ReplayConfig) -> Self {
        let config_fallback = config.fallback_limit_ms.map(|limit_ms| {
            let thresholds = config.detection.fixed(limit_ms);
            Fallback {
                thresholds,
                first_exceeding_ms: Level::ALL.map(|level| thresholds.first_exceeding_elapsed_ms(level)),
            }
        });
        Self {
            per_run: if config.per_run_limits() {
                config.recent.for_policy(&config.policy).ok().flatten()
            } else {
                None
            },
            missed: Some(MissedWorkers::new(config.policy)),
            config,
            task_index: HashMap::default(),
            tasks: Vec::new(),
            night: None,
            last_start: None,
            horizon: EpochMs::MIN,
            open: Vec::new(),
            alerts: Vec::new(),
            endless: Vec::new(),
            pending_short: Vec::new(),
            short_finishes: Vec::new(),
            summary: ReplaySummary::default(),
            group: Vec::new(),
            fixed_limits: HashMap::default(),
            recorded_baselines: None,
            fallback: config_fallback,
        }
    }

    /// Keeps every baseline the replay computes ([`ReplayOutcome::baselines`]), to compare with
    /// what the nightly job stores.
    pub fn recording_baselines(mut self) -> Self {
        self.recorded_baselines = Some(Vec::new());
        self
    }

    /// Checks the given task types against these warning limits (ms) instead of their method's
    /// upper limit, on the nights they have a baseline (the window, expected duration and σ stay
    /// the method's). For the hindsight reference of backtests: no deployed method has them.
    pub fn with_fixed_limits(mut self, limits: HashMap<TaskType, f64>) -> Self {
        for task in &mut self.tasks {
            task.fixed_limit_ms = limits.get(&task.name).copied();
            task.cached = None;
        }
        self.fixed_limits = limits;
        self
    }

    pub fn config(&self) -> &ReplayConfig {
        &self.config
    }

    /// Adds the next run. On error nothing changes, so a caller may skip the run and go on.
    pub fn push(&mut self, run: RunInput<'_>) -> Result<(), ReplayError> {
        check_times(run.start, run.end, run.status)?;
        RunId::validate(run.run_id)?;
        if let Some(previous) = self.last_start
            && run.start < previous
        {
            return Err(ReplayError::OutOfOrder { start: run.start, previous });
        }
        let task = self.intern(run.task_type)?;

        self.last_start = Some(run.start);
        self.summary.first_start.get_or_insert(run.start);
        self.horizon = self.horizon.max(run.end.unwrap_or(run.start)).max(run.start);
        if !self.config.cohorts {
            return self.process(task, run.run_id, run.start, run.end, run.status, Box::default());
        }
        if self.group.first().is_some_and(|first| first.start != run.start) {
            self.flush_group()?;
        }
        self.group.push(GroupedRun {
            task,
            run_id: run.run_id.into(),
            start: run.start,
            end: run.end,
            status: run.status,
        });
        Ok(())
    }

    /// Processes the held cohort, each run knowing its succeeded siblings.
    fn flush_group(&mut self) -> Result<(), ReplayError> {
        let group = std::mem::take(&mut self.group);
        let members: Vec<Option<Sibling>> = group
            .iter()
            .map(|run| match (run.status, run.end) {
                (RunStatus::Succeeded, Some(end)) => {
                    Some(Sibling { task: run.task, end, duration_ms: end.abs_diff(run.start) })
                }
                _ => None,
            })
            .collect();
        for (index, run) in group.iter().enumerate() {
            let siblings: Box<[Sibling]> = members
                .iter()
                .enumerate()
                .filter(|&(other, _)| other != index)
                .filter_map(|(_, member)| *member)
                .collect();
            self.process(run.task, &run.run_id, run.start, run.end, run.status, siblings)?;
        }
        Ok(())
    }

    /// Everything `push` does once a run is validated (and, with cohorts, its cohort is known).
    fn process(
        &mut self,
        task: u32,
        run_id: &str,
        start: EpochMs,
        end: Option<EpochMs>,
        status: RunStatus,
        siblings: Box<[Sibling]>,
    ) -> Result<(), ReplayError> {
        self.count_status(status);
        self.tasks[task as usize].runs += 1;
        if let Some(missed) = &mut self.missed {
            missed.record(self.tasks[task as usize].ordinal, start);
        }

        let policy = self.config.policy;
        let night = policy.night_at_or_before(start);
        self.advance_to_night(night);

        let succeeded = status == RunStatus::Succeeded && end.is_some();
        if succeeded && !self.config.excludes_warned() {
            self.add_success(task, start, end);
        }
        let judged = self.judged(task, start, night);
        let recent = self.recent_durations(judged, start);
        if let (true, Some(end)) = (succeeded && self.config.per_run_limits(), end) {
            let duration_ms = end.abs_diff(start);
            *self.tasks[task as usize].recent.entry((end, duration_ms)).or_default() += 1;
            if let Some(rule) = self.config.seasons {
                let season = rule.season_of(start);
                let owed = &mut self.tasks[task as usize].season_owed;
                // Usually the success was just owed to its season's days: one entry for both.
                match owed.back_mut() {
                    Some(last)
                        if !last.recent
                            && (last.end, last.duration_ms, last.season) == (end, duration_ms, season) =>
                    {
                        last.recent = true
                    }
                    _ => owed.push_back(Owed { end, duration_ms, season, day: None, recent: true }),
                }
            }
        }
        let seq = self.next_seq(end.is_none());
        let mut alerted = AlertedLevels::default();
        let span_run = SpanRun { task: judged, start, end, siblings: &siblings, recent: &recent };
        // A run with something to check tonight (it ran for a while), by what its start judged it.
        if end.is_none_or(|end| end > start) {
            self.count_judged(task, judged, night);
        }
        let found = self.check_span(span_run, &mut alerted, night);
        let checked = CheckedRun { seq, task, start, end, succeeded, alerted, judged, recent, siblings };
        self.keep(checked, found, run_id, night)?;
        if let (true, Some(end)) = (succeeded && self.config.short.is_enabled(), end) {
            let candidate = ShortCandidate { seq, task, start, end, night: policy.night_at_or_before(end) };
            self.consider_short(candidate, night, run_id)?;
        }
        Ok(())
    }

    /// Records what the checks of tonight found, keeps the run open while it can still alert
    /// (past tonight), and settles a guarded success that can no longer be warned about.
    fn keep(
        &mut self,
        checked: CheckedRun,
        found: [Option<Found>; 2],
        run_id: &str,
        night: Day,
    ) -> Result<(), ReplayError> {
        let CheckedRun { seq, task, start, end, succeeded, alerted, judged, recent, siblings } = checked;
        let night_end = self.config.policy.night_start(night + 1);
        let still_open = !alerted.is_complete() && end.is_none_or(|end| end > night_end);
        if found.iter().any(Option::is_some) || still_open {
            // The run id is validated only for runs that alert or stay open: most do neither.
            let run_id = RunId::new(run_id)?;
            self.record(seq, task, &run_id, start, &recent, found);
            if still_open {
                let deferred_success = succeeded && self.config.excludes_warned();
                let (recent, season_recent) = self.both_recent(task, judged, start, recent);
                let open = OpenRun {
                    seq,
                    task,
                    run_id,
                    start,
                    end,
                    alerted,
                    deferred_success,
                    recent,
                    season_recent,
                    siblings,
                };
                self.open.push(open);
            }
        }
        if succeeded && self.config.excludes_warned() && !still_open {
            self.settle_success(task, start, end, alerted.contains(Level::Warning));
        }
        Ok(())
    }

    /// The next run's sequence number; runs with no end are noted (alerts past the horizon are
    /// not theirs to raise).
    fn next_seq(&mut self, endless: bool) -> u64 {
        let seq = self.summary.runs;
        self.summary.runs += 1;
        if endless {
            self.endless.push(seq);
        }
        seq
    }

    /// A succeeded run judged too short now if its end's night is final (`night`, the current
    /// one: every run ending before it has arrived), else once it is.
    fn consider_short(
        &mut self,
        candidate: ShortCandidate,
        night: Day,
        run_id: &str,
    ) -> Result<(), ReplayError> {
        if candidate.night == night {
            self.judge_short(candidate, || RunId::new(run_id))?;
        } else {
            self.pending_short.push(PendingShort { candidate, run_id: RunId::new(run_id)? });
        }
        Ok(())
    }

    /// Checks the nights after the last run up to the history's horizon, then returns every
    /// alert in time order and the summary.
    pub fn finish(mut self) -> ReplayOutcome {
        // Held runs passed `RunId::validate` when pushed, so processing them cannot fail.
        let flushed = self.flush_group();
        debug_assert!(flushed.is_ok(), "{flushed:?}");
        if let Some(night) = self.night {
            let horizon = self.horizon;
            // Runs with no end are taken as running at every tick up to the horizon.
            for run in &mut self.open {
                run.end.get_or_insert(horizon + 1);
            }
            let last_night = self.config.policy.night_at_or_before(horizon).max(night);
            self.advance_to_night(last_night);
            self.summary.horizon = Some(horizon);
        }
        let missed = self.missed_starts();
        let horizon = self.horizon;
        let endless = self.endless;
        self.alerts
            .retain(|recorded| recorded.alert.at <= horizon || endless.binary_search(&recorded.seq).is_err());
        self.alerts.sort_by_key(|recorded| (recorded.alert.at, recorded.seq, recorded.alert.level));
        self.short_finishes.sort_by_key(|(seq, short)| (short.at, *seq));
        let policy = self.config.policy;
        let (short_finishes, short_repeats) =
            first_of_each_day(self.short_finishes.into_iter().map(|(_, short)| short).collect(), |at| {
                policy.bucket_of_end(at)
            });
        self.summary.short_finishes = short_finishes.len() as u64;
        self.summary.short_repeats = short_repeats;

        let mut per_task: Vec<TaskAlertCount> = vec![TaskAlertCount::default(); self.tasks.len()];
        for recorded in &self.alerts {
            let counts = &mut per_task[recorded.task as usize];
            match recorded.alert.level {
                Level::Warning => counts.warnings += 1,
                Level::Critical => counts.criticals += 1,
            }
        }
        self.summary.warnings = per_task.iter().map(|c| c.warnings).sum();
        self.summary.criticals = per_task.iter().map(|c| c.criticals).sum();
        self.summary.task_types = self.tasks.iter().filter(|task| !task.is_season).count();
        self.summary.types_by_fallback = self.tasks.iter().filter(|task| task.started_by_fallback).count();
        self.summary.types_unjudged = self.tasks.iter().filter(|task| task.started_unjudged).count();
        self.summary.outliers_kept_out =
            self.tasks.iter().map(|task| task.outliers_kept_out.len() as u64).sum();
        self.summary.types_with_outliers =
            self.tasks.iter().filter(|task| !task.outliers_kept_out.is_empty()).count();
        self.summary.seasonal_types = self.tasks.iter().filter(|task| task.seasonal_nights > 0).count();
        self.summary.seasonal_nights = self.tasks.iter().map(|task| task.seasonal_nights).sum();
        let mut noisiest: Vec<TaskAlertCount> = per_task
            .into_iter()
            .zip(&self.tasks)
            .filter(|(counts, _)| counts.warnings + counts.criticals > 0)
            .map(|(counts, task)| TaskAlertCount {
                task_type: Some(task.name.clone()),
                runs: task.runs,
                ..counts
            })
            .collect();
        noisiest.sort_by(|a, b| {
            (b.warnings + b.criticals, b.warnings)
                .cmp(&(a.warnings + a.criticals, a.warnings))
                .then_with(|| a.task_type.cmp(&b.task_type))
        });
        self.summary.noisiest = noisiest;
        ReplayOutcome {
            alerts: self.alerts.into_iter().map(|recorded| recorded.alert).collect(),
            short_finishes,
            summary: self.summary,
            baselines: self.recorded_baselines.unwrap_or_default(),
            missed,
        }
    }

    /// The missed-start messages of every type over the replayed nights, in time order, counted
    /// in the summary.
    fn missed_starts(&mut self) -> Vec<MissedEvent> {
        let Some(workers) = self.missed.take() else { return Vec::new() };
        let (mut events, scheduled) = workers.finish(self.summary.horizon);
        self.summary.missed.scheduled_types += scheduled;
        for event in &events {
            let counts = &mut self.summary.missed;
            match &event.kind {
                MissedEventKind::Missed { level: Level::Warning, .. } => counts.warnings += 1,
                MissedEventKind::Missed { level: Level::Critical, .. } => counts.criticals += 1,
                MissedEventKind::Resumed(_) => counts.resolved += 1,
            }
        }
        events.sort_by(|a, b| (a.at, &a.task_type).cmp(&(b.at, &b.task_type)));
        events
    }

    fn intern(&mut self, name: &str) -> Result<u32, ModelError> {
        if let Some(&index) = self.task_index.get(name) {
            return Ok(index);
        }
        let task_type = TaskType::new(name)?;
        let index = u32::try_from(self.tasks.len()).unwrap_or(u32::MAX);
        // Types are numbered densely for the missed-start workers, season states left out.
        let ordinal = u32::try_from(self.task_index.len()).unwrap_or(u32::MAX);
        self.task_index.insert(name.into(), index);
        if let Some(missed) = &mut self.missed {
            missed.add_type(ordinal, task_type.clone());
        }
        let mut state = self.new_state(task_type, None);
        state.ordinal = ordinal;
        self.tasks.push(state);
        if self.config.seasons.is_some() {
            let window_days = self.config.policy.window_days();
            let subs = Season::ALL.map(|season| {
                let mut state = self.new_state(
                    self.tasks[index as usize].name.clone(),
                    Some(season.look_back_days(window_days)),
                );
                state.is_season = true;
                state.season = Some(season);
                self.tasks.push(state);
                u32::try_from(self.tasks.len() - 1).unwrap_or(u32::MAX)
            });
            self.tasks[index as usize].seasons = Some(subs);
        }
        Ok(index)
    }

    fn new_state(&self, name: TaskType, look_back_days: Option<u32>) -> TaskState {
        let keep_histograms = self.config.policy.method().needs_histogram();
        TaskState {
            fixed_limit_ms: self.fixed_limits.get(&name).copied(),
            name,
            // A season state's windows are read only on its type's seasonal nights.
            daily: match look_back_days {
                Some(_) => DailyBuckets::with_lazy_histograms(keep_histograms),
                None => DailyBuckets::new(keep_histograms),
            },
            cached: None,
            runs: 0,
            recent: BTreeMap::new(),
            night_window: None,
            own_cached: None,
            started_by_fallback: false,
            outliers_kept_out: Vec::new(),
            started_unjudged: false,
            ordinal: 0,
            seasons: None,
            look_back_days,
            is_season: false,
            season: None,
            seasonal_night: None,
            seasonal_nights: 0,
            season_log: VecDeque::new(),
            season_owed: VecDeque::new(),
        }
    }

    /// The season state a run of `task` started at `start` falls in, if judging by season.
    fn season_state(&self, task: u32, start: EpochMs) -> Option<u32> {
        let (rule, subs) = (self.config.seasons?, self.tasks[task as usize].seasons?);
        Some(subs[rule.season_of(start).index()])
    }

    /// Which state judges a run of `task` started at `start` on `night`: its season's when the
    /// type is seasonal that night (and has its own limits, as the nightly job keeps a type's
    /// seasons beside its own baseline) and that season has limits, the type's own otherwise.
    fn judged(&mut self, task: u32, start: EpochMs, night: Day) -> u32 {
        match self.season_state(task, start) {
            Some(season) if self.is_seasonal(task, night) && self.limits(task, night).is_some() => {
                self.feed_seasons(task);
                // A season with too few runs for a baseline of its own leaves the run to its
                // type's, as the checker does.
                if self.limits(season, night).is_some() { season } else { task }
            }
            _ => task,
        }
    }

    /// A run kept open past its first night: its type's recent runs and, with seasons, its
    /// season's, both as they were at its start (`recent` is those of the state that `judged`
    /// it then), so that each later night weighs the ones of the state judging it that night,
    /// as the checker reads either from the run.
    fn both_recent(
        &mut self,
        task: u32,
        judged: u32,
        start: EpochMs,
        recent: Box<[u64]>,
    ) -> (Box<[u64]>, Option<Box<[u64]>>) {
        let season_state = self.season_state(task, start);
        match season_state {
            Some(_) if !self.config.per_run_limits() => (recent, None),
            None => (recent, None),
            // Still this run's start: reading the type's recent runs keeps them in order.
            Some(_) if judged != task => (self.recent_durations(task, start), Some(recent)),
            Some(season_state) => {
                let season_recent = self.season_recent_at(task, season_state, start);
                (recent, Some(season_recent))
            }
        }
    }

    /// The latest recent runs of `season_state`'s season ended before `start`, from what it
    /// holds and what it is still owed, without feeding it.
    fn season_recent_at(&self, task: u32, season_state: u32, start: EpochMs) -> Box<[u64]> {
        let wanted = self.config.recent.count;
        let Some(season) = self.tasks[season_state as usize].season else { return Box::default() };
        let held = self.tasks[season_state as usize].recent.range(..(start, 0)).rev();
        let mut runs: Vec<(EpochMs, u64)> =
            held.flat_map(|(&key, &count)| std::iter::repeat_n(key, count as usize)).take(wanted).collect();
        let owed = self.tasks[task as usize].season_owed.iter();
        runs.extend(
            owed.filter(|owed| owed.recent && owed.season == season && owed.end < start)
                .map(|owed| (owed.end, owed.duration_ms)),
        );
        // Newest first, ties by the longest, as the recent runs are read.
        runs.sort_unstable_by(|a, b| b.cmp(a));
        runs.into_iter().take(wanted).map(|(_, duration_ms)| duration_ms).collect()
    }

    /// Gives `task`'s season states what they are owed, in the order it happened: exactly what
    /// they would hold had each run been added to them as it came.
    fn feed_seasons(&mut self, task: u32) {
        let Some(subs) = self.tasks[task as usize].seasons else { return };
        let owed = std::mem::take(&mut self.tasks[task as usize].season_owed);
        let policy = self.config.policy;
        for Owed { end, duration_ms, season, day, recent } in owed {
            let state = &mut self.tasks[subs[season.index()] as usize];
            match day {
                Some(false) => state.daily.add(policy.bucket_of_end(end), duration_ms),
                Some(true) => state.daily.add_warned(policy.bucket_of_end(end), duration_ms),
                None => {}
            }
            if recent {
                *state.recent.entry((end, duration_ms)).or_default() += 1;
            }
        }
    }

    /// Whether `task`'s own history shows a weekly season on `night`: its runs of each season
    /// over that season's look-back ([`is_seasonal`]).
    fn is_seasonal(&mut self, task: u32, night: Day) -> bool {
        let state = &self.tasks[task as usize];
        if let Some((decided, seasonal)) = state.seasonal_night
            && decided == night
        {
            return seasonal;
        }
        if state.seasons.is_none() {
            return false;
        }
        let policy = self.config.policy;
        let window_days = policy.window_days();
        let longest = Season::ALL.map(|season| season.look_back_days(window_days)).into_iter().max();
        let oldest = night - i64::from(longest.unwrap_or(0));
        // A season judges only with MIN_RUNS_PER_SEASON counted runs in its look-back, so no
        // older run is among its latest recent runs while fewer are weighed; with more, a
        // season's old recent runs stay owed.
        let keep_old_recent = self.config.recent.count as u64 > MIN_RUNS_PER_SEASON;
        let state = &mut self.tasks[task as usize];
        // Nights only move forward: what ended before the longest look-back is never read again.
        while state.season_log.front().is_some_and(|&(day, _)| day < oldest) {
            state.season_log.pop_front();
        }
        while state
            .season_owed
            .front()
            .is_some_and(|owed| policy.bucket_of_end(owed.end) < oldest && !(keep_old_recent && owed.recent))
        {
            state.season_owed.pop_front();
        }
        let [weekday, weekend] = Season::ALL.map(|season| {
            let from = night - i64::from(season.look_back_days(window_days));
            let mut moments = LogMoments::default();
            for (_, by_season) in state.season_log.iter().filter(|&&(day, _)| (from..night).contains(&day)) {
                moments.merge(&by_season[season.index()]);
            }
            moments
        });
        let seasonal = is_seasonal(&weekday, &weekend);
        state.seasonal_night = Some((night, seasonal));
        state.seasonal_nights += u64::from(seasonal);
        seasonal
    }

    fn add_success(&mut self, task: u32, start: EpochMs, end: Option<EpochMs>) {
        if let Some(end) = end {
            // The end day is never before the current night, so no final baseline changes.
            let bucket = self.config.policy.bucket_of_end(end);
            let duration_ms = end.abs_diff(start);
            self.tasks[task as usize].daily.add(bucket, duration_ms);
            self.owe_season(task, start, end, duration_ms, false);
        }
    }

    /// A deferred success, now known to have been warned about or not.
    fn settle_success(&mut self, task: u32, start: EpochMs, end: Option<EpochMs>, warned: bool) {
        match (warned, end) {
            (false, _) => self.add_success(task, start, end),
            (true, Some(end)) => {
                let bucket = self.config.policy.bucket_of_end(end);
                let duration_ms = end.abs_diff(start);
                self.tasks[task as usize].daily.add_warned(bucket, duration_ms);
                self.owe_season(task, start, end, duration_ms, true);
            }
            (true, None) => {}
        }
    }

    /// With seasons: notes a success ending at `end` for its type's season decision (counted
    /// runs only) and its season state.
    fn owe_season(&mut self, task: u32, start: EpochMs, end: EpochMs, duration_ms: u64, warned: bool) {
        let Some(rule) = self.config.seasons else { return };
        let day = self.config.policy.bucket_of_end(end);
        let season = rule.season_of(start);
        let state = &mut self.tasks[task as usize];
        if state.seasons.is_none() {
            return;
        }
        if !warned {
            let log = &mut state.season_log;
            // Runs arrive in start order, so their end day is almost always the newest.
            let position = log.iter().rposition(|&(d, _)| d <= day);
            let index = match position {
                Some(i) if log[i].0 == day => i,
                Some(i) => {
                    log.insert(i + 1, (day, Default::default()));
                    i + 1
                }
                None => {
                    log.push_front((day, Default::default()));
                    0
                }
            };
            log[index].1[season.index()].push(duration_ms);
        }
        state.season_owed.push_back(Owed { end, duration_ms, season, day: Some(warned), recent: false });
    }

    /// Counts a run that started before its type had a baseline (`night`'s limits are
    /// memoised, so its checks read them again for free), by what judges it instead.
    fn count_judged(&mut self, task: u32, judged: u32, night: Day) {
        if self.limits(judged, night).is_some() {
            return;
        }
        let state = &mut self.tasks[task as usize];
        if self.fallback.is_some() {
            self.summary.runs_by_fallback += 1;
            state.started_by_fallback = true;
        } else {
            self.summary.runs_unjudged += 1;
            state.started_unjudged = true;
        }
    }

    fn count_status(&mut self, status: RunStatus) {
        let counter = match status {
            RunStatus::Succeeded => &mut self.summary.succeeded,
            RunStatus::Failed => &mut self.summary.failed,
            RunStatus::Aborted => &mut self.summary.aborted,
            RunStatus::Running => &mut self.summary.running,
        };
        *counter += 1;
    }

    /// Makes `night` the current one, checking the open runs over every night in between.
    fn advance_to_night(&mut self, night: Day) {
        let Some(current) = self.night else {
            self.night = Some(night);
            return;
        };
        let policy = self.config.policy;
        let mut open = std::mem::take(&mut self.open);
        let mut next = current + 1;
        while next <= night && !(open.is_empty() && self.pending_short.is_empty()) {
            let (due, waiting) = std::mem::take(&mut self.pending_short)
                .into_iter()
                .partition(|p: &PendingShort| p.candidate.night == next);
            self.pending_short = waiting;
            for pending in due {
                let Ok(()) =
                    self.judge_short(pending.candidate, || Ok::<_, std::convert::Infallible>(pending.run_id));
            }
            open.retain_mut(|run| {
                let judged = self.judged(run.task, run.start, next);
                let recent = match &run.season_recent {
                    Some(season_recent) if judged != run.task => season_recent,
                    _ => &run.recent,
                };
                let span_run =
                    SpanRun { task: judged, start: run.start, end: run.end, siblings: &run.siblings, recent };
                let found = self.check_span(span_run, &mut run.alerted, next);
                self.record(run.seq, run.task, &run.run_id, run.start, recent, found);
                let keep = !run.alerted.is_complete()
                    && run.end.is_none_or(|end| end > policy.night_start(next + 1));
                // Retired no later than the night its end falls in: that bucket is still open.
                if !keep && run.deferred_success {
                    self.settle_success(run.task, run.start, run.end, run.alerted.contains(Level::Warning));
                }
                keep
            });
            next = next + 1;
        }
        self.open = open;
        self.night = Some(self.night.map_or(night, |n| n.max(night)));
    }

    /// The first alerting tick per level within night `night`'s span, for a run of `task`.
    fn check_span(
        &mut self,
        run: SpanRun<'_>,
        alerted: &mut AlertedLevels,
        night: Day,
    ) -> [Option<Found>; 2] {
        let SpanRun { task, start, end, recent, .. } = run;
        let policy = self.config.policy;
        let span_start = start.max(policy.night_start(night));
        let span_end = policy.night_start(night + 1).min(end.unwrap_or(EpochMs::MAX));
        let found = [None, None];
        if span_start >= span_end {
            return found;
        }
        let Some(mut limits) = self.limits(task, night) else {
            let Some(fallback) = self.fallback else {
                return found;
            };
            let limits = SpanLimits {
                baseline: None,
                thresholds: fallback.thresholds,
                first_exceeding_ms: fallback.first_exceeding_ms,
                source: LimitSource::Fallback,
            };
            return self.find_crossings(run, alerted, night, limits, false, found);
        };
        let mut own_limit = false;
        if !recent.is_empty() && self.cannot_outlive_own_limit(task, night, (span_end - start) as f64) {
            return found;
        }
        if !recent.is_empty()
            && let Some(own) = self.with_recent_runs(task, night, &limits, recent)
        {
            limits = own;
            own_limit = true;
        }
        let NightLimits { baseline, thresholds, first_exceeding_ms } = limits;
        let limits = SpanLimits {
            baseline: Some(baseline),
            thresholds,
            first_exceeding_ms,
            source: LimitSource::Baseline,
        };
        self.find_crossings(run, alerted, night, limits, own_limit, found)
    }

    /// The first check of each level, within tonight's span of `run`, at which it is past
    /// `limits` stretched by its cohort's pace.
    fn find_crossings(
        &mut self,
        run: SpanRun<'_>,
        alerted: &mut AlertedLevels,
        night: Day,
        limits: SpanLimits,
        own_limit: bool,
        mut found: [Option<Found>; 2],
    ) -> [Option<Found>; 2] {
        let SpanRun { start, end, siblings, .. } = run;
        let policy = self.config.policy;
        let span_start = start.max(policy.night_start(night));
        let span_end = policy.night_start(night + 1).min(end.unwrap_or(EpochMs::MAX));
        let SpanLimits { baseline, thresholds, first_exceeding_ms, source } = limits;
        // Between two changes of the cohort's pace the limits are constant, so each stretch of
        // the span has the closed form.
        let unstretched = [(span_start, 1.0)];
        let computed;
        let paces: &[(EpochMs, f64)] = if siblings.is_empty() {
            &unstretched
        } else {
            computed = self.cohort_paces(siblings, night, span_start, span_end);
            &computed
        };
        for (index, &(from, stretch)) in paces.iter().enumerate() {
            let until = paces.get(index + 1).map_or(span_end, |&(next, _)| next);
            let stretched = thresholds.stretched(stretch);
            for ((slot, level), unstretched_first) in found.iter_mut().zip(Level::ALL).zip(first_exceeding_ms)
            {
                if alerted.contains(level) {
                    continue;
                }
                let first_exceeding = if stretch == 1.0 {
                    unstretched_first
                } else {
                    stretched.first_exceeding_elapsed_ms(level)
                };
                let earliest = from.max(start.saturating_add(first_exceeding));
                if earliest >= until {
                    continue;
                }
                let at = self.config.interval().first_tick_at_or_after(earliest);
                if at < until {
                    alerted.insert(level);
                    let limit_ms = stretched.limit_ms(level);
                    *slot = Some(Found {
                        level,
                        at,
                        limit_ms,
                        baseline,
                        thresholds,
                        stretched,
                        source,
                        stretch,
                        own_limit,
                        season: self.tasks[run.task as usize].season,
                    });
                }
            }
        }
        found
    }

    fn limits(&mut self, task: u32, night: Day) -> Option<NightLimits> {
        let policy = self.config.policy;
        let detection = self.config.detection;
        let per_run = self.per_run;
        let state = &mut self.tasks[task as usize];
        match state.cached {
            Some((cached_night, limits)) if cached_night == night => limits,
            _ => {
                let window = look_back(state.look_back_days, &policy, night);
                // Nights only move forward, so days before this window are never read again.
                state.daily.drop_before(window.start);
                state.daily.settle(&window);
                let stats = state.daily.window(window, self.config.exclusion, policy.method().outlier_rule());
                let computed_at = policy.night_start(night);
                let limits = match (per_run, state.fixed_limit_ms) {
                    // Each run's own limit starts from the window the type's limit came from.
                    (Some(per_run), None) => {
                        let tailored = policy.tailored_baseline_from(&stats, computed_at);
                        let (baseline, prepared) = tailored.unzip();
                        state.night_window = prepared.map(|prepared| NightWindow {
                            night,
                            own_floor_ms: per_run.own_limit_floor(&prepared),
                            prepared,
                        });
                        baseline
                    }
                    (_, fixed_limit_ms) => {
                        state.night_window = None;
                        policy.baseline_from(&stats, computed_at).map(|baseline| match fixed_limit_ms {
                            Some(upper_ms) => Baseline { upper_ms, ..baseline },
                            None => baseline,
                        })
                    }
                }
                .map(|baseline| NightLimits::new(baseline, &detection));
                if let Some(outlier) = limits.and_then(|l| l.baseline.outlier)
                    && !state.is_season
                    && !state.outliers_kept_out.contains(&outlier.duration_ms)
                {
                    state.outliers_kept_out.push(outlier.duration_ms);
                }
                state.cached = Some((night, limits));
                if let Some(recorded) = self.recorded_baselines.as_mut() {
                    let (task_type, baseline) = (state.name.clone(), limits.map(|l| l.baseline));
                    recorded.push(NightRecord { night, task_type, season: state.season, baseline });
                }
                limits
            }
        }
    }

    fn record(
        &mut self,
        seq: u64,
        task: u32,
        run_id: &RunId,
        start: EpochMs,
        recent: &[u64],
        found: [Option<Found>; 2],
    ) {
        for Found {
            level,
            at,
            limit_ms,
            baseline,
            thresholds,
            stretched,
            source,
            stretch,
            own_limit,
            season,
        } in found.into_iter().flatten()
        {
            let alert = Alert {
                task_type: self.tasks[task as usize].name.clone(),
                run_id: run_id.clone(),
                run_start: start,
                at,
                level,
                elapsed_ms: at - start,
                limit_ms,
                thresholds: stretched,
                limits: EffectiveLimits { thresholds, source, baseline },
                cohort_stretch: stretch,
                recent_ms: if own_limit { recent.to_vec() } else { Vec::new() },
                recent_weight: if own_limit { self.config.recent.weight } else { 0.0 },
                season,
            };
            self.alerts.push(RecordedAlert { seq, task, alert });
        }
    }
}

struct RecordedAlert {
    seq: u64,
    task: u32,
    alert: Alert,
}

/// Replays runs given in any order (they are sorted by start first, keeping input order among
/// equal starts).
/// The days a state's window reads on `night`: a season state's look-back, or the policy's
/// window.
fn look_back(look_back_days: Option<u32>, policy: &BaselinePolicy, night: Day) -> std::ops::Range<Day> {
    match look_back_days {
        Some(days) => night - i64::from(days)..night,
        None => policy.window_buckets(night),
    }
}

pub fn replay_runs(config: ReplayConfig, runs: &[Run]) -> Result<ReplayOutcome, ReplayError> {
    replay_runs_with(Replayer::new(config), runs)
}

/// [`replay_runs`] through a replayer set up beforehand (with fixed limits, say).
pub fn replay_runs_with(mut replayer: Replayer, runs: &[Run]) -> Result<ReplayOutcome, ReplayError> {
    let mut order: Vec<&Run> = runs.iter().collect();
    order.sort_by_key(|run| run.start());
    for run in order {
        replayer.push(run.into())?;
    }
    Ok(replayer.finish())
}
