//! The runs table and the stats table in memory, with the conditions of their DynamoDB adapters:
//! a run counted for its day once, its recent runs fixed when it starts, the first finish
//! standing, alerts claimed only while a run runs, warned runs told apart in the roll-up. With
//! [`MemoryStore`] the use cases run end to end in memory: the equivalence test drives ingest,
//! the nightly roll-up and the checker through it over a real trace, against the replay. Its
//! operations fail on demand (`fail_next_…`), as its outbox's do, for the use cases' fault tests.

use overrun_core::time::Day;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use overrun_core::detect::check::{RunningRun, TaskLimits};
use overrun_core::detect::cohort::FinishedMember;
use overrun_core::detect::levels::Level;
use overrun_core::detect::overrides::Override;
use overrun_core::limits::nightly::{BaselineChange, DayAggregate, DayStatus, FinishedRun, NightBaseline};
use overrun_core::limits::season::{Season, SeasonRule};
use overrun_core::notify::delivery::{DeliveryState, Lease, MessageKey};
use overrun_core::notify::message::Resolution;
use overrun_core::ports::{
    BaselineStore, ClaimKind, Claimed, CohortMembers, CohortStore, DayStore, FinishedRuns, LimitStore,
    Listing, MissedIncident, Outbox, OverrideStore, Partial, PendingResolution, Recorded, RunFinished,
    RunRecorder, RunStarted, RunningRuns, ScheduleStore, StoreError,
};
use overrun_core::recording::{self, Counted, RunRecord, StartEffect};
use overrun_core::schedule::watched::Declaration;
use overrun_core::schedule::{Schedule, ScheduleChange};
use overrun_core::time::MS_PER_DAY;
use overrun_core::{Attempt, BaselinePolicy, CohortId, EpochMs, RunId, RunStatus, TaskType};

use crate::memory::{MemoryOutbox, fire, injected};

type RunKey = (TaskType, RunId);

/// Counted runs by (end, duration), with how many of each.
type CountedRuns = BTreeMap<(EpochMs, u64), u32>;

#[derive(Debug, Clone, Default)]
struct StoredRun {
    start: Option<EpochMs>,
    end: Option<EpochMs>,
    status: Option<RunStatus>,
    cohort: Option<CohortId>,
    recent_ms: Option<Vec<u64>>,
    season_recent_ms: Option<Vec<u64>>,
    /// The day it was counted for, and whether it had been warned about.
    counted: Option<(Day, bool)>,
    resolution_flagged: bool,
}

#[derive(Debug, Default)]
struct Tables {
    runs: HashMap<RunKey, StoredRun>,
    /// Runs started and not finished.
    running: BTreeSet<RunKey>,
    /// Runs flagged for their "resolved".
    flagged: BTreeSet<RunKey>,
    /// Per task type, (end, duration) of its counted runs, with how many share them.
    /// Counted runs by (end, duration), of each type and, with seasons, of each type's season.
    succeeded: HashMap<(TaskType, Option<Season>), CountedRuns>,
    finished_per_day: BTreeMap<Day, u64>,
    rolled_up: BTreeMap<Day, (u64, BTreeMap<TaskType, DayAggregate>)>,
    baselines: BTreeMap<TaskType, NightBaseline>,
    overrides: HashMap<TaskType, Override>,
    cohorts: HashMap<CohortId, BTreeMap<RunId, FinishedMember>>,
    /// Every start recorded, by UTC date and task type, for the schedule learner.
    starts: BTreeMap<(i64, TaskType), BTreeSet<EpochMs>>,
    schedules: BTreeMap<TaskType, Schedule>,
    declared: BTreeMap<TaskType, Declaration>,
}

/// Faults on demand: each counter is how many of the next calls of its operation fail, with
/// nothing written or read.
#[derive(Debug, Default)]
struct StoreFaults {
    record_start: usize,
    record_finish: usize,
    list_running: usize,
    fill_details: usize,
    list_pending_resolutions: usize,
    write_day: usize,
    apply_baseline_changes: usize,
    task_limits: usize,
    add_cohort_member: usize,
    cohort_members: usize,
}

