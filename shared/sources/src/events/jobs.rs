//! AWS job services' own EventBridge state changes: Glue job runs, ECS tasks, CodeBuild builds
//! and SageMaker training jobs. Each names its task type after what stays the same from run to
//! run (the job, the task definition family, the project) and its run after what does not.

use overrun_core::ports::TaskEvent;
use overrun_core::{EpochMs, RunStatus};
use serde_json::Value;

use super::{EventError, Fields, Identity, cohort_id, error, run_id, task_type};

pub const GLUE_DETAIL_TYPE: &str = "Glue Job State Change";
pub const GLUE_RUN_STATUS_DETAIL_TYPE: &str = "Glue Job Run Status";
pub const ECS_DETAIL_TYPE: &str = "ECS Task State Change";
pub const CODEBUILD_DETAIL_TYPE: &str = "CodeBuild Build State Change";
pub const SAGEMAKER_DETAIL_TYPE: &str = "SageMaker Training Job State Change";

/// The tag a SageMaker training job may carry to name its task type.
pub const SAGEMAKER_TASK_TYPE_TAG: &str = "overrun-task-type";

fn glue_run(detail: &Fields<'_>) -> Result<Identity, EventError> {
    Ok(Identity {
        task_type: task_type("detail.jobName", detail.string("jobName")?)?,
        run_id: run_id("detail.jobRunId", detail.string("jobRunId")?)?,
        cohort: None,
    })
}

/// Glue sends "Job State Change" only when a run ends, and it carries no start: the start comes
/// from the "Job Run Status" event a job sends once it has run longer than its
/// `NotifyDelayAfter` (set it to 1 minute), or the run is recorded without one.
pub(super) fn glue_finish(envelope: &Fields<'_>, detail: &Fields<'_>) -> Result<TaskEvent, EventError> {
    let run = glue_run(detail)?;
    let state = detail.string("state")?;
    let status = match state {
        "SUCCEEDED" => RunStatus::Succeeded,
        "FAILED" | "TIMEOUT" | "ERROR" => RunStatus::Failed,
        "STOPPED" => RunStatus::Aborted,
        other => return Err(error("detail.state", format!("{other:?} is not a Glue job run's end state"))),
    };
    let end = envelope.required_time("time", false)?;
    run.finished(None, end, status, "time")
}

/// "Job Run Status": a run still going past its notify delay, with its true start.
pub(super) fn glue_running(detail: &Fields<'_>) -> Result<TaskEvent, EventError> {
    let run = glue_run(detail)?;
    match detail.string("state")? {
        "RUNNING" | "STARTING" | "WAITING" => Ok(run.started(detail.required_time("startedOn", true)?)),
        other => Ok(TaskEvent::Ignored { reason: format!("Glue job run status {other}") }),
    }
}

/// Task type: the task definition's family; run id: the task's ARN after `task/` (cluster and
/// task id); cohort: the `startedBy` of a task a scheduler started in a batch. A service's tasks
/// (group `service:…`) are long-lived servers, not runs, and are left out.
pub(super) fn ecs(detail: &Fields<'_>) -> Result<TaskEvent, EventError> {
    let group = detail.optional_string("group")?.unwrap_or_default();
    if group.starts_with("service:") {
        return Ok(TaskEvent::Ignored { reason: format!("task of ECS {group}: a service, not a job") });
    }
    let definition_arn = detail.string("taskDefinitionArn")?;
    let family = definition_arn
        .rsplit_once("task-definition/")
        .and_then(|(_, rest)| rest.split(':').next())
        .ok_or_else(|| {
            error("detail.taskDefinitionArn", format!("{definition_arn:?} is not a task definition ARN"))
        })?;
    let task_arn = detail.string("taskArn")?;
    let task = task_arn
        .split_once(":task/")
        .map(|(_, task)| task)
        .ok_or_else(|| error("detail.taskArn", format!("{task_arn:?} is not an ECS task ARN")))?;
    let run = Identity {
        task_type: task_type("detail.taskDefinitionArn", family)?,
        run_id: run_id("detail.taskArn", task)?,
        cohort: None,
    };
    let last_status = detail.string("lastStatus")?;
    match last_status {
        "PROVISIONING" | "PENDING" | "ACTIVATING" => {
            Ok(TaskEvent::Ignored { reason: format!("task status {last_status}: not running yet") })
        }
        "RUNNING" => Ok(run.started(detail.required_time("startedAt", false)?)),
        "DEACTIVATING" | "STOPPING" | "DEPROVISIONING" => {
            Ok(TaskEvent::Ignored { reason: format!("task status {last_status}: stopping") })
        }
        "STOPPED" => {
            let status = ecs_outcome(detail)?;
            // A task that failed to start has no start time.
            let start = detail.time("startedAt", false)?;
            let end = match detail.time("executionStoppedAt", false)? {
                Some(end) => end,
                None => detail.required_time("stoppedAt", false)?,
            };
            run.finished(start, end, status, "detail.stoppedAt")
        }
        other => Err(error("detail.lastStatus", format!("{other:?} is not an ECS task status"))),
    }
}

