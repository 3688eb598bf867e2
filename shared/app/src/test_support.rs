//! What the use cases' unit tests share: names, events, a policy, and limits set in the store.

use overrun_core::detect::overrides::Override;
use overrun_core::limits::nightly::{BaselineChange, NightBaseline};
use overrun_core::ports::{BaselineStore, OverrideStore, RunFinished, RunRecorder, RunStarted};
use overrun_core::time::MS_PER_DAY;
use overrun_core::{Baseline, BaselinePolicy, CohortId, EpochMs, Method, RunId, RunStatus, TaskType};

use crate::memory_store::MemoryStore;
use overrun_core::detect::overrides::OverrideParts;

pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = MS_PER_DAY;
/// Midnight UTC starting day 20 000 (2024-10-04): night 20 000 starts then.
pub const T0: EpochMs = 20_000 * MS_PER_DAY;

/// The seed method (limit = mean + 2σ), 14 days, 3 runs enough, nights at 00:00 UTC.
pub fn policy() -> BaselinePolicy {
    BaselinePolicy::new(Method::Seed { k: 2.0 }, 14, 3, 0).unwrap()
}

pub fn store() -> MemoryStore {
    MemoryStore::new(policy(), 0)
}

pub fn task(name: &str) -> TaskType {
    TaskType::new(name).unwrap()
}

pub fn run(name: &str) -> RunId {
    RunId::new(name).unwrap()
}

pub fn cohort(name: &str) -> CohortId {
    CohortId::new(name).unwrap()
}

pub fn started(task_type: &str, run_id: &str, start: EpochMs) -> RunStarted {
    RunStarted { task_type: task(task_type), run_id: run(run_id), numbered: false, start, cohort: None }
}

pub fn finished(
    task_type: &str,
    run_id: &str,
    start: EpochMs,
    end: EpochMs,
    status: RunStatus,
) -> RunFinished {
    RunFinished {
        task_type: task(task_type),
        run_id: run(run_id),
        numbered: false,
        start: Some(start),
        end,
        status,
        cohort: None,
    }
}

/// A run that started at `start` and succeeded at `end`, recorded in `store`.
pub async fn record_succeeded(
    store: &MemoryStore,
    task_type: &str,
    run_id: &str,
    start: EpochMs,
    end: EpochMs,
) {
    store.record_start(&started(task_type, run_id, start)).await.unwrap();
    let recorded =
        store.record_finish(&finished(task_type, run_id, start, end, RunStatus::Succeeded)).await.unwrap();
    assert!(recorded.counted, "{task_type} {run_id} is counted");
}

/// Stores a baseline for `task_type`, as a nightly run would.
pub async fn set_baseline(
    store: &MemoryStore,
    task_type: &str,
    expected_ms: f64,
    sigma_ms: f64,
    upper_ms: f64,
) {
    let baseline = Baseline { n: 10, expected_ms, sigma_ms, upper_ms, computed_at: T0, outlier: None };
    let change =
        BaselineChange::Set(task(task_type), NightBaseline { baseline, window: None, seasons: None });
    store.apply_baseline_changes(&[change], "seed").await.unwrap();
}

pub async fn set_override(store: &MemoryStore, task_type: &str, task_override: Override) {
    store.set_override(&task(task_type), &task_override).await.unwrap();
}

/// An operator's fixed limit.
pub fn fixed_limit(limit_ms: i64) -> Override {
    Override::new(OverrideParts { limit_ms: Some(limit_ms as f64), ..Default::default() }).unwrap()
}