/// Runs, stats and claims in one place (the DynamoDB adapters keep claims on the run items).
#[derive(Debug)]
pub struct MemoryStore {
    policy: BaselinePolicy,
    recent_runs: usize,
    seasons: Option<SeasonRule>,
    outbox: MemoryOutbox,
    tables: Mutex<Tables>,
    faults: Mutex<StoreFaults>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl MemoryStore {
    /// Days by `policy`; starts record their type's latest `recent_runs` durations (0: none).
    pub fn new(policy: BaselinePolicy, recent_runs: usize) -> Self {
        Self {
            policy,
            recent_runs,
            seasons: None,
            outbox: MemoryOutbox::default(),
            tables: Mutex::default(),
            faults: Mutex::default(),
        }
    }

    /// Starts also record their season's recent runs, weekends by `seasons`, as the DynamoDB
    /// adapter does with seasons on.
    pub fn with_seasons(mut self, seasons: SeasonRule) -> Self {
        self.seasons = Some(seasons);
        self
    }

    /// The claims, to read where a message stands and to inject the outbox's faults
    /// ([`MemoryOutbox::crash_after_claim`], [`MemoryOutbox::fail_marks`], …).
    pub fn outbox(&self) -> &MemoryOutbox {
        &self.outbox
    }

    /// The next `n` starts fail, unrecorded.
    pub fn fail_next_record_start(&self, n: usize) {
        lock(&self.faults).record_start = n;
    }
    /// The next `n` finishes fail, unrecorded.
    pub fn fail_next_record_finish(&self, n: usize) {
        lock(&self.faults).record_finish = n;
    }
    pub fn fail_next_list_running(&self, n: usize) {
        lock(&self.faults).list_running = n;
    }
    pub fn fail_next_fill_details(&self, n: usize) {
        lock(&self.faults).fill_details = n;
    }
    pub fn fail_next_list_pending_resolutions(&self, n: usize) {
        lock(&self.faults).list_pending_resolutions = n;
    }
    /// The next `n` day roll-ups fail, unwritten.
    pub fn fail_next_write_day(&self, n: usize) {
        lock(&self.faults).write_day = n;
    }
    /// The next `n` baseline writes fail, none of their changes applied.
    pub fn fail_next_apply_baseline_changes(&self, n: usize) {
        lock(&self.faults).apply_baseline_changes = n;
    }
    pub fn fail_next_task_limits(&self, n: usize) {
        lock(&self.faults).task_limits = n;
    }
    /// The next `n` cohort member writes fail, unwritten.
    pub fn fail_next_add_cohort_member(&self, n: usize) {
        lock(&self.faults).add_cohort_member = n;
    }
    pub fn fail_next_cohort_members(&self, n: usize) {
        lock(&self.faults).cohort_members = n;
    }

    /// Fails with an injected fault when the counter `which` says this call of `operation` does.
    fn fault(
        &self,
        which: fn(&mut StoreFaults) -> &mut usize,
        operation: &'static str,
    ) -> Result<(), StoreError> {
        if fire(which(&mut lock(&self.faults))) { Err(injected(operation)) } else { Ok(()) }
    }

    /// The baselines the last nightly run left.
    pub fn baselines(&self) -> BTreeMap<TaskType, NightBaseline> {
        lock(&self.tables).baselines.clone()
    }

    fn claim_state(&self, task_type: &TaskType, run_id: &RunId, level: Level) -> DeliveryState {
        self.outbox.state(&MessageKey::Alert { task_type: task_type.clone(), run_id: run_id.clone(), level })
    }

    fn alerted(&self, task_type: &TaskType, run_id: &RunId) -> bool {
        Level::ALL
            .into_iter()
            .any(|level| self.claim_state(task_type, run_id, level) != DeliveryState::Unclaimed)
    }

    /// The latest `recent_runs` counted durations of `task_type` that ended before `start`: the
    /// latest by end, then the longest.
    /// With `season`, of the runs that started in it.
    fn recent_durations(
        &self,
        tables: &Tables,
        task_type: &TaskType,
        season: Option<Season>,
        start: EpochMs,
    ) -> Vec<u64> {
        let Some(succeeded) = tables.succeeded.get(&(task_type.clone(), season)) else { return Vec::new() };
        succeeded
            .range(..(start, 0))
            .rev()
            .flat_map(|(&(_, duration), &count)| std::iter::repeat_n(duration, count as usize))
            .take(self.recent_runs)
            .collect()
    }

    /// What the recording rule reads of a stored run (its claims are in the outbox).
    fn record(&self, key: &RunKey, run: &StoredRun) -> RunRecord {
        let state = |level| self.claim_state(&key.0, &key.1, level);
        let resolved = MessageKey::Resolved { task_type: key.0.clone(), run_id: key.1.clone() };
        RunRecord {
            start: run.start,
            end: run.end,
            status: run.status,
            counted: run.counted.is_some(),
            warned: state(Level::Warning) != DeliveryState::Unclaimed,
            alerted: self.alerted(&key.0, &key.1),
            resolved: self.outbox.state(&resolved) == DeliveryState::Delivered,
        }
    }

    /// After a write: applies what the recording rule says the run owes (its day's count, its
    /// "resolved"), as the DynamoDB adapter does.
    fn settle(&self, tables: &mut Tables, key: &RunKey) -> Recorded {
        let Some(run) = tables.runs.get(key) else { return Recorded::default() };
        let settlement = recording::settle(&self.record(key, run));
        let mut recorded = Recorded { completed: settlement.completed, ..Recorded::default() };
        if let (Some(Counted { end, warned }), Some((start, _))) = (settlement.count, settlement.completed) {
            let day = self.policy.bucket_of_end(end);
            if let Some(run) = tables.runs.get_mut(key) {
                run.counted = Some((day, warned));
            }
            *tables.finished_per_day.entry(day).or_default() += 1;
            let season = self.seasons.map(|rule| rule.season_of(start));
            for season in [None, season].into_iter().collect::<BTreeSet<_>>() {
                *tables
                    .succeeded
                    .entry((key.0.clone(), season))
                    .or_default()
                    .entry((end, end.abs_diff(start)))
                    .or_default() += 1;
            }
            recorded.counted = true;
        }
        if settlement.flag_resolution {
            if let Some(run) = tables.runs.get_mut(key) {
                run.resolution_flagged = true;
            }
            recorded.resolution_pending = true;
            tables.flagged.insert(key.clone());
        }
        recorded
    }
}

impl ScheduleStore for MemoryStore {
    async fn starts_on(&self, dates: &[i64]) -> Result<Listing<(TaskType, Vec<EpochMs>)>, StoreError> {
        let tables = lock(&self.tables);
        let mut by_type: BTreeMap<TaskType, Vec<EpochMs>> = BTreeMap::new();
        for ((date, task_type), starts) in &tables.starts {
            if dates.contains(date) {
                by_type.entry(task_type.clone()).or_default().extend(starts);
            }
        }
        Ok(Listing { items: by_type.into_iter().collect(), malformed: Vec::new() })
    }

