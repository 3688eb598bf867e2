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

#[cfg(test)]
mod tests {
    use overrun_core::detect::cohort::FinishedMember;
    use overrun_core::ports::{RunRecorder, RunStarted};
    use overrun_core::{RunId, RunStatus};

    use super::*;
    use crate::memory_store::MemoryStore;
    use crate::test_support::*;

    /// "etl" with a baseline (expected 10 minutes), "load" without, and a cohort whose three
    /// finished "etl" members took twice as long as expected.
    async fn world() -> MemoryStore {
        let store = store();
        set_baseline(&store, "etl", (10 * MINUTE) as f64, MINUTE as f64, (12 * MINUTE) as f64).await;
        for i in 0..3 {
            let member = FinishedMember { task_type: task("etl"), duration_ms: 20 * MINUTE as u64 };
            store
                .add_cohort_member(&cohort("slow"), &run(&format!("m{i}")), &member, T0 + HOUR)
                .await
                .unwrap();
        }
        let member = RunStarted { cohort: Some(cohort("slow")), ..started("etl", "in-cohort", T0) };
        store.record_start(&member).await.unwrap();
        store.record_start(&started("load", "l1", T0)).await.unwrap();
        store
    }

    fn run_ids(situation: &Situation) -> Vec<&str> {
        situation.running.iter().map(|r| r.run_id.as_str()).collect()
    }

    fn failures(problems: &ReadProblems) -> Vec<&str> {
        problems.failures.iter().map(|(what, _)| *what).collect()
    }

    #[tokio::test]
    async fn the_situation_holds_the_running_runs_with_their_cohorts_their_limits_and_their_cohorts_pace() {
        let store = world().await;
        let mut problems = ReadProblems::default();
        let situation = read_situation(&store, &store, &mut problems).await;
        assert!(problems.failures.is_empty() && problems.malformed.is_empty());
        assert_eq!(run_ids(&situation), ["in-cohort", "l1"]);
        assert_eq!(situation.running[0].cohort, Some(cohort("slow")));
        assert!(situation.limits_known);
        assert_eq!(situation.limits.keys().collect::<Vec<_>>(), [&task("etl")], "load has no limits");
        assert_eq!(situation.stretches, HashMap::from([(cohort("slow"), 2.0)]));
    }

    #[tokio::test]
    async fn a_cohort_with_fewer_than_three_finished_members_or_at_its_types_pace_stretches_nothing() {
        let store = store();
        set_baseline(&store, "etl", (10 * MINUTE) as f64, MINUTE as f64, (12 * MINUTE) as f64).await;
        let member =
            |minutes: i64| FinishedMember { task_type: task("etl"), duration_ms: (minutes * MINUTE) as u64 };
        for (i, minutes) in [20, 20].into_iter().enumerate() {
            store
                .add_cohort_member(&cohort("two"), &run(&format!("t{i}")), &member(minutes), T0)
                .await
                .unwrap();
        }
        for (i, minutes) in [8, 9, 10].into_iter().enumerate() {
            store
                .add_cohort_member(&cohort("brisk"), &run(&format!("b{i}")), &member(minutes), T0)
                .await
                .unwrap();
        }
        for (name, group) in [("r1", "two"), ("r2", "brisk")] {
            let event = RunStarted { cohort: Some(cohort(group)), ..started("etl", name, T0) };
            store.record_start(&event).await.unwrap();
        }
        let situation = read_situation(&store, &store, &mut ReadProblems::default()).await;
        assert_eq!(run_ids(&situation), ["r1", "r2"]);
        assert!(situation.stretches.is_empty(), "{:?}", situation.stretches);
    }

