//! OpenLineage `RunEvent`s: the task type is the job's `namespace/name`, the run is `run.runId`,
//! and the parent run facet (an Airflow DAG run, a Dagster run, a Spark application) is the
//! run's cohort.

use overrun_core::RunStatus;
use overrun_core::ports::TaskEvent;
use serde_json::Value;

use crate::events::{EventError, Fields, Identity, TimeWindow, cohort_id, error, run_id, task_type};

/// Parses one run event. `RUNNING` counts as a start: the first start recorded stands, so it
/// changes nothing after a `START`, and it recovers a run whose `START` was lost.
pub fn parse_run_event(event: &Value, window: Option<TimeWindow>) -> Result<TaskEvent, EventError> {
    let event = Fields::of(event, "", window)?;
    if event.get("eventType").is_none() && event.get("run").is_none() {
        // Dataset and job events (static metadata) carry no run.
        return Ok(TaskEvent::Ignored { reason: "an OpenLineage event with no run".to_owned() });
    }
    let job = event.nested("job", "job.")?.ok_or_else(|| error("job", "is missing"))?;
    let run = event.nested("run", "run.")?.ok_or_else(|| error("run", "is missing"))?;
    let name = format!("{}/{}", job.string("namespace")?, job.string("name")?);
    let identity = Identity {
        task_type: task_type("job.name", &name)?,
        run_id: run_id("run.runId", run.string("runId")?)?,
        cohort: parent_run(&run)?,
    };
    let at = event.required_time("eventTime", false)?;
    let status = match event.string("eventType")? {
        "START" | "RUNNING" => return Ok(identity.started(at)),
        "COMPLETE" => RunStatus::Succeeded,
        "FAIL" => RunStatus::Failed,
        "ABORT" => RunStatus::Aborted,
        "OTHER" => return Ok(TaskEvent::Ignored { reason: "OpenLineage eventType OTHER".to_owned() }),
        other => {
            return Err(error(
                "eventType",
                format!("{other:?} is not one of START, RUNNING, COMPLETE, FAIL, ABORT, OTHER"),
            ));
        }
    };
    identity.finished(None, at, status, "eventTime")
}

fn parent_run(run: &Fields<'_>) -> Result<Option<overrun_core::CohortId>, EventError> {
    let Some(facets) = run.nested("facets", "run.facets.")? else { return Ok(None) };
    let Some(parent) = facets.nested("parent", "run.facets.parent.")? else { return Ok(None) };
    let Some(parent_run) = parent.nested("run", "run.facets.parent.run.")? else { return Ok(None) };
    Ok(Some(cohort_id("run.facets.parent.run.runId", parent_run.string("runId")?)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn fixture(name: &str) -> Value {
        let path = format!("{}/fixtures/openlineage/{name}.json", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    #[test]
    fn an_airflow_task_run_is_its_namespace_and_job_name_in_its_dag_runs_cohort() {
        let TaskEvent::Started(start) = parse_run_event(&fixture("airflow-start"), None).unwrap() else {
            panic!()
        };
        assert_eq!(start.task_type.as_str(), "prod-airflow/orders_daily.load_orders");
        assert_eq!(start.run_id.as_str(), "0192f3a4-5b6c-7d8e-9f01-23456789abcd");
        assert_eq!(start.cohort.unwrap().as_str(), "0192f3a4-0000-7d8e-9f01-23456789abcd");
        // 2025-01-31T13:00:00.250+01:00
        assert_eq!(start.start, 1_738_324_800_250);
        let TaskEvent::Finished(end) = parse_run_event(&fixture("airflow-complete"), None).unwrap() else {
            panic!()
        };
        assert_eq!((end.status, end.start, end.end), (RunStatus::Succeeded, None, 1_738_328_400_000));
        assert_eq!(end.run_id, start.run_id);
    }

    #[test]
    fn each_openlineage_event_type_maps_to_a_start_an_end_or_nothing() {
        for (event_type, expected) in [
            ("RUNNING", Some(None)),
            ("FAIL", Some(Some(RunStatus::Failed))),
            ("ABORT", Some(Some(RunStatus::Aborted))),
            ("OTHER", None),
        ] {
            let mut event = fixture("airflow-complete");
            event["eventType"] = event_type.into();
            let parsed = parse_run_event(&event, None).unwrap();
            let got = match parsed {
                TaskEvent::Started(_) => Some(None),
                TaskEvent::Finished(finished) => Some(Some(finished.status)),
                TaskEvent::Ignored { .. } => None,
            };
            assert_eq!(got, expected, "{event_type}");
        }
    }

    #[test]
    fn a_malformed_run_event_is_refused_naming_the_field() {
        let cases = [
            ("/job/namespace", Value::Null, "job.namespace: is missing"),
            ("/run/runId", Value::from(7), "run.runId: must be a string"),
            ("/eventTime", Value::from("yesterday"), "eventTime: \"yesterday\""),
            ("/eventType", Value::from("DONE"), "eventType: \"DONE\" is not one of"),
            ("/run/facets/parent/run/runId", Value::from(""), "run.facets.parent.run.runId: cohort is empty"),
        ];
        for (pointer, value, message) in cases {
            let mut event = fixture("airflow-start");
            *event.pointer_mut(pointer).unwrap() = value;
            let got = parse_run_event(&event, None).unwrap_err().to_string();
            assert!(got.starts_with(message), "{got} / {message}");
        }
    }

    #[test]
    fn dataset_events_carry_no_run_and_are_ignored() {
        let event = serde_json::json!({"eventTime": "2025-01-31T12:00:00Z", "dataset": {"namespace": "s3://b", "name": "t"},
            "producer": "https://example.com", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent"});
        assert!(matches!(parse_run_event(&event, None).unwrap(), TaskEvent::Ignored { .. }));
    }
}
