//! What a replay found: the alerts, in time order, and the summary that counts them.

use crate::detect::short::ShortFinish;
use crate::limits::baseline::Baseline;
use crate::limits::season::Season;
use crate::model::TaskType;
use crate::time::{Day, EpochMs, MS_PER_DAY};

pub use crate::detect::check::Alert;
use crate::evaluation::replay::missed_starts::{MissedEvent, MissedSummary};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskAlertCount {
    pub task_type: Option<TaskType>,
    pub runs: u64,
    pub warnings: u64,
    pub criticals: u64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplaySummary {
    pub runs: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub aborted: u64,
    pub running: u64,
    pub task_types: usize,
    pub first_start: Option<EpochMs>,
    /// The latest time in the history; runs with no end are taken as running until then.
    pub horizon: Option<EpochMs>,
    pub warnings: u64,
    pub criticals: u64,
    /// Too-short notices: the first succeeded run of each task type and day that finished too
    /// soon (informational).
    pub short_finishes: u64,
    /// Too-short runs of a type and day that already had its notice: counted, not sent.
    pub short_repeats: u64,
    /// Task types with at least one alert, most alerts first.
    pub noisiest: Vec<TaskAlertCount>,
    /// Runs that started before their type had a baseline (too few succeeded runs in the
    /// window), judged by the fallback limit, and their types.
    pub runs_by_fallback: u64,
    pub types_by_fallback: usize,
    /// The same without a fallback limit: not judged at all until their type has a baseline.
    pub runs_unjudged: u64,
    pub types_unjudged: usize,
    /// Lone outliers the baselines the replay computed kept out of their windows (each run once),
    /// and their task types.
    pub outliers_kept_out: u64,
    pub types_with_outliers: usize,
    /// With seasons: the task types judged by season on at least one night, and on how many
    /// (type, night) pairs.
    pub seasonal_types: usize,
    pub seasonal_nights: u64,
    /// Too-short finishes judged by their season's limits (before one notice per type and day).
    pub short_by_season: u64,
    /// Missed starts: the types the learner found scheduled, and the messages sent.
    pub missed: MissedSummary,
}

impl ReplaySummary {
    pub fn days_covered(&self) -> f64 {
        match (self.first_start, self.horizon) {
            (Some(first), Some(last)) => (last - first) as f64 / MS_PER_DAY as f64,
            _ => 0.0,
        }
    }

    pub fn alerts(&self) -> u64 {
        self.warnings + self.criticals
    }

    pub fn alerts_per_day(&self) -> f64 {
        let days = self.days_covered();
        if days > 0.0 { self.alerts() as f64 / days } else { self.alerts() as f64 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReplayOutcome {
    /// In time order; ties by input order, then warning before critical.
    pub alerts: Vec<Alert>,
    /// The too-short notices, one per task type and day at most, in time order (of their end),
    /// ties by input order.
    pub short_finishes: Vec<ShortFinish>,
    pub summary: ReplaySummary,
    /// With [`super::Replayer::recording_baselines`]: every baseline the replay computed, by night
    /// and task type (`None`: too few runs), in the order computed; empty otherwise.
    pub baselines: Vec<NightRecord>,
    /// Missed starts and their "resolved", in time order (ties by task type).
    pub missed: Vec<MissedEvent>,
}

/// One task type's baseline at one night, as the replay computed it.
#[derive(Debug, Clone, PartialEq)]
pub struct NightRecord {
    pub night: Day,
    pub task_type: TaskType,
    /// The season whose runs it came from, on a night its type was judged by season; `None`:
    /// all its type's runs.
    pub season: Option<Season>,
    pub baseline: Option<Baseline>,
}