    #[tokio::test]
    async fn judging_runs_reads_the_limits_of_their_cohorts_members_types_too() {
        let store = store();
        set_baseline(&store, "compile", (10 * MINUTE) as f64, MINUTE as f64, (12 * MINUTE) as f64).await;
        for i in 0..3 {
            let member = FinishedMember { task_type: task("compile"), duration_ms: 30 * MINUTE as u64 };
            store.add_cohort_member(&cohort("build-1"), &run(&format!("c{i}")), &member, T0).await.unwrap();
        }
        let running = RunningRun {
            task_type: task("package"),
            run_id: run("p1"),
            start: T0,
            alerted: Default::default(),
            undelivered: Vec::new(),
            cohort: Some(cohort("build-1")),
            recent_ms: Vec::new(),
            season_recent_ms: Vec::new(),
        };
        let mut problems = ReadProblems::default();
        let situation = judge_runs(vec![running], &store, &mut problems).await;
        assert!(problems.failures.is_empty());
        assert_eq!(situation.limits.keys().collect::<Vec<_>>(), [&task("compile")]);
        assert_eq!(situation.stretches, HashMap::from([(cohort("build-1"), 3.0)]));
    }

    #[tokio::test]
    async fn a_run_started_after_succeeded_runs_of_its_type_carries_the_latest_of_them_newest_first() {
        let store = MemoryStore::new(policy(), 2);
        for (i, minutes) in [10, 20, 30].into_iter().enumerate() {
            let end = T0 + (i as i64 + 1) * HOUR;
            let event = finished("etl", &format!("e{i}"), end - minutes * MINUTE, end, RunStatus::Succeeded);
            store.record_finish(&event).await.unwrap();
        }
        store.record_start(&started("etl", "next", T0 + 4 * HOUR)).await.unwrap();
        let situation = read_situation(&store, &store, &mut ReadProblems::default()).await;
        assert_eq!(situation.running[0].run_id, RunId::new("next").unwrap());
        assert_eq!(situation.running[0].recent_ms, [30 * MINUTE as u64, 20 * MINUTE as u64]);
    }

    #[tokio::test]
    async fn a_failed_limits_read_leaves_the_runs_listed_and_unjudged_and_says_so() {
        let store = world().await;
        store.fail_next_task_limits(1);
        let mut problems = ReadProblems::default();
        let situation = read_situation(&store, &store, &mut problems).await;
        assert_eq!(failures(&problems), ["cannot read the task types' limits; no run is judged"]);
        assert!(!situation.limits_known);
        assert_eq!(run_ids(&situation), ["in-cohort", "l1"]);
        assert!(situation.limits.is_empty() && situation.stretches.is_empty());
    }

    #[tokio::test]
    async fn a_failed_cohort_read_costs_only_the_stretch() {
        let store = world().await;
        store.fail_next_cohort_members(1);
        let mut problems = ReadProblems::default();
        let situation = read_situation(&store, &store, &mut problems).await;
        assert_eq!(failures(&problems), ["cannot read the cohorts' finished members"]);
        assert!(situation.limits_known && situation.limits.contains_key(&task("etl")));
        assert_eq!(run_ids(&situation), ["in-cohort", "l1"]);
        assert!(situation.stretches.is_empty());
    }

    #[tokio::test]
    async fn a_failed_details_read_keeps_the_runs_without_their_cohorts() {
        let store = world().await;
        store.fail_next_fill_details(1);
        let mut problems = ReadProblems::default();
        let situation = read_situation(&store, &store, &mut problems).await;
        assert_eq!(failures(&problems), ["cannot read the running runs' cohorts and recent runs"]);
        assert_eq!(run_ids(&situation), ["in-cohort", "l1"]);
        assert_eq!(situation.running[0].cohort, None);
        assert!(situation.limits_known && situation.stretches.is_empty());
    }

    #[tokio::test]
    async fn a_failed_running_runs_listing_leaves_no_run_to_judge_and_says_so() {
        let store = world().await;
        store.fail_next_list_running(1);
        let mut problems = ReadProblems::default();
        let situation = read_situation(&store, &store, &mut problems).await;
        assert_eq!(failures(&problems), ["cannot list the running runs"]);
        assert!(situation.running.is_empty() && situation.limits.is_empty());
        assert!(situation.limits_known, "nothing needed the limits");
    }
}