    async fn starts_of(
        &self,
        task_types: &[TaskType],
        dates: &[i64],
    ) -> Result<Partial<HashMap<TaskType, Vec<EpochMs>>>, StoreError> {
        let tables = lock(&self.tables);
        let mut by_type: HashMap<TaskType, Vec<EpochMs>> = HashMap::new();
        for ((date, task_type), starts) in &tables.starts {
            if dates.contains(date) && task_types.contains(task_type) {
                by_type.entry(task_type.clone()).or_default().extend(starts);
            }
        }
        Ok(Partial { items: by_type, malformed: Vec::new() })
    }

    async fn stored_schedules(&self) -> Result<Listing<(TaskType, Schedule)>, StoreError> {
        let tables = lock(&self.tables);
        Ok(Listing { items: tables.schedules.clone().into_iter().collect(), malformed: Vec::new() })
    }

    async fn declared_schedules(&self) -> Result<Listing<(TaskType, Declaration)>, StoreError> {
        let tables = lock(&self.tables);
        Ok(Listing { items: tables.declared.clone().into_iter().collect(), malformed: Vec::new() })
    }

    async fn declare_schedule(
        &self,
        task_type: &TaskType,
        declaration: Option<&Declaration>,
    ) -> Result<(), StoreError> {
        let mut tables = lock(&self.tables);
        match declaration {
            Some(declaration) => tables.declared.insert(task_type.clone(), declaration.clone()),
            None => tables.declared.remove(task_type),
        };
        Ok(())
    }

