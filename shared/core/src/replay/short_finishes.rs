//! Too-short finishes: a succeeded run is judged against the baseline in force when it ended,
//! which the engine knows only once that night is final.

use super::Replayer;
use crate::model::RunId;
use crate::short::ShortFinish;
use crate::time::EpochMs;

/// A succeeded run waiting for the night its end falls in.
pub(super) struct PendingShort {
    pub(super) seq: u64,
    pub(super) task: u32,
    pub(super) run_id: RunId,
    pub(super) start: EpochMs,
    pub(super) end: EpochMs,
    /// The night whose baseline is in force when the run ends.
    pub(super) night: i64,
}

impl Replayer {
    /// Reports a succeeded run below its floor, against the baseline in force when it ended.
    pub(super) fn judge_short(&mut self, pending: PendingShort) {
        let Some(limits) = self.limits(pending.task, pending.night) else { return };
        let duration_ms = pending.end.abs_diff(pending.start);
        if let Some(floor_ms) = self.config.short.judge(&limits.baseline, duration_ms) {
            let short = ShortFinish {
                task_type: self.tasks[pending.task as usize].name.clone(),
                run_id: pending.run_id,
                run_start: pending.start,
                at: pending.end,
                duration_ms,
                floor_ms,
                baseline: limits.baseline,
            };
            self.short_finishes.push((pending.seq, short));
        }
    }
}
