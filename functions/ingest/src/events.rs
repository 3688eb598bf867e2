//! Task state-change events, as EventBridge delivers them, to run starts and finishes.
//!
//! Three sources: Overrun's own "Task State Change" events (any source), AWS Step Functions
//! execution status changes, and AWS Batch job state changes. Every field is checked before
//! anything is written, and an error names the field.

use overrun_core::notify::humanize::utc_minute;
use overrun_core::ports::{RunFinished, RunStarted, TaskEvent};
use overrun_core::time::{MS_PER_DAY, parse_timestamp};
use overrun_core::{CohortId, EpochMs, RunId, RunStatus, TaskType};
use serde_json::Value;
use thiserror::Error;

pub const CUSTOM_DETAIL_TYPE: &str = "Task State Change";
pub const STEP_FUNCTIONS_DETAIL_TYPE: &str = "Step Functions Execution Status Change";
pub const BATCH_DETAIL_TYPE: &str = "Batch Job State Change";

#[derive(Debug, Error, PartialEq)]
#[error("{field}: {problem}")]
pub struct EventError {
    pub field: String,
    pub problem: String,
}

fn error(field: &str, problem: impl Into<String>) -> EventError {
    EventError { field: field.to_owned(), problem: problem.into() }
}

/// The times an event may carry: none older than the retention (its run would be expired at
/// once, or the clock or unit is wrong), none more than a day ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    pub now: EpochMs,
    pub retention_ms: i64,
}

/// Epoch values above this are milliseconds where seconds were expected (it is the year 5138 in
/// seconds), and epoch milliseconds below it are seconds (it is March 1973 in milliseconds).
const EPOCH_UNIT_BOUNDARY: f64 = 1e11;
/// 9999-12-31T23:59:59.999Z: no time past it is a time.
const LATEST_TIME_MS: f64 = 253_402_300_799_999.0;
const AHEAD_MS: i64 = MS_PER_DAY;

struct Fields<'a> {
    object: &'a serde_json::Map<String, Value>,
    prefix: &'static str,
    window: Option<TimeWindow>,
}

impl<'a> Fields<'a> {
    fn of(value: &'a Value, prefix: &'static str, window: Option<TimeWindow>) -> Result<Self, EventError> {
        let name = if prefix.is_empty() { "event" } else { prefix.trim_end_matches('.') };
        value
            .as_object()
            .map(|object| Self { object, prefix, window })
            .ok_or_else(|| error(name, "must be a JSON object"))
    }

    /// Refuses a time outside the window, naming the field.
    fn plausible(&self, key: &str, at: EpochMs) -> Result<EpochMs, EventError> {
        let Some(window) = self.window else { return Ok(at) };
        let oldest = window.now.saturating_sub(window.retention_ms);
        if at < oldest {
            return Err(error(
                &self.name(key),
                format!(
                    "{} is more than the {}-day retention before now ({}): a wrong clock or unit, or a run too old to record",
                    utc_minute(at),
                    window.retention_ms / MS_PER_DAY,
                    utc_minute(window.now)
                ),
            ));
        }
        if at > window.now.saturating_add(AHEAD_MS) {
            return Err(error(
                &self.name(key),
                format!("{} is more than a day after now ({})", utc_minute(at), utc_minute(window.now)),
            ));
        }
        Ok(at)
    }

    fn name(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.object.get(key).filter(|v| !v.is_null())
    }