    async fn apply_schedule_changes(&self, changes: &[ScheduleChange]) -> Result<(), StoreError> {
        let mut tables = lock(&self.tables);
        for change in changes {
            match change {
                ScheduleChange::Set(task_type, schedule) => {
                    tables.schedules.insert(task_type.clone(), schedule.clone());
                }
                ScheduleChange::Remove(task_type) => {
                    tables.schedules.remove(task_type);
                }
            }
        }
        Ok(())
    }
}

impl MemoryStore {
    /// Every stored attempt of `task_type`'s run id `run_id` (whatever attempt it names).
    fn attempts(&self, tables: &Tables, task_type: &TaskType, run_id: &RunId) -> Vec<(Attempt, RunRecord)> {
        tables
            .runs
            .iter()
            .filter(|((task, id), _)| task == task_type && id.same_id(run_id))
            .map(|(key, run)| (key.1.attempt(), self.record(key, run)))
            .collect()
    }
}

impl RunRecorder for MemoryStore {
    async fn record_start(&self, event: &RunStarted) -> Result<Recorded, StoreError> {
        self.fault(|f| &mut f.record_start, "record start")?;
        let mut tables = lock(&self.tables);
        let attempt = if event.numbered {
            event.run_id.attempt()
        } else {
            match recording::place_start(
                &self.attempts(&tables, &event.task_type, &event.run_id),
                event.start,
            ) {
                Ok(placement) => placement.attempt(),
                Err(refusal) => return Ok(Recorded { refused: Some(refusal), ..Recorded::default() }),
            }
        };
        let key = (event.task_type.clone(), event.run_id.clone().at_attempt(attempt));
        let date = event.start.div_euclid(MS_PER_DAY);
        tables.starts.entry((date, event.task_type.clone())).or_default().insert(event.start);
        let recent = self.recent_durations(&tables, &event.task_type, None, event.start);
        let season_recent = match self.seasons {
            Some(rule) => {
                let season = Some(rule.season_of(event.start));
                self.recent_durations(&tables, &event.task_type, season, event.start)
            }
            None => Vec::new(),
        };
        let run = tables.runs.entry(key.clone()).or_default();
        run.start.get_or_insert(event.start);
        let record = self.record(&key, run);
        if recording::start(&record) == StartEffect::AfterFinish {
            let mut recorded = self.settle(&mut tables, &key);
            recorded.late_start = true;
            recorded.attempt = attempt;
            return Ok(recorded);
        }
        if event.cohort.is_some() {
            run.cohort = event.cohort.clone();
        }
        if !recent.is_empty() && run.recent_ms.is_none() {
            run.recent_ms = Some(recent);
        }
        if !season_recent.is_empty() && run.season_recent_ms.is_none() {
            run.season_recent_ms = Some(season_recent);
        }
        tables.running.insert(key);
        Ok(Recorded { attempt, ..Recorded::default() })
    }

    async fn record_finish(&self, event: &RunFinished) -> Result<Recorded, StoreError> {
        self.fault(|f| &mut f.record_finish, "record finish")?;
        let mut tables = lock(&self.tables);
        let attempt = if event.numbered {
            event.run_id.attempt()
        } else {
            let attempts = self.attempts(&tables, &event.task_type, &event.run_id);
            recording::place_finish(&attempts, event.start, event.end, event.status).attempt()
        };
        let key = (event.task_type.clone(), event.run_id.clone().at_attempt(attempt));
        let record = tables.runs.get(&key).map(|run| self.record(&key, run)).unwrap_or_default();
        if let Err(conflict) = recording::finish(&record, event.end, event.status) {
            return Ok(Recorded { attempt, conflict: Some(conflict), ..Recorded::default() });
        }
        let run = tables.runs.entry(key.clone()).or_default();
        run.end = Some(event.end);
        run.status = Some(event.status);
        let first_start = event.start.filter(|_| run.start.is_none());
        if let Some(start) = first_start {
            run.start = Some(start);
        }
        if event.cohort.is_some() {
            run.cohort = event.cohort.clone();
        }
        tables.running.remove(&key);
        if let Some(start) = first_start {
            // The run's first start: noted for the learner, as a start event notes it.
            let date = start.div_euclid(MS_PER_DAY);
            tables.starts.entry((date, event.task_type.clone())).or_default().insert(start);
        }
        Ok(Recorded { attempt, ..self.settle(&mut tables, &key) })
    }
}

impl RunningRuns for MemoryStore {
    async fn list_running(&self) -> Result<Listing<RunningRun>, StoreError> {
        self.fault(|f| &mut f.list_running, "list running")?;
        let tables = lock(&self.tables);
        let mut listing = Listing::default();
        for key in &tables.running {
            let Some(start) = tables.runs.get(key).and_then(|run| run.start) else { continue };
            let mut run = RunningRun {
                task_type: key.0.clone(),
                run_id: key.1.clone(),
                start,
                alerted: Default::default(),
                undelivered: Vec::new(),
                cohort: None,
                recent_ms: Vec::new(),
                season_recent_ms: Vec::new(),
            };
            for level in Level::ALL {
                recording::note_alert_claim(&mut run, level, self.claim_state(&key.0, &key.1, level));
            }
            listing.items.push(run);
        }
        Ok(listing)
    }

