//! What the running runs are judged by, read from the stores: the runs with their cohorts and
//! recent runs, their types' limits, and their cohorts' pace. The checker judges from it, and
//! `overrun status` shows it, so the two cannot disagree.

use std::collections::{BTreeSet, HashMap};

use overrun_core::detect::check::{RunningRun, TaskLimits};
use overrun_core::detect::cohort;
use overrun_core::ports::{
    CohortMembers, CohortStore, LimitStore, Listing, Partial, RunningRuns, StoreError,
};
use overrun_core::{CohortId, TaskType};

/// The running runs and everything they are judged by.
#[derive(Debug, Default)]
pub struct Situation {
    pub running: Vec<RunningRun>,
    pub limits: HashMap<TaskType, TaskLimits>,
    /// The cohorts whose pace stretches their running members' limits (factor > 1).
    pub stretches: HashMap<CohortId, f64>,
    /// False when the limits could not be read: then no run may be judged (a fallback limit must
    /// not stand in for limits that exist).
    pub limits_known: bool,
}

/// What went wrong while reading: items left out, and reads that failed (each with what it
/// cost).
#[derive(Debug, Default)]
pub struct ReadProblems {
    pub malformed: Vec<StoreError>,
    pub failures: Vec<(&'static str, StoreError)>,
}

impl ReadProblems {
    fn keep<T>(&mut self, partial: Partial<T>) -> T {
        self.malformed.extend(partial.malformed);
        partial.items
    }
}

/// Reads the situation. A failed read leaves out what depends on it: no running runs, no cohort
/// stretch, or no limits (then `limits_known` is false).
pub async fn read_situation<R: RunningRuns, S: LimitStore + CohortStore>(
    runs: &R,
    stats: &S,
    problems: &mut ReadProblems,
) -> Situation {
    let listed = runs.list_running().await.unwrap_or_else(|error| {
        problems.failures.push(("cannot list the running runs", error));
        Listing::default()
    });
    let mut running = problems.keep(listed);
    match runs.fill_details(&mut running).await {
        Ok(malformed) => problems.malformed.extend(malformed),
        Err(error) => {
            problems.failures.push(("cannot read the running runs' cohorts and recent runs", error))
        }
    }
    judge_runs(running, stats, problems).await
}

/// What `running` (runs already read, with their cohorts and recent runs) are judged by: their
/// types' limits, and their cohorts' pace from the cohorts' finished members. The checker reads
/// it for every running run, `overrun explain` for one run.
pub async fn judge_runs<S: LimitStore + CohortStore>(
    running: Vec<RunningRun>,
    stats: &S,
    problems: &mut ReadProblems,
) -> Situation {
    let cohorts: Vec<CohortId> =
        running.iter().filter_map(|r| r.cohort.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let members: CohortMembers = match stats.cohort_members(&cohorts).await {
        Ok(members) => problems.keep(members),
        Err(error) => {
            problems.failures.push(("cannot read the cohorts' finished members", error));
            CohortMembers::default()
        }
    };
    // Limits of the running runs' types and of their cohorts' finished members' types.
    let task_types: Vec<TaskType> = running
        .iter()
        .map(|r| r.task_type.clone())
        .chain(members.values().flatten().map(|m| m.task_type.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let limits = if task_types.is_empty() {
        HashMap::new()
    } else {
        match stats.task_limits(&task_types).await {
            Ok(limits) => problems.keep(limits),
            Err(error) => {
                problems.failures.push(("cannot read the task types' limits; no run is judged", error));
                return Situation { running, ..Situation::default() };
            }
        }
    };
    let stretches: HashMap<CohortId, f64> = members
        .iter()
        .map(|(cohort, finished)| (cohort.clone(), cohort::stretch(finished, &limits)))
        .filter(|&(_, stretch)| stretch > 1.0)
        .collect();
    Situation { running, limits, stretches, limits_known: true }
}