/// How a stopped task ended: stopped by someone or something else, failed to start, or its
/// essential container exited (succeeded only if every container that exited said 0).
fn ecs_outcome(detail: &Fields<'_>) -> Result<RunStatus, EventError> {
    match detail.optional_string("stopCode")? {
        Some("UserInitiated" | "ServiceSchedulerInitiated" | "SpotInterruption" | "TerminationNotice") => {
            Ok(RunStatus::Aborted)
        }
        Some("TaskFailedToStart") => Ok(RunStatus::Failed),
        _ => {
            let containers = match detail.get("containers") {
                Some(Value::Array(containers)) => containers.as_slice(),
                None => &[],
                Some(other) => {
                    return Err(error("detail.containers", format!("must be an array, found {other}")));
                }
            };
            let exit_codes: Vec<i64> =
                containers.iter().filter_map(|c| c.get("exitCode").and_then(Value::as_i64)).collect();
            Ok(if !exit_codes.is_empty() && exit_codes.iter().all(|&code| code == 0) {
                RunStatus::Succeeded
            } else {
                RunStatus::Failed
            })
        }
    }
}

/// Task type: the project; run id: the build ARN after `build/` (project and build id). The
/// start is the build's `build-start-time`; a finished build ends at the event's time.
pub(super) fn codebuild(envelope: &Fields<'_>, detail: &Fields<'_>) -> Result<TaskEvent, EventError> {
    let build_arn = detail.string("build-id")?;
    let build = build_arn
        .split_once(":build/")
        .map(|(_, build)| build)
        .ok_or_else(|| error("detail.build-id", format!("{build_arn:?} is not a CodeBuild build ARN")))?;
    let run = Identity {
        task_type: task_type("detail.project-name", detail.string("project-name")?)?,
        run_id: run_id("detail.build-id", build)?,
        cohort: None,
    };
    let info = detail.nested("additional-information", "detail.additional-information.")?;
    let start = match &info {
        Some(info) => codebuild_start(info)?,
        None => None,
    };
    let status = match detail.string("build-status")? {
        "IN_PROGRESS" => {
            let start = match start {
                Some(start) => start,
                None => envelope.required_time("time", false)?,
            };
            return Ok(run.started(start));
        }
        "SUCCEEDED" => RunStatus::Succeeded,
        "FAILED" | "FAULT" | "TIMED_OUT" => RunStatus::Failed,
        "STOPPED" => RunStatus::Aborted,
        other => {
            return Err(error("detail.build-status", format!("{other:?} is not a CodeBuild build status")));
        }
    };
    run.finished(start, envelope.required_time("time", false)?, status, "time")
}

/// CodeBuild writes its start as `Sep 1, 2017 4:12:29 PM` (UTC).
fn codebuild_start(info: &Fields<'_>) -> Result<Option<EpochMs>, EventError> {
    const KEY: &str = "build-start-time";
    let Some(text) = info.optional_string(KEY)? else { return Ok(None) };
    let format = time::macros::format_description!(
        "[month repr:short] [day padding:none], [year] [hour repr:12 padding:none]:[minute]:[second] [period]"
    );
    let at = time::PrimitiveDateTime::parse(text, format)
        .map_err(|e| error(&info.name(KEY), format!("{text:?} is not a CodeBuild time ({e})")))?
        .assume_utc();
    let ms = i64::try_from(at.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| error(&info.name(KEY), format!("{text:?} is out of range")))?;
    info.plausible(KEY, ms).map(Some)
}

