//! The hindsight reference of a backtest: per task type, the one fixed limit the tailored
//! objective would choose knowing every run of the history, past and future, exactly.
//!
//! No deployed method can have it (it reads the runs it then checks), so it is not a method; it
//! says how far any per-type limit can go on a history, which tells a method that learns badly
//! from a history where durations alone cannot separate slowdowns from healthy runs.

use std::collections::HashMap;

use crate::limits::tailored::tailored_limit_weighted;
use crate::model::{Run, RunStatus, TaskType};
use crate::time::TickInterval;

/// Each task type's tailored limit (ms) over all its succeeded runs, durations taken as exact,
/// for a false page priced at `price` caught slowdowns. Types without a succeeded run get none.
pub fn hindsight_limits(runs: &[Run], price: f64, interval: TickInterval) -> HashMap<TaskType, f64> {
    let mut durations: HashMap<&TaskType, Vec<i64>> = HashMap::new();
    for run in runs {
        if let (RunStatus::Succeeded, Some(end)) = (run.status(), run.end()) {
            durations.entry(run.task_type()).or_default().push(end - run.start());
        }
    }
    let interval_ms = interval.as_ms() as f64;
    durations
        .into_iter()
        .filter_map(|(task_type, mut durations)| {
            durations.sort_unstable();
            let mean = durations.iter().map(|&d| d as f64).sum::<f64>() / durations.len() as f64;
            let distinct = durations.chunk_by(|a, b| a == b).map(|same| (same[0] as f64, same.len() as f64));
            let limit = tailored_limit_weighted(distinct, mean, price, interval_ms, 0.0)?;
            Some((task_type.clone(), limit))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RunId;

    const MINUTE: i64 = 60_000;

    fn run(task: &str, id: usize, start: i64, minutes: i64, status: RunStatus) -> Run {
        let end = start + minutes * MINUTE;
        Run::new(
            TaskType::new(task).unwrap(),
            RunId::new(&format!("r{id}")).unwrap(),
            start,
            Some(end),
            status,
        )
        .unwrap()
    }

    #[test]
    fn each_type_gets_the_exact_tailored_limit_of_all_its_succeeded_runs_and_failed_runs_do_not_count() {
        let minutes = [60, 62, 59, 61, 60, 75, 60, 58];
        let mut runs: Vec<Run> = minutes
            .iter()
            .enumerate()
            .map(|(i, &m)| run("load", i, i as i64 * 1_000 * MINUTE, m, RunStatus::Succeeded))
            .collect();
        runs.push(run("load", 100, 0, 500, RunStatus::Failed));
        runs.push(run("never-ok", 101, 0, 5, RunStatus::Failed));
        let interval = TickInterval::from_seconds(600).unwrap();

        let limits = hindsight_limits(&runs, 5.0, interval);

        let mean = minutes.iter().sum::<i64>() as f64 / minutes.len() as f64 * MINUTE as f64;
        let mut sorted = minutes.map(|m| (m * MINUTE) as f64);
        sorted.sort_by(f64::total_cmp);
        let direct = tailored_limit_weighted(
            sorted.chunk_by(|a, b| a == b).map(|same| (same[0], same.len() as f64)),
            mean,
            5.0,
            600_000.0,
            0.0,
        );
        assert_eq!(limits.get(&TaskType::new("load").unwrap()).copied(), direct);
        assert_eq!(limits.len(), 1, "a type with no succeeded run has no limit");
    }

    #[test]
    fn with_exact_durations_a_steady_type_is_limited_past_its_slowest_run_where_every_slowdown_is_still_seen()
    {
        let runs: Vec<Run> = (0..30)
            .map(|i| run("steady", i, i as i64 * 1_000 * MINUTE, 40 + (i % 3) as i64, RunStatus::Succeeded))
            .collect();
        let limits = hindsight_limits(&runs, 5.0, TickInterval::from_seconds(600).unwrap());
        let limit_min = limits[&TaskType::new("steady").unwrap()] / MINUTE as f64;
        // Healthy runs last 40–42 minutes; the shortest ×1.5 run (60 minutes) is seen by a
        // 10-minute check for every limit up to 50.
        assert!((42.0..=50.0).contains(&limit_min), "limit {limit_min} min");
    }
}
