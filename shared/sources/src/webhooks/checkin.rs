//! Check-ins: `POST /ping/{task}/start`, `/ping/{task}/success`, `/ping/{task}/fail`, each at the
//! time it arrives, for scripts and cron jobs with `curl` and no AWS credentials. A task name may
//! hold slashes (`/ping/team/backup/start`) and percent-escapes; `?run_id=` names the run, else
//! a start gets one derived from its time and a finish closes the task's newest open run.

use overrun_core::ports::{RunFinished, RunStarted, TaskEvent};
use overrun_core::{EpochMs, RunId, RunStatus, TaskType};
use percent_encoding::percent_decode_str;

use crate::events::{EventError, error, run_id, task_type};

/// Where check-ins are posted.
pub const PATH_PREFIX: &str = "/ping/";
/// How run ids derived for starts without one begin.
pub const DERIVED_PREFIX: &str = "checkin-";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Start,
    Success,
    Fail,
}

/// One check-in, before its run is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckIn {
    pub task_type: TaskType,
    pub signal: Signal,
    pub run_id: Option<RunId>,
}

impl CheckIn {
    /// Reads `{task}/{signal}` (the path after [`PATH_PREFIX`]) and the query string.
    pub fn parse(path: &str, query: &str) -> Result<Self, EventError> {
        let (task, signal) = path
            .rsplit_once('/')
            .ok_or_else(|| error("path", "must be /ping/{task}/start, /success or /fail"))?;
        let signal = match signal {
            "start" => Signal::Start,
            "success" => Signal::Success,
            "fail" => Signal::Fail,
            other => return Err(error("path", format!("{other:?} is not one of start, success, fail"))),
        };
        let task = decode("path", task)?;
        let mut run = None;
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                // `?run_id=a&run_id=b` names two runs: which one was meant cannot be told.
                "run_id" if run.is_some() => {
                    return Err(error("run_id", "is given more than once: name one run"));
                }
                "run_id" => run = Some(run_id("run_id", &decode("run_id", value)?)?),
                other => {
                    return Err(error("query", format!("{other:?} is not a check-in parameter (run_id is)")));
                }
            }
        }
        Ok(Self { task_type: task_type("path", &task)?, signal, run_id: run })
    }

    /// The task event, now that the run is known; `start` is the open run's, for a finish.
    pub fn event(self, run_id: RunId, at: EpochMs, start: Option<EpochMs>) -> TaskEvent {
        let status = match self.signal {
            Signal::Start => {
                return TaskEvent::Started(RunStarted {
                    task_type: self.task_type,
                    run_id,
                    numbered: false,
                    start: at,
                    cohort: None,
                });
            }
            Signal::Success => RunStatus::Succeeded,
            Signal::Fail => RunStatus::Failed,
        };
        TaskEvent::Finished(RunFinished {
            task_type: self.task_type,
            run_id,
            numbered: false,
            start,
            end: at,
            status,
            cohort: None,
        })
    }
}

/// The run id a start without one gets: its time (the endpoint takes a start retried within two
/// minutes for the same run).
pub fn derived_run_id(at: EpochMs) -> RunId {
    // A number after a fixed prefix is always a valid run id.
    RunId::new(&format!("{DERIVED_PREFIX}{at}"))
        .unwrap_or_else(|_| unreachable!("a derived run id is a valid name"))
}

fn decode(field: &str, text: &str) -> Result<String, EventError> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| error(field, format!("{text:?} is not UTF-8 once its percent-escapes are decoded")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_in_names_its_task_signal_and_maybe_its_run() {
        let check_in = CheckIn::parse("team/nightly%20backup/start", "run_id=2025-01-31").unwrap();
        assert_eq!(check_in.task_type.as_str(), "team/nightly backup");
        assert_eq!(check_in.signal, Signal::Start);
        assert_eq!(check_in.run_id.unwrap().as_str(), "2025-01-31");
        let check_in = CheckIn::parse("backup/fail", "").unwrap();
        assert_eq!((check_in.signal, check_in.run_id), (Signal::Fail, None));
    }

    #[test]
    fn a_bad_check_in_path_or_query_is_refused_with_its_reason() {
        for (path, query, message) in [
            ("backup/finish", "", "path: \"finish\" is not one of"),
            ("start", "", "path: must be /ping/{task}/start"),
            ("/start", "", "path: task type is empty"),
            ("backup/start", "rid=1", "query: \"rid\" is not a check-in parameter"),
            ("backup/start", "run_id=", "run_id: run id is empty"),
            ("backup/start", "run_id=a&run_id=b", "run_id: is given more than once"),
            ("backup/start", "run_id=a&run_id=a", "run_id: is given more than once"),
            ("backup/start", "run_id=a%E2%80%A8b", "run_id: run id contains an invisible character"),
            ("back%E2%80%AEup/start", "", "path: task type contains an invisible character"),
            ("back%FFup/start", "", "path: \"back%FFup\" is not UTF-8"),
        ] {
            let got = CheckIn::parse(path, query).unwrap_err().to_string();
            assert!(got.starts_with(message), "{got} / {message}");
        }
    }

    #[test]
    fn a_finish_carries_the_open_runs_start_and_a_start_its_own_time() {
        let start = CheckIn::parse("backup/start", "").unwrap().event(derived_run_id(5_000), 5_000, None);
        assert!(
            matches!(&start, TaskEvent::Started(s) if s.start == 5_000 && s.run_id.as_str() == "checkin-5000")
        );
        let done =
            CheckIn::parse("backup/success", "").unwrap().event(derived_run_id(5_000), 9_000, Some(5_000));
        let TaskEvent::Finished(done) = done else { panic!() };
        assert_eq!((done.start, done.end, done.status), (Some(5_000), 9_000, RunStatus::Succeeded));
    }
}
