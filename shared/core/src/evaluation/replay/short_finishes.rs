//! Too-short finishes: a succeeded run is judged against the baseline in force when it ended,
//! which the engine knows only once that night is final.

use super::Replayer;
use crate::detect::short::ShortFinish;
use crate::model::RunId;
use crate::time::{Day, EpochMs};

/// A succeeded run to judge against the night its end falls in.
#[derive(Debug, Clone, Copy)]
pub(super) struct ShortCandidate {
    pub(super) seq: u64,
    pub(super) task: u32,
    pub(super) start: EpochMs,
    pub(super) end: EpochMs,
    /// The night whose baseline is in force when the run ends.
    pub(super) night: Day,
}

/// A succeeded run waiting for that night to be final.
pub(super) struct PendingShort {
    pub(super) candidate: ShortCandidate,
    pub(super) run_id: RunId,
}

impl Replayer {
    /// Records the candidate's too-short notice if it finished too soon. Its run id is made only
    /// then: nearly every run is not too short, and this runs for every succeeded run replayed.
    pub(super) fn judge_short<E>(
        &mut self,
        candidate: ShortCandidate,
        run_id: impl FnOnce() -> Result<RunId, E>,
    ) -> Result<(), E> {
        let judged = self.judged(candidate.task, candidate.start, candidate.night);
        let Some(limits) = self.limits(judged, candidate.night) else { return Ok(()) };
        let duration_ms = candidate.end.abs_diff(candidate.start);
        if let Some(floor_ms) = self.config.short.judge(&limits.baseline, duration_ms) {
            let short = ShortFinish {
                task_type: self.tasks[candidate.task as usize].name.clone(),
                run_id: run_id()?,
                run_start: candidate.start,
                at: candidate.end,
                duration_ms,
                floor_ms,
                baseline: limits.baseline,
                season: self.tasks[judged as usize].season,
            };
            self.short_finishes.push((candidate.seq, short));
            self.summary.short_by_season += u64::from(judged != candidate.task);
        }
        Ok(())
    }
}