/// Task type: the job's `overrun-task-type` tag, else its name without the
/// `-YYYY-MM-DD-HH-MM-SS-mmm` the SageMaker SDK appends; run id: the job name. Times run from
/// the job's creation (queueing and provisioning are part of the wait) to its end.
pub(super) fn sagemaker(detail: &Fields<'_>) -> Result<TaskEvent, EventError> {
    let name = detail.string("TrainingJobName")?;
    let tagged = match detail.nested("Tags", "detail.Tags.")? {
        Some(tags) => tags.optional_string(SAGEMAKER_TASK_TYPE_TAG)?,
        None => None,
    };
    let (field, task) = match tagged {
        Some(tagged) => ("detail.Tags", tagged),
        None => ("detail.TrainingJobName", without_sdk_timestamp(name)),
    };
    let run = Identity {
        task_type: task_type(field, task)?,
        run_id: run_id("detail.TrainingJobName", name)?,
        cohort: match detail.optional_string("TuningJobArn")? {
            Some(tuning) => Some(cohort_id("detail.TuningJobArn", tuning)?),
            None => None,
        },
    };
    let start = detail.required_time("CreationTime", true)?;
    let status = match detail.string("TrainingJobStatus")? {
        "InProgress" => return Ok(run.started(start)),
        "Completed" => RunStatus::Succeeded,
        "Failed" => RunStatus::Failed,
        "Stopped" => RunStatus::Aborted,
        "Stopping" => return Ok(TaskEvent::Ignored { reason: "training job stopping".to_owned() }),
        other => {
            return Err(error("detail.TrainingJobStatus", format!("{other:?} is not a training job status")));
        }
    };
    let end = match detail.time("TrainingEndTime", true)? {
        Some(end) => end,
        None => detail.required_time("LastModifiedTime", true)?,
    };
    run.finished(Some(start), end, status, "detail.TrainingEndTime")
}