    async fn fill_details(&self, runs: &mut [RunningRun]) -> Result<Vec<StoreError>, StoreError> {
        self.fault(|f| &mut f.fill_details, "fill details")?;
        let tables = lock(&self.tables);
        for run in runs {
            if let Some(record) = tables.runs.get(&(run.task_type.clone(), run.run_id.clone())) {
                run.cohort = record.cohort.clone();
                run.recent_ms = record.recent_ms.clone().unwrap_or_default();
                run.season_recent_ms = record.season_recent_ms.clone().unwrap_or_default();
            }
        }
        Ok(Vec::new())
    }

    async fn list_pending_resolutions(&self) -> Result<Listing<PendingResolution>, StoreError> {
        self.fault(|f| &mut f.list_pending_resolutions, "list pending resolutions")?;
        let tables = lock(&self.tables);
        let mut listing = Listing::default();
        for key @ (task_type, run_id) in &tables.flagged {
            let Some(run) = tables.runs.get(key) else { continue };
            let resolved_key = MessageKey::Resolved { task_type: task_type.clone(), run_id: run_id.clone() };
            let resolved = self.outbox.state(&resolved_key);
            let (true, Some(start), Some(end), Some(status)) =
                (run.resolution_flagged, run.start, run.end, run.status)
            else {
                continue;
            };
            if resolved == DeliveryState::Delivered {
                continue;
            }
            listing.items.push(PendingResolution {
                resolution: Resolution {
                    task_type: task_type.clone(),
                    run_id: run_id.clone(),
                    start,
                    end,
                    status,
                },
                alerts: Level::ALL.map(|level| (level, self.claim_state(task_type, run_id, level))).to_vec(),
                resolved,
            });
        }
        listing.items.sort_by(|a, b| {
            (&a.resolution.task_type, &a.resolution.run_id)
                .cmp(&(&b.resolution.task_type, &b.resolution.run_id))
        });
        Ok(listing)
    }
}

impl FinishedRuns for MemoryStore {
    async fn finished_runs_of_day(&self, day: Day) -> Result<Listing<FinishedRun>, StoreError> {
        let tables = lock(&self.tables);
        let mut listing = Listing::default();
        for ((task_type, _), run) in &tables.runs {
            if let (Some((counted_day, warned)), Some(start), Some(end)) = (run.counted, run.start, run.end)
                && counted_day == day
            {
                listing.items.push(FinishedRun {
                    task_type: task_type.clone(),
                    start,
                    duration_ms: end.abs_diff(start),
                    warned,
                });
            }
        }
        Ok(listing)
    }
}

impl DayStore for MemoryStore {
    async fn day_statuses(&self, days: &[Day]) -> Result<Vec<DayStatus>, StoreError> {
        let tables = lock(&self.tables);
        Ok(days
            .iter()
            .map(|&day| DayStatus {
                day,
                finished: tables.finished_per_day.get(&day).copied().unwrap_or(0),
                rolled_up: tables.rolled_up.get(&day).map(|(included, _)| *included),
            })
            .collect())
    }

    async fn write_day(
        &self,
        day: Day,
        aggregates: &BTreeMap<TaskType, DayAggregate>,
        runs_included: u64,
    ) -> Result<(), StoreError> {
        self.fault(|f| &mut f.write_day, "write day")?;
        lock(&self.tables).rolled_up.insert(day, (runs_included, aggregates.clone()));
        Ok(())
    }

    async fn read_day(&self, day: Day) -> Result<Listing<(TaskType, DayAggregate)>, StoreError> {
        let tables = lock(&self.tables);
        let items = tables
            .rolled_up
            .get(&day)
            .map(|(_, days)| days.clone().into_iter().collect())
            .unwrap_or_default();
        Ok(Listing { items, malformed: Vec::new() })
    }
}

impl BaselineStore for MemoryStore {
    async fn stored_baselines(&self) -> Result<Listing<(TaskType, NightBaseline)>, StoreError> {
        Ok(Listing { items: self.baselines().into_iter().collect(), malformed: Vec::new() })
    }

