//! Task state-change events, as EventBridge delivers them, to run starts and finishes.
//!
//! The sources: Overrun's own "Task State Change" events (any source), AWS Step Functions
//! executions, AWS Batch jobs, and (in `jobs`) AWS Glue job runs, ECS tasks, CodeBuild builds and
//! SageMaker training jobs. Every field is checked before anything is written, and an error
//! names the field.

mod accounts;
mod fields;
mod jobs;

use overrun_core::RunStatus;
use overrun_core::model::Attempt;
use overrun_core::ports::TaskEvent;
use serde_json::Value;

pub use accounts::Accounts;
pub use fields::{EventError, TimeWindow};
pub(crate) use fields::{Fields, Identity, cohort_id, error, run_id, task_type};
pub use jobs::{
    CODEBUILD_DETAIL_TYPE, ECS_DETAIL_TYPE, GLUE_DETAIL_TYPE, GLUE_RUN_STATUS_DETAIL_TYPE,
    SAGEMAKER_DETAIL_TYPE,
};

pub const CUSTOM_DETAIL_TYPE: &str = "Task State Change";
pub const STEP_FUNCTIONS_DETAIL_TYPE: &str = "Step Functions Execution Status Change";
pub const BATCH_DETAIL_TYPE: &str = "Batch Job State Change";

/// Parses one EventBridge event, with any time it carries (seconds and milliseconds told apart,
/// up to the year 9999), as it names its run and task type (no account told apart).
pub fn parse(event: &Value) -> Result<TaskEvent, EventError> {
    parse_with(event, None, &Accounts::default())
}

/// Parses one live event: its times must also fall within `window`, and its run and task type
/// say where it ran as `accounts` asks.
pub fn parse_live(event: &Value, window: TimeWindow, accounts: &Accounts) -> Result<TaskEvent, EventError> {
    parse_with(event, Some(window), accounts)
}

fn parse_with(
    event: &Value,
    window: Option<TimeWindow>,
    accounts: &Accounts,
) -> Result<TaskEvent, EventError> {
    let envelope = Fields::of(event, "", window)?;
    let parsed = parse_detail(&envelope, window)?;
    accounts::place(parsed, &envelope, accounts)
}

fn parse_detail(envelope: &Fields<'_>, window: Option<TimeWindow>) -> Result<TaskEvent, EventError> {
    let detail_type = envelope.string("detail-type")?;
    let detail =
        Fields::of(envelope.get("detail").ok_or_else(|| error("detail", "is missing"))?, "detail.", window)?;
    match detail_type {
        CUSTOM_DETAIL_TYPE => custom(envelope, &detail),
        STEP_FUNCTIONS_DETAIL_TYPE => step_functions(&detail),
        BATCH_DETAIL_TYPE => batch(&detail),
        GLUE_DETAIL_TYPE => jobs::glue_finish(envelope, &detail),
        GLUE_RUN_STATUS_DETAIL_TYPE => jobs::glue_running(&detail),
        ECS_DETAIL_TYPE => jobs::ecs(&detail),
        CODEBUILD_DETAIL_TYPE => jobs::codebuild(envelope, &detail),
        SAGEMAKER_DETAIL_TYPE => jobs::sagemaker(&detail),
        other => Err(error("detail-type", format!("{other:?} is not one of {DETAIL_TYPES:?}"))),
    }
}

/// Every detail-type this function reads (the EventBridge rule forwards exactly these).
pub const DETAIL_TYPES: [&str; 8] = [
    CUSTOM_DETAIL_TYPE,
    STEP_FUNCTIONS_DETAIL_TYPE,
    BATCH_DETAIL_TYPE,
    GLUE_DETAIL_TYPE,
    GLUE_RUN_STATUS_DETAIL_TYPE,
    ECS_DETAIL_TYPE,
    CODEBUILD_DETAIL_TYPE,
    SAGEMAKER_DETAIL_TYPE,
];

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

