//! Starts and finishes, in any order, assembled into complete runs and written as CSV rows.

use std::collections::HashMap;
use std::io::{self, Write};

use overrun_core::ports::TaskEvent;
use overrun_core::{EpochMs, Qualifier, RunStatus};

use crate::rows::HEADER;
use crate::words::count;

#[derive(Debug, Default, Clone)]
struct Partial {
    start: Option<EpochMs>,
    finish: Option<(EpochMs, RunStatus)>,
}

/// What an import found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub runs: usize,
    /// Runs with a start and no finish: still running, or their finish was lost. Left out so
    /// that a backfill does not watch runs that may have ended long ago.
    pub unfinished: usize,
    /// Finishes with no start: their duration is unknown.
    pub unstarted: usize,
    /// Events Overrun does not record (queued jobs, OTHER events, jobs that did not run).
    pub ignored: usize,
    /// Records that could not be read (each reported with where it was).
    pub malformed: usize,
}

/// Gathers events by run: the first start and the first finish stand, as in the runs table.
#[derive(Debug, Default)]
pub struct RunAssembler {
    runs: HashMap<(String, String), Partial>,
    ignored: usize,
    malformed: usize,
    /// Appended to every task type (`--qualifier`), as a qualified deployment names them.
    qualifier: Option<Qualifier>,
}

/// One complete run, a row of the history CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub task_type: String,
    pub run_id: String,
    pub start: EpochMs,
    pub end: EpochMs,
    pub status: RunStatus,
}

impl RunAssembler {
    /// Task types named `name@qualifier`, as a deployment with `OVERRUN_QUALIFY` on names this
    /// source's.
    pub fn qualified(qualifier: Option<Qualifier>) -> Self {
        Self { qualifier, ..Self::default() }
    }

    pub fn add(&mut self, event: TaskEvent) {
        let Ok(event) = event.placed(None, self.qualifier.as_ref()) else {
            // Only a name the qualifier makes too long is refused.
            self.malformed += 1;
            return;
        };
        match event {
            TaskEvent::Started(started) => {
                let key = (started.task_type.as_str().to_owned(), started.run_id.as_str().to_owned());
                self.runs.entry(key).or_default().start.get_or_insert(started.start);
            }
            TaskEvent::Finished(finished) => {
                let key = (finished.task_type.as_str().to_owned(), finished.run_id.as_str().to_owned());
                let run = self.runs.entry(key).or_default();
                if let Some(start) = finished.start {
                    run.start.get_or_insert(start);
                }
                run.finish.get_or_insert((finished.end, finished.status));
            }
            TaskEvent::Ignored { .. } => self.ignored += 1,
        }
    }

    pub fn malformed(&mut self) {
        self.malformed += 1;
    }

    pub fn malformed_count(&self) -> usize {
        self.malformed
    }

    /// The complete runs in start order, and what was left out.
    pub fn finish(self) -> (Vec<HistoryRow>, ImportSummary) {
        let mut summary =
            ImportSummary { ignored: self.ignored, malformed: self.malformed, ..ImportSummary::default() };
        let mut rows = Vec::new();
        for ((task_type, run_id), run) in self.runs {
            match (run.start, run.finish) {
                (Some(start), Some((end, status))) if end >= start => {
                    rows.push(HistoryRow { task_type, run_id, start, end, status });
                }
                (Some(_), Some(_)) => summary.malformed += 1,
                (Some(_), None) => summary.unfinished += 1,
                (None, _) => summary.unstarted += 1,
            }
        }
        rows.sort_by(|a, b| (a.start, &a.task_type, &a.run_id).cmp(&(b.start, &b.task_type, &b.run_id)));
        summary.runs = rows.len();
        (rows, summary)
    }
}

/// The rows as the history CSV (epoch seconds with milliseconds; names quoted when they hold a
/// comma, a quote or a line break, as RFC 4180 has it).
pub fn write_csv(out: &mut dyn Write, rows: &[HistoryRow]) -> io::Result<()> {
    writeln!(out, "{HEADER}")?;
    for row in rows {
        writeln!(
            out,
            "{},{},{},{},{}",
            quoted(&row.task_type),
            quoted(&row.run_id),
            seconds(row.start),
            seconds(row.end),
            row.status
        )?;
    }
    out.flush()
}

fn quoted(name: &str) -> std::borrow::Cow<'_, str> {
    if name.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", name.replace('"', "\"\"")).into()
    } else {
        name.into()
    }
}

fn seconds(ms: EpochMs) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", count(self.runs as u64, "complete run"))?;
        for (n, noun, what) in [
            (self.unfinished, "run", "with no finish (still running, or the finish was lost) left out"),
            (self.unstarted, "run", "with no start (duration unknown) left out"),
            (self.ignored, "event", "Overrun does not record skipped"),
            (self.malformed, "malformed record", "skipped"),
        ] {
            if n > 0 {
                write!(f, "; {} {what}", count(n as u64, noun))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use overrun_core::ports::{RunFinished, RunStarted};
    use overrun_core::{RunId, TaskType};

    use super::*;

    fn start(task: &str, run: &str, at: EpochMs) -> TaskEvent {
        TaskEvent::Started(RunStarted {
            task_type: TaskType::new(task).unwrap(),
            run_id: RunId::new(run).unwrap(),
            numbered: false,
            start: at,
            cohort: None,
        })
    }

    fn finish(task: &str, run: &str, at: EpochMs, status: RunStatus) -> TaskEvent {
        TaskEvent::Finished(RunFinished {
            task_type: TaskType::new(task).unwrap(),
            run_id: RunId::new(run).unwrap(),
            numbered: false,
            start: None,
            end: at,
            status,
            cohort: None,
        })
    }

    #[test]
    fn starts_and_finishes_in_any_order_make_runs_and_the_incomplete_are_counted_apart() {
        let mut assembler = RunAssembler::default();
        for event in [
            finish("a,b", "2", 9_500, RunStatus::Failed),
            start("a,b", "1", 1_000),
            start("a,b", "2", 2_000),
            finish("a,b", "1", 4_250, RunStatus::Succeeded),
            finish("a,b", "1", 7_000, RunStatus::Failed),
            start("x", "open", 3_000),
            finish("x", "lost-start", 3_000, RunStatus::Succeeded),
        ] {
            assembler.add(event);
        }
        let (rows, summary) = assembler.finish();
        assert_eq!(summary, ImportSummary { runs: 2, unfinished: 1, unstarted: 1, ignored: 0, malformed: 0 });
        let mut csv = Vec::new();
        write_csv(&mut csv, &rows).unwrap();
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            format!("{HEADER}\n\"a,b\",1,1.000,4.250,succeeded\n\"a,b\",2,2.000,9.500,failed\n")
        );
    }
}