    async fn apply_baseline_changes(
        &self,
        changes: &[BaselineChange],
        _method: &str,
    ) -> Result<(), StoreError> {
        self.fault(|f| &mut f.apply_baseline_changes, "apply baseline changes")?;
        let mut tables = lock(&self.tables);
        for change in changes {
            match change {
                BaselineChange::Set(task_type, baseline) => {
                    tables.baselines.insert(task_type.clone(), baseline.clone());
                }
                BaselineChange::Remove(task_type) => {
                    tables.baselines.remove(task_type);
                }
            }
        }
        Ok(())
    }
}

impl LimitStore for MemoryStore {
    async fn task_limits(
        &self,
        task_types: &[TaskType],
    ) -> Result<Partial<HashMap<TaskType, TaskLimits>>, StoreError> {
        self.fault(|f| &mut f.task_limits, "task limits")?;
        let tables = lock(&self.tables);
        let limits = task_types
            .iter()
            .filter_map(|task_type| {
                let night = tables.baselines.get(task_type);
                let task_override = tables.overrides.get(task_type).copied();
                (night.is_some() || task_override.is_some()).then(|| {
                    let limits = TaskLimits {
                        baseline: night.map(|n| n.baseline),
                        task_override,
                        window: night.and_then(|n| n.window.clone()),
                        seasons: night.and_then(|n| n.seasons.clone()),
                    };
                    (task_type.clone(), limits)
                })
            })
            .collect();
        Ok(Partial { items: limits, malformed: Vec::new() })
    }
}

impl OverrideStore for MemoryStore {
    async fn set_override(&self, task_type: &TaskType, task_override: &Override) -> Result<(), StoreError> {
        lock(&self.tables).overrides.insert(task_type.clone(), *task_override);
        Ok(())
    }
}

impl CohortStore for MemoryStore {
    async fn add_cohort_member(
        &self,
        cohort: &CohortId,
        run_id: &RunId,
        member: &FinishedMember,
        _expires_at_ms: EpochMs,
    ) -> Result<(), StoreError> {
        self.fault(|f| &mut f.add_cohort_member, "add cohort member")?;
        lock(&self.tables).cohorts.entry(cohort.clone()).or_default().insert(run_id.clone(), member.clone());
        Ok(())
    }

    async fn cohort_members(&self, cohorts: &[CohortId]) -> Result<Partial<CohortMembers>, StoreError> {
        self.fault(|f| &mut f.cohort_members, "cohort members")?;
        let tables = lock(&self.tables);
        let members = cohorts
            .iter()
            .filter_map(|cohort| {
                let finished = tables.cohorts.get(cohort).filter(|members| !members.is_empty())?;
                Some((cohort.clone(), finished.values().cloned().collect()))
            })
            .collect();
        Ok(Partial { items: members, malformed: Vec::new() })
    }
}

impl Outbox for MemoryStore {
    async fn claim(
        &self,
        key: &MessageKey,
        lease: &Lease,
        how: ClaimKind<'_>,
    ) -> Result<Claimed, StoreError> {
        // Whether a first claim is due depends on the run (the DynamoDB adapter's conditions).
        let due = match key {
            MessageKey::Alert { task_type, run_id, .. } | MessageKey::Resolved { task_type, run_id } => {
                let tables = lock(&self.tables);
                let run_key = (task_type.clone(), run_id.clone());
                let run = tables.runs.get(&run_key);
                let record = run.map(|run| self.record(&run_key, run));
                let flagged = run.is_some_and(|run| run.resolution_flagged);
                recording::first_claim_due(key.kind(), record.as_ref(), flagged)
            }
            MessageKey::TooShort { .. } => recording::first_claim_due(key.kind(), None, false),
            MessageKey::Missed { .. } | MessageKey::Resumed { .. } => self.outbox.incident_claim_due(key),
        };
        self.outbox.claim_if_due(key, lease, how, due).await
    }

    async fn mark_delivered(&self, key: &MessageKey, now: EpochMs) -> Result<(), StoreError> {
        self.outbox.mark_delivered(key, now).await
    }

    async fn release(&self, key: &MessageKey, owner: &str) -> Result<(), StoreError> {
        self.outbox.release(key, owner).await
    }

    async fn missed_incidents(&self) -> Result<Listing<MissedIncident>, StoreError> {
        self.outbox.missed_incidents().await
    }

    async fn undelivered_notices(&self, days: &[Day]) -> Result<Listing<(MessageKey, Lease)>, StoreError> {
        self.outbox.undelivered_notices(days).await
    }
}