    fn string(&self, key: &str) -> Result<&'a str, EventError> {
        match self.get(key) {
            None => Err(error(&self.name(key), "is missing")),
            Some(Value::String(text)) => Ok(text),
            Some(other) => Err(error(&self.name(key), format!("must be a string, found {other}"))),
        }
    }

    /// A time given as RFC 3339 text or as epoch milliseconds (`epoch_unit_ms`) or seconds.
    fn time(&self, key: &str, epoch_unit_ms: bool) -> Result<Option<EpochMs>, EventError> {
        let at = match self.get(key) {
            None => return Ok(None),
            Some(Value::String(text)) => {
                parse_timestamp(text).map_err(|e| error(&self.name(key), e.to_string()))?
            }
            Some(Value::Number(number)) => self.epoch(key, number, epoch_unit_ms)?,
            Some(other) => return Err(error(&self.name(key), format!("must be a timestamp, found {other}"))),
        };
        self.plausible(key, at).map(Some)
    }

    /// An epoch number in the unit the field takes, refusing the other unit.
    fn epoch(
        &self,
        key: &str,
        number: &serde_json::Number,
        epoch_unit_ms: bool,
    ) -> Result<EpochMs, EventError> {
        let field = self.name(key);
        let value = number
            .as_f64()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| error(&field, format!("{number} is not a valid time")))?;
        match epoch_unit_ms {
            false if value >= EPOCH_UNIT_BOUNDARY => Err(error(
                &field,
                format!(
                    "{number} looks like epoch milliseconds; this field takes epoch seconds (or RFC 3339 text)"
                ),
            )),
            true if value > 0.0 && value < EPOCH_UNIT_BOUNDARY => Err(error(
                &field,
                format!("{number} looks like epoch seconds; this field takes epoch milliseconds"),
            )),
            _ => {
                let ms = if epoch_unit_ms { value } else { (value * 1_000.0).round() };
                if ms > LATEST_TIME_MS {
                    return Err(error(&field, format!("{number} is past the year 9999")));
                }
                Ok(ms as EpochMs)
            }
        }
    }

    fn required_time(&self, key: &str, epoch_unit_ms: bool) -> Result<EpochMs, EventError> {
        self.time(key, epoch_unit_ms)?.ok_or_else(|| error(&self.name(key), "is missing"))
    }
}

fn task_type(field: &str, value: &str) -> Result<TaskType, EventError> {
    TaskType::new(value).map_err(|e| error(field, e.to_string()))
}

fn run_id(field: &str, value: &str) -> Result<RunId, EventError> {
    RunId::new(value).map_err(|e| error(field, e.to_string()))
}

fn cohort_id(field: &str, value: &str) -> Result<CohortId, EventError> {
    CohortId::new(value).map_err(|e| error(field, e.to_string()))
}

struct Identity {
    task_type: TaskType,
    run_id: RunId,
    cohort: Option<CohortId>,
}

impl Identity {
    fn started(self, start: EpochMs) -> TaskEvent {
        TaskEvent::Started(RunStarted {
            task_type: self.task_type,
            run_id: self.run_id,
            start,
            cohort: self.cohort,
        })
    }

    fn finished(
        self,
        start: Option<EpochMs>,
        end: EpochMs,
        status: RunStatus,
        end_field: &str,
    ) -> Result<TaskEvent, EventError> {
        if let Some(start) = start
            && end < start
        {
            return Err(error(end_field, format!("end {end} ms is before start {start} ms")));
        }
        let Identity { task_type, run_id, cohort } = self;
        Ok(TaskEvent::Finished(RunFinished { task_type, run_id, start, end, status, cohort }))
    }
}

/// Parses one EventBridge event, with any time it carries (seconds and milliseconds told apart,
/// up to the year 9999).
pub fn parse(event: &Value) -> Result<TaskEvent, EventError> {
    parse_with(event, None)
}

/// Parses one live event: its times must also fall within `window`.
pub fn parse_live(event: &Value, window: TimeWindow) -> Result<TaskEvent, EventError> {
    parse_with(event, Some(window))
}

fn parse_with(event: &Value, window: Option<TimeWindow>) -> Result<TaskEvent, EventError> {
    let envelope = Fields::of(event, "", window)?;
    let detail_type = envelope.string("detail-type")?;
    let detail =
        Fields::of(envelope.get("detail").ok_or_else(|| error("detail", "is missing"))?, "detail.", window)?;
    match detail_type {
        CUSTOM_DETAIL_TYPE => custom(&envelope, &detail),
        STEP_FUNCTIONS_DETAIL_TYPE => step_functions(&detail),
        BATCH_DETAIL_TYPE => batch(&detail),
        other => Err(error(
            "detail-type",
            format!(
                "{other:?} is not one of {CUSTOM_DETAIL_TYPE:?}, {STEP_FUNCTIONS_DETAIL_TYPE:?}, {BATCH_DETAIL_TYPE:?}"
            ),
        )),
    }
}

