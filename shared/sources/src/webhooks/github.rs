//! GitHub Actions `workflow_job` webhooks: the task type is `owner/repo/workflow/job`, the run is
//! the job's id (new for every attempt), and the workflow run's attempt is the cohort. A job runs
//! from `started_at` (a runner picked it up; queueing is not its duration) to `completed_at`.

use overrun_core::RunStatus;
use overrun_core::ports::TaskEvent;
use serde_json::Value;

use crate::events::{EventError, Fields, Identity, TimeWindow, cohort_id, error, run_id, task_type};

/// The header naming the webhook's event.
pub const EVENT_HEADER: &str = "x-github-event";
/// The header carrying `sha256=` and the body's HMAC-SHA256 under the webhook secret.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";
/// The header naming one delivery (the same on a redelivery).
pub const DELIVERY_HEADER: &str = "x-github-delivery";

/// Parses the body of a `workflow_job` delivery.
pub fn parse_workflow_job(body: &Value, window: Option<TimeWindow>) -> Result<TaskEvent, EventError> {
    let body = Fields::of(body, "", window)?;
    let job =
        body.nested("workflow_job", "workflow_job.")?.ok_or_else(|| error("workflow_job", "is missing"))?;
    let repository =
        body.nested("repository", "repository.")?.ok_or_else(|| error("repository", "is missing"))?;
    let repo = repository.string("full_name")?;
    let name = format!("{repo}/{}/{}", job.string("workflow_name")?, job.string("name")?);
    let attempt = match job.get("run_attempt") {
        None => "1".to_owned(),
        Some(_) => job.id("run_attempt")?,
    };
    let cohort = format!("{repo}/runs/{}/attempts/{attempt}", job.id("run_id")?);
    let run = Identity {
        task_type: task_type("workflow_job.name", &name)?,
        run_id: run_id("workflow_job.id", &job.id("id")?)?,
        cohort: Some(cohort_id("workflow_job.run_id", &cohort)?),
    };
    let action = body.string("action")?;
    match action {
        "queued" | "waiting" => {
            return Ok(TaskEvent::Ignored { reason: format!("job {action}: not running yet") });
        }
        "in_progress" => return Ok(run.started(job.required_time("started_at", false)?)),
        "completed" => {}
        other => {
            return Err(error(
                "action",
                format!("{other:?} is not one of queued, waiting, in_progress, completed"),
            ));
        }
    }
    let conclusion = job.string("conclusion")?;
    let status = match conclusion {
        "success" => RunStatus::Succeeded,
        "failure" | "timed_out" | "startup_failure" => RunStatus::Failed,
        "cancelled" => RunStatus::Aborted,
        "skipped" | "neutral" | "action_required" | "stale" => {
            return Ok(TaskEvent::Ignored { reason: format!("job concluded {conclusion}: it did not run") });
        }
        other => return Err(error("workflow_job.conclusion", format!("{other:?} is not a job conclusion"))),
    };
    let start = job.time("started_at", false)?;
    let end = job.required_time("completed_at", false)?;
    run.finished(start, end, status, "workflow_job.completed_at")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/fixtures/github/{name}.json", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    #[test]
    fn a_workflow_job_is_repo_workflow_and_job_name_in_its_workflow_run_attempt() {
        let TaskEvent::Started(start) =
            parse_workflow_job(&fixture("workflow-job-in-progress"), None).unwrap()
        else {
            panic!()
        };
        assert_eq!(start.task_type.as_str(), "example-org/api/CI/integration-tests");
        assert_eq!(start.run_id.as_str(), "33557799001");
        assert_eq!(start.cohort.unwrap().as_str(), "example-org/api/runs/12775544330/attempts/1");
        assert_eq!(start.start, 1_738_324_805_000);
        let TaskEvent::Finished(end) = parse_workflow_job(&fixture("workflow-job-completed"), None).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (end.status, end.start, end.end),
            (RunStatus::Succeeded, Some(1_738_324_805_000), 1_738_326_005_000)
        );
    }

    #[test]
    fn each_conclusion_maps_to_a_status_or_to_nothing_when_the_job_did_not_run() {
        for (conclusion, expected) in [
            ("failure", Some(RunStatus::Failed)),
            ("timed_out", Some(RunStatus::Failed)),
            ("cancelled", Some(RunStatus::Aborted)),
            ("skipped", None),
        ] {
            let mut body = fixture("workflow-job-completed");
            body["workflow_job"]["conclusion"] = conclusion.into();
            let got = match parse_workflow_job(&body, None).unwrap() {
                TaskEvent::Finished(finished) => Some(finished.status),
                TaskEvent::Ignored { .. } => None,
                TaskEvent::Started(_) => panic!("a completed job is not a start"),
            };
            assert_eq!(got, expected, "{conclusion}");
        }
        let mut queued = fixture("workflow-job-in-progress");
        queued["action"] = "queued".into();
        assert!(matches!(parse_workflow_job(&queued, None).unwrap(), TaskEvent::Ignored { .. }));
    }

    #[test]
    fn a_malformed_workflow_job_is_refused_naming_the_field() {
        let cases = [
            ("/workflow_job/id", Value::from(-3), "workflow_job.id: must be an id"),
            ("/workflow_job/started_at", Value::from("soon"), "workflow_job.started_at: \"soon\""),
            ("/repository/full_name", Value::Null, "repository.full_name: is missing"),
            ("/action", Value::from("exploded"), "action: \"exploded\""),
            (
                "/workflow_job/completed_at",
                Value::from("2025-01-31T11:00:00Z"),
                "workflow_job.completed_at: end",
            ),
        ];
        for (pointer, value, message) in cases {
            let mut body = fixture("workflow-job-completed");
            *body.pointer_mut(pointer).unwrap() = value;
            let got = parse_workflow_job(&body, None).unwrap_err().to_string();
            assert!(got.starts_with(message), "{got} / {message}");
        }
    }
}