/// Task type: the state machine's name; run id: the execution's name, its attempt one more than
/// its `redriveCount`. A redriven execution keeps its name and its first `startDate`: its
/// attempt starts at its `redriveDate`.
fn step_functions(detail: &Fields<'_>) -> Result<TaskEvent, EventError> {
    let machine_arn = detail.string("stateMachineArn")?;
    let machine = machine_arn.rsplit_once(":stateMachine:").map(|(_, name)| name).ok_or_else(|| {
        error("detail.stateMachineArn", format!("{machine_arn:?} is not a state machine ARN"))
    })?;
    let attempt = redrive_attempt(detail)?;
    let run = Identity {
        task_type: task_type("detail.stateMachineArn", machine)?,
        run_id: run_id("detail.name", detail.string("name")?)?.at_attempt(attempt),
        cohort: None,
    };
    let status = detail.string("status")?;
    let start = if attempt.is_first() {
        detail.required_time("startDate", true)?
    } else {
        detail.required_time("redriveDate", true)?
    };
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

/// The attempt a Step Functions event is about: `redriveCount` (absent before redrives existed)
/// redrives after the first.
fn redrive_attempt(detail: &Fields<'_>) -> Result<Attempt, EventError> {
    let count = match detail.get("redriveCount") {
        None => return Ok(Attempt::FIRST),
        Some(Value::Number(number)) => number.as_u64().and_then(|n| u32::try_from(n).ok()),
        Some(_) => None,
    };
    count
        .and_then(|count| count.checked_add(1))
        .and_then(|attempt| Attempt::new(attempt).ok())
        .ok_or_else(|| error("detail.redriveCount", "must be a whole number of redrives"))
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
    fn a_time_ahead_of_arrival_is_accepted_within_the_clock_skew_allowance_and_refused_past_it() {
        // 2025-01-31T12:00:00Z.
        let window = TimeWindow { now: 1_738_324_800_000, retention_ms: 35 * 86_400_000, ahead_ms: 300_000 };
        let at = |time: &str| {
            custom_event(json!({"task_type": "etl", "run_id": "r1", "state": "STARTED", "time": time}))
        };
        assert!(parse_live(&at("2025-01-31T12:04:59Z"), window, &Accounts::default()).is_ok());
        let error = parse_live(&at("2025-01-31T12:05:01Z"), window, &Accounts::default()).unwrap_err();
        assert_eq!(error.field, "detail.time");
        assert!(error.problem.contains("clock-skew allowance (300 s)"), "{}", error.problem);
        assert!(error.problem.contains("12:05:01 UTC"), "{}", error.problem);
        let no_skew = TimeWindow { ahead_ms: 0, ..window };
        assert!(parse_live(&at("2025-01-31T12:00:01Z"), no_skew, &Accounts::default()).is_err());
    }

    #[test]
    fn the_sam_rule_forwards_every_detail_type_this_function_reads() {
        let template = include_str!("../../../../infra/template.yaml");
        let rule = template.split("TaskEventsRule:").nth(1).unwrap().split("Targets:").next().unwrap();
        for detail_type in DETAIL_TYPES {
            assert!(rule.contains(detail_type), "{detail_type} is missing from the SAM rule");
        }
        let forwarded = rule.lines().filter(|line| line.contains("detail-type:")).count();
        assert_eq!(forwarded, 7, "the rule forwards detail types this function does not read");
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
    fn a_redriven_execution_is_its_next_attempt_starting_at_its_redrive_date() {
        let mut event = sfn_event("RUNNING", Value::Null);
        event["detail"]["redriveCount"] = json!(1);
        event["detail"]["redriveDate"] = json!(1_738_400_000_000u64);
        let TaskEvent::Started(started) = parse(&event).unwrap() else { panic!() };
        assert_eq!(started.run_id.to_string(), "run-1 (attempt 2)");
        assert!(started.numbered, "the source numbers it");
        assert_eq!(started.start, 1_738_400_000_000, "the redrive's start, not the first start");
        let mut done = sfn_event("SUCCEEDED", json!(1_738_403_600_000u64));
        done["detail"]["redriveCount"] = json!(1);
        done["detail"]["redriveDate"] = json!(1_738_400_000_000u64);
        let TaskEvent::Finished(done) = parse(&done).unwrap() else { panic!() };
        assert_eq!((done.run_id.attempt().get(), done.start), (2, Some(1_738_400_000_000)));
        let mut first = sfn_event("RUNNING", Value::Null);
        first["detail"]["redriveCount"] = json!(0);
        let TaskEvent::Started(first) = parse(&first).unwrap() else { panic!() };
        assert!(first.run_id.attempt().is_first() && !first.numbered);
        event["detail"]["redriveCount"] = json!(-1);
        assert_eq!(
            parse(&event).unwrap_err().to_string(),
            "detail.redriveCount: must be a whole number of redrives"
        );
        event["detail"]["redriveCount"] = json!(2);
        event["detail"]["redriveDate"] = Value::Null;
        assert_eq!(parse(&event).unwrap_err().to_string(), "detail.redriveDate: is missing");
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