/// `base-2025-01-31-12-00-00-123` → `base`: the suffix is 23 characters of digits and dashes
/// after a dash; names without it are returned whole.
fn without_sdk_timestamp(name: &str) -> &str {
    const SUFFIX: &[u8] = b"-dddd-dd-dd-dd-dd-dd-ddd";
    let bytes = name.as_bytes();
    if bytes.len() <= SUFFIX.len() {
        return name;
    }
    let tail = &bytes[bytes.len() - SUFFIX.len()..];
    let matches = tail.iter().zip(SUFFIX).all(|(b, pattern)| match pattern {
        b'd' => b.is_ascii_digit(),
        _ => b == pattern,
    });
    if matches { &name[..name.len() - SUFFIX.len()] } else { name }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/fixtures/eventbridge/{name}.json", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    fn started(event: &Value) -> overrun_core::ports::RunStarted {
        match parse(event).unwrap() {
            TaskEvent::Started(started) => started,
            other => panic!("not a start: {other:?}"),
        }
    }

    fn finished(event: &Value) -> overrun_core::ports::RunFinished {
        match parse(event).unwrap() {
            TaskEvent::Finished(finished) => finished,
            other => panic!("not a finish: {other:?}"),
        }
    }

    #[test]
    fn a_glue_run_starts_at_its_started_on_and_ends_at_the_state_change() {
        let start = started(&fixture("glue-job-run-status-running"));
        assert_eq!(start.task_type.as_str(), "nightly-orders-etl");
        assert_eq!(
            start.run_id.as_str(),
            "jr_0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
        );
        assert_eq!(start.start, 1_738_324_805_941);
        let end = finished(&fixture("glue-job-state-change-succeeded"));
        assert_eq!((end.run_id, end.start, end.end), (start.run_id, None, 1_738_328_410_000));
        assert_eq!(end.status, RunStatus::Succeeded);
        for (state, status) in
            [("FAILED", RunStatus::Failed), ("TIMEOUT", RunStatus::Failed), ("STOPPED", RunStatus::Aborted)]
        {
            let mut event = fixture("glue-job-state-change-succeeded");
            event["detail"]["state"] = state.into();
            assert_eq!(finished(&event).status, status, "{state}");
        }
    }

    #[test]
    fn an_ecs_task_is_its_definition_family_and_its_exit_codes_decide_success() {
        let start = started(&fixture("ecs-task-state-change-running"));
        assert_eq!(start.task_type.as_str(), "invoice-export");
        assert_eq!(start.run_id.as_str(), "batch-cluster/c13b4cb40f1f4fe4a2971f76ae5a47ad");
        assert_eq!(start.start, 1_738_324_818_103);
        let end = finished(&fixture("ecs-task-state-change-stopped"));
        assert_eq!(
            (end.start, end.end, end.status),
            (Some(1_738_324_818_103), 1_738_328_401_250, RunStatus::Succeeded)
        );
        let mut failed = fixture("ecs-task-state-change-stopped");
        failed["detail"]["containers"][1]["exitCode"] = 137.into();
        assert_eq!(finished(&failed).status, RunStatus::Failed);
        let mut stopped = fixture("ecs-task-state-change-stopped");
        stopped["detail"]["stopCode"] = "UserInitiated".into();
        assert_eq!(finished(&stopped).status, RunStatus::Aborted);
    }

    #[test]
    fn ecs_service_tasks_and_tasks_not_yet_running_are_ignored_with_a_reason() {
        let mut service = fixture("ecs-task-state-change-running");
        service["detail"]["group"] = "service:web".into();
        assert!(
            matches!(parse(&service).unwrap(), TaskEvent::Ignored { reason } if reason.contains("service"))
        );
        let mut pending = fixture("ecs-task-state-change-running");
        pending["detail"]["lastStatus"] = "PENDING".into();
        assert!(matches!(parse(&pending).unwrap(), TaskEvent::Ignored { .. }));
    }

    #[test]
    fn a_codebuild_build_starts_at_its_build_start_time_and_ends_at_the_event() {
        let start = started(&fixture("codebuild-build-state-change-in-progress"));
        assert_eq!(start.task_type.as_str(), "api-integration-tests");
        assert_eq!(start.run_id.as_str(), "api-integration-tests:8745a7a9-c340-456a-9166-edf953571b01");
        assert_eq!(start.start, 1_738_324_809_000);
        let end = finished(&fixture("codebuild-build-state-change-succeeded"));
        assert_eq!(
            (end.start, end.end, end.status),
            (Some(1_738_324_809_000), 1_738_326_010_000, RunStatus::Succeeded)
        );
        let mut bad = fixture("codebuild-build-state-change-succeeded");
        bad["detail"]["additional-information"]["build-start-time"] = "yesterday".into();
        let message = parse(&bad).unwrap_err().to_string();
        assert!(
            message.starts_with("detail.additional-information.build-start-time: \"yesterday\""),
            "{message}"
        );
    }

    #[test]
    fn a_sagemaker_training_job_is_named_by_its_tag_or_its_name_without_the_sdk_timestamp() {
        let start = started(&fixture("sagemaker-training-job-state-change-in-progress"));
        assert_eq!(start.task_type.as_str(), "churn-model");
        assert_eq!(start.run_id.as_str(), "churn-model-2025-01-31-12-00-05-123");
        assert_eq!(start.start, 1_738_324_805_123);
        let end = finished(&fixture("sagemaker-training-job-state-change-completed"));
        assert_eq!(
            (end.start, end.end, end.status),
            (Some(1_738_324_805_123), 1_738_331_999_000, RunStatus::Succeeded)
        );
        let mut tagged = fixture("sagemaker-training-job-state-change-completed");
        tagged["detail"]["Tags"] = serde_json::json!({"team": "ml", SAGEMAKER_TASK_TYPE_TAG: "churn-weekly"});
        assert_eq!(finished(&tagged).task_type.as_str(), "churn-weekly");
        assert_eq!(without_sdk_timestamp("a-2025-01-31-12-00-05-123"), "a");
        assert_eq!(
            without_sdk_timestamp("89c96cc8-dded-4739-afcc-6f1dc936f2f5"),
            "89c96cc8-dded-4739-afcc-6f1dc936f2f5"
        );
    }

    #[test]
    fn an_unknown_job_state_is_refused_naming_the_field() {
        for (fixture_name, field, value) in [
            ("glue-job-state-change-succeeded", "state", "EXPLODED"),
            ("ecs-task-state-change-running", "lastStatus", "EXPLODED"),
            ("codebuild-build-state-change-succeeded", "build-status", "EXPLODED"),
            ("sagemaker-training-job-state-change-completed", "TrainingJobStatus", "EXPLODED"),
        ] {
            let mut event = fixture(fixture_name);
            event["detail"][field] = value.into();
            let message = parse(&event).unwrap_err().to_string();
            assert!(message.starts_with(&format!("detail.{field}: \"EXPLODED\"")), "{message}");
        }
    }
}
