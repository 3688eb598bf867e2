//! Which run a check-in without a run id closes: its task's newest run still open.

use overrun_core::ports::{RunningRuns, StoreError};
use overrun_core::{EpochMs, RunId, TaskType};

/// The newest running run of `task_type`, with its start; `None` when none is open. Malformed
/// running items are left out here (the checker reports them): a check-in closes only a run it
/// can read.
pub async fn newest_open_run(
    task_type: &TaskType,
    runs: &impl RunningRuns,
) -> Result<Option<(RunId, EpochMs)>, StoreError> {
    let listing = runs.list_running().await?;
    Ok(listing
        .items
        .into_iter()
        // A check-in is never another account's run, even of a type named alike.
        .filter(|run| &run.task_type == task_type && run.run_id.origin().is_none())
        .max_by(|a, b| (a.start, &a.run_id).cmp(&(b.start, &b.run_id)))
        .map(|run| (run.run_id, run.start)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_store::MemoryStore;
    use overrun_core::RunStatus;
    use overrun_core::ports::{RunFinished, RunRecorder, RunStarted};

    fn start(task: &str, run: &str, at: EpochMs) -> RunStarted {
        RunStarted {
            task_type: TaskType::new(task).unwrap(),
            run_id: RunId::new(run).unwrap(),
            numbered: false,
            start: at,
            cohort: None,
        }
    }

    #[tokio::test]
    async fn a_check_in_closes_the_newest_open_run_of_its_own_task() {
        let store = MemoryStore::new(overrun_core::BaselinePolicy::default(), 0);
        let backup = TaskType::new("backup").unwrap();
        assert_eq!(newest_open_run(&backup, &store).await.unwrap(), None);
        for event in [start("backup", "a", 1_000), start("backup", "b", 3_000), start("report", "c", 9_000)] {
            store.record_start(&event).await.unwrap();
        }
        assert_eq!(newest_open_run(&backup, &store).await.unwrap(), Some((RunId::new("b").unwrap(), 3_000)));
    }

    #[tokio::test]
    async fn a_finished_run_is_no_longer_closed_by_a_check_in_nor_one_whose_finish_came_first() {
        let store = MemoryStore::new(overrun_core::BaselinePolicy::default(), 0);
        let backup = TaskType::new("backup").unwrap();
        for event in [start("backup", "a", 1_000), start("backup", "b", 3_000)] {
            store.record_start(&event).await.unwrap();
        }
        let finish = |run: &str, start: EpochMs, end: EpochMs| RunFinished {
            task_type: backup.clone(),
            run_id: RunId::new(run).unwrap(),
            numbered: false,
            start: Some(start),
            end,
            status: RunStatus::Succeeded,
            cohort: None,
        };
        store.record_finish(&finish("b", 3_000, 4_000)).await.unwrap();
        assert_eq!(newest_open_run(&backup, &store).await.unwrap(), Some((RunId::new("a").unwrap(), 1_000)));
        store.record_finish(&finish("c", 5_000, 6_000)).await.unwrap();
        store.record_start(&start("backup", "c", 5_000)).await.unwrap();
        assert_eq!(
            newest_open_run(&backup, &store).await.unwrap(),
            Some((RunId::new("a").unwrap(), 1_000)),
            "c's start came after its finish"
        );
    }

    #[tokio::test]
    async fn of_runs_started_at_the_same_moment_the_check_in_closes_the_greatest_run_id() {
        let store = MemoryStore::new(overrun_core::BaselinePolicy::default(), 0);
        for run in ["m", "z", "a"] {
            store.record_start(&start("backup", run, 2_000)).await.unwrap();
        }
        let backup = TaskType::new("backup").unwrap();
        assert_eq!(newest_open_run(&backup, &store).await.unwrap(), Some((RunId::new("z").unwrap(), 2_000)));
    }

    #[tokio::test]
    async fn a_failed_listing_of_the_running_runs_is_an_error_not_taken_for_no_open_run() {
        let store = MemoryStore::new(overrun_core::BaselinePolicy::default(), 0);
        store.record_start(&start("backup", "a", 1_000)).await.unwrap();
        store.fail_next_list_running(1);
        let backup = TaskType::new("backup").unwrap();
        assert!(newest_open_run(&backup, &store).await.is_err());
        assert_eq!(newest_open_run(&backup, &store).await.unwrap(), Some((RunId::new("a").unwrap(), 1_000)));
    }
}