fn custom(envelope: &Fields<'_>, detail: &Fields<'_>) -> Result<TaskEvent, EventError> {
    let cohort = match detail.get("cohort") {
        None => None,
        Some(_) => Some(cohort_id("detail.cohort", detail.string("cohort")?)?),
    };
    let run = Identity {
        task_type: task_type("detail.task_type", detail.string("task_type")?)?,
        run_id: run_id("detail.run_id", detail.string("run_id")?)?,
        cohort,
    };
    let state = detail.string("state")?;
    let at = match detail.time("time", false)? {
        Some(at) => at,
        None => envelope
            .time("time", false)?
            .ok_or_else(|| error("detail.time", "is missing and so is the event's time"))?,
    };
    let start = detail.time("start_time", false)?;
    let status = match state.to_ascii_uppercase().as_str() {
        "STARTED" | "RUNNING" => return Ok(run.started(at)),
        "SUCCEEDED" => RunStatus::Succeeded,
        "FAILED" => RunStatus::Failed,
        "ABORTED" => RunStatus::Aborted,
        _ => {
            return Err(error(
                "detail.state",
                format!("{state:?} is not one of STARTED, SUCCEEDED, FAILED, ABORTED"),
            ));
        }
    };
    run.finished(start, at, status, "detail.time")
}

/// Task type: the state machine's name; run id: the execution's name.
fn step_functions(detail: &Fields<'_>) -> Result<TaskEvent, EventError> {
    let machine_arn = detail.string("stateMachineArn")?;
    let machine = machine_arn.rsplit_once(":stateMachine:").map(|(_, name)| name).ok_or_else(|| {
        error("detail.stateMachineArn", format!("{machine_arn:?} is not a state machine ARN"))
    })?;
    let run = Identity {
        task_type: task_type("detail.stateMachineArn", machine)?,
        run_id: run_id("detail.name", detail.string("name")?)?,
        cohort: None,
    };
    let status = detail.string("status")?;
    let start = detail.required_time("startDate", true)?;
    let status = match status {
        "RUNNING" => return Ok(run.started(start)),
        "SUCCEEDED" => RunStatus::Succeeded,
        "FAILED" | "TIMED_OUT" => RunStatus::Failed,
        "ABORTED" => RunStatus::Aborted,
        "PENDING_REDRIVE" => return Ok(TaskEvent::Ignored { reason: format!("execution status {status}") }),
        other => {
            return Err(error(
                "detail.status",
                format!("{other:?} is not a Step Functions execution status"),
            ));
        }
    };
    let end = detail.required_time("stopDate", true)?;
    run.finished(Some(start), end, status, "detail.stopDate")
}

