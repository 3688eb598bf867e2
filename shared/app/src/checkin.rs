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
        .filter(|run| &run.task_type == task_type)
        .max_by(|a, b| (a.start, &a.run_id).cmp(&(b.start, &b.run_id)))
        .map(|run| (run.run_id, run.start)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_store::MemoryStore;
    use overrun_core::ports::{RunRecorder, RunStarted};

    fn start(task: &str, run: &str, at: EpochMs) -> RunStarted {
        RunStarted {
            task_type: TaskType::new(task).unwrap(),
            run_id: RunId::new(run).unwrap(),
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
}