/// Task type: the job definition's name (stable across submissions, unlike job names, which
/// often carry a date); run id: the job id; cohort: for a child of an array job (job id
/// `<parent>:<index>`), the parent job.
fn batch(detail: &Fields<'_>) -> Result<TaskEvent, EventError> {
    let definition_arn = detail.string("jobDefinition")?;
    let definition = definition_arn
        .rsplit_once("job-definition/")
        .map(|(_, rest)| rest.split(':').next().unwrap_or(rest))
        .ok_or_else(|| {
            error("detail.jobDefinition", format!("{definition_arn:?} is not a job definition ARN"))
        })?;
    let job_id = detail.string("jobId")?;
    let cohort = match job_id.rsplit_once(':') {
        Some((parent, index)) if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) => {
            Some(cohort_id("detail.jobId", parent)?)
        }
        _ => None,
    };
    let run = Identity {
        task_type: task_type("detail.jobDefinition", definition)?,
        run_id: run_id("detail.jobId", job_id)?,
        cohort,
    };
    let status = detail.string("status")?;
    let status = match status {
        "SUBMITTED" | "PENDING" | "RUNNABLE" | "STARTING" => {
            return Ok(TaskEvent::Ignored { reason: format!("job status {status}: not running yet") });
        }
        "RUNNING" => {
            let start = detail.required_time("startedAt", true)?;
            return Ok(run.started(start));
        }
        "SUCCEEDED" => RunStatus::Succeeded,
        "FAILED" => RunStatus::Failed,
        other => return Err(error("detail.status", format!("{other:?} is not a Batch job status"))),
    };
    // A job that failed before it started has no start time.
    let start = detail.time("startedAt", true)?;
    let end = detail.required_time("stoppedAt", true)?;
    run.finished(start, end, status, "detail.stoppedAt")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn custom_event(detail: Value) -> Value {
        json!({"version": "0", "id": "1", "detail-type": CUSTOM_DETAIL_TYPE, "source": "acme.workflows",
               "account": "123456789012", "time": "2025-01-31T12:00:00Z", "region": "eu-west-1",
               "resources": [], "detail": detail})
    }

    #[test]
    fn custom_start_uses_the_detail_time_or_the_event_time() {
        let started =
            parse(&custom_event(json!({"task_type": "etl", "run_id": "r1", "state": "STARTED"}))).unwrap();
        let TaskEvent::Started(started) = started else { panic!() };
        assert_eq!(started.start, 1_738_324_800_000);
        let with_time = custom_event(
            json!({"task_type": "etl", "run_id": "r1", "state": "STARTED", "time": 1_738_000_000}),
        );
        let TaskEvent::Started(started) = parse(&with_time).unwrap() else { panic!() };
        assert_eq!(started.start, 1_738_000_000_000);
    }

    #[test]
    fn custom_finish_maps_each_state() {
        for (state, status) in [
            ("SUCCEEDED", RunStatus::Succeeded),
            ("FAILED", RunStatus::Failed),
            ("ABORTED", RunStatus::Aborted),
        ] {
            let event = custom_event(
                json!({"task_type": "etl", "run_id": "r1", "state": state, "time": "2025-01-31T13:00:00Z"}),
            );
            let TaskEvent::Finished(finished) = parse(&event).unwrap() else { panic!() };
            assert_eq!(finished.status, status);
            assert_eq!(finished.start, None);
        }
    }

    #[test]
    fn malformed_custom_events_name_the_field() {
        let cases = [
            (json!({"run_id": "r1", "state": "STARTED"}), "detail.task_type: is missing"),
            (
                json!({"task_type": "", "run_id": "r1", "state": "STARTED"}),
                "detail.task_type: task type is empty",
            ),
            (
                json!({"task_type": "etl", "run_id": 7, "state": "STARTED"}),
                "detail.run_id: must be a string, found 7",
            ),
            (
                json!({"task_type": "etl", "run_id": "r1", "state": "DONE"}),
                "detail.state: \"DONE\" is not one of",
            ),
            (
                json!({"task_type": "etl", "run_id": "r1", "state": "STARTED", "time": "noon"}),
                "detail.time: \"noon\" is not an RFC 3339",
            ),
            (
                json!({"task_type": "etl", "run_id": "r1", "state": "SUCCEEDED", "time": 100, "start_time": 200}),
                "detail.time: end 100000 ms is before start 200000 ms",
            ),
            (json!("not an object"), "detail: must be a JSON object"),
        ];
        for (detail, message) in cases {
            let error = parse(&custom_event(detail)).unwrap_err().to_string();
            assert!(error.starts_with(message), "{error} / {message}");
        }
        let error = parse(&json!({"detail-type": "Something Else", "detail": {}})).unwrap_err().to_string();
        assert!(error.starts_with("detail-type: \"Something Else\" is not one of"), "{error}");
        assert_eq!(parse(&json!([1, 2])).unwrap_err().to_string(), "event: must be a JSON object");
    }

    fn sfn_event(status: &str, stop: Value) -> Value {
        json!({"detail-type": STEP_FUNCTIONS_DETAIL_TYPE, "source": "aws.states", "time": "2025-01-31T12:00:00Z",
               "detail": {"executionArn": "arn:aws:states:eu-west-1:123456789012:execution:nightly-etl:run-1",
                          "stateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:nightly-etl",
                          "name": "run-1", "status": status, "startDate": 1_738_324_800_000u64, "stopDate": stop,
                          "input": "{}", "output": null}})
    }

    #[test]
    fn step_functions_events_use_the_state_machine_name_and_execution_name() {
        let TaskEvent::Started(started) = parse(&sfn_event("RUNNING", Value::Null)).unwrap() else {
            panic!()
        };
        assert_eq!(started.task_type.as_str(), "nightly-etl");
        assert_eq!(started.run_id.as_str(), "run-1");
        assert_eq!(started.start, 1_738_324_800_000);
        let TaskEvent::Finished(done) = parse(&sfn_event("TIMED_OUT", json!(1_738_328_400_000u64))).unwrap()
        else {
            panic!()
        };
        assert_eq!(done.status, RunStatus::Failed);
        assert_eq!(done.start, Some(1_738_324_800_000));
        assert_eq!(done.end, 1_738_328_400_000);
        let error = parse(&sfn_event("SUCCEEDED", Value::Null)).unwrap_err().to_string();
        assert_eq!(error, "detail.stopDate: is missing");
    }

    fn batch_event(status: &str) -> Value {
        json!({"detail-type": BATCH_DETAIL_TYPE, "source": "aws.batch", "time": "2025-01-31T12:00:00Z",
               "detail": {"jobName": "export-2025-01-31", "jobId": "4c7e-11", "jobQueue": "arn:aws:batch:eu-west-1:123456789012:job-queue/main",
                          "status": status, "createdAt": 1_738_324_700_000u64, "startedAt": 1_738_324_800_000u64,
                          "stoppedAt": 1_738_328_400_000u64,
                          "jobDefinition": "arn:aws:batch:eu-west-1:123456789012:job-definition/export:7"}})
    }

    #[test]
    fn batch_events_use_the_job_definition_name_and_ignore_queued_states() {
        let TaskEvent::Started(started) = parse(&batch_event("RUNNING")).unwrap() else { panic!() };
        assert_eq!(started.task_type.as_str(), "export");
        assert_eq!(started.run_id.as_str(), "4c7e-11");
        let TaskEvent::Finished(done) = parse(&batch_event("SUCCEEDED")).unwrap() else { panic!() };
        assert_eq!((done.start, done.end), (Some(1_738_324_800_000), 1_738_328_400_000));
        assert!(matches!(parse(&batch_event("RUNNABLE")).unwrap(), TaskEvent::Ignored { .. }));
        let error = parse(&batch_event("EXPLODED")).unwrap_err().to_string();
        assert!(error.starts_with("detail.status: \"EXPLODED\""), "{error}");
    }

    #[test]
    fn a_custom_event_may_name_its_cohort_and_a_bad_one_is_named() {
        let event = custom_event(
            json!({"task_type": "etl", "run_id": "r1", "state": "STARTED", "cohort": "build-9"}),
        );
        let TaskEvent::Started(started) = parse(&event).unwrap() else { panic!() };
        assert_eq!(started.cohort.map(|c| c.to_string()), Some("build-9".to_owned()));
        let event = custom_event(
            json!({"task_type": "etl", "run_id": "r1", "state": "SUCCEEDED", "time": 1_738_000_000, "cohort": "build-9"}),
        );
        let TaskEvent::Finished(finished) = parse(&event).unwrap() else { panic!() };
        assert_eq!(finished.cohort.map(|c| c.to_string()), Some("build-9".to_owned()));
        for (cohort, problem) in [(json!(""), "cohort is empty"), (json!(9), "must be a string")] {
            let event = custom_event(
                json!({"task_type": "etl", "run_id": "r1", "state": "STARTED", "cohort": cohort}),
            );
            let error = parse(&event).unwrap_err().to_string();
            assert!(error.starts_with("detail.cohort: ") && error.contains(problem), "{error}");
        }
        let event = custom_event(json!({"task_type": "etl", "run_id": "r1", "state": "STARTED"}));
        let TaskEvent::Started(started) = parse(&event).unwrap() else { panic!() };
        assert_eq!(started.cohort, None);
    }

    #[test]
    fn the_children_of_a_batch_array_job_are_a_cohort_named_after_the_parent() {
        let mut child = batch_event("RUNNING");
        child["detail"]["jobId"] = json!("4c7e-11:7");
        let TaskEvent::Started(started) = parse(&child).unwrap() else { panic!() };
        assert_eq!(
            (started.run_id.as_str(), started.cohort.map(|c| c.to_string())),
            ("4c7e-11:7", Some("4c7e-11".to_owned()))
        );
        let TaskEvent::Started(single) = parse(&batch_event("RUNNING")).unwrap() else { panic!() };
        assert_eq!(single.cohort, None);
    }
}
