//! Admission: a request authenticated and parsed into what it asks, before anything is written.
//! A request refused here writes nothing.

use overrun_core::ports::TaskEvent;
use overrun_sources::webhooks::checkin::CheckIn;
use overrun_sources::webhooks::{github, openlineage};
use overrun_sources::{CheckedJson, TimeWindow};
use serde_json::Value;

use crate::auth::SourceSecrets;
use crate::refusal::Refusal;
use crate::request::HttpRequest;
use crate::route::{Route, route};

/// What an admitted request asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Admitted {
    /// A task event to record, from the named source.
    Event { event: TaskEvent, source: String },
    /// A check-in, whose run may still have to be found.
    CheckIn { check_in: CheckIn, source: String },
    /// Nothing to record: a GitHub ping, a webhook event Overrun does not read, or the health
    /// check. The reason is sent back.
    Nothing { status: u16, reason: String },
}

pub fn admit(
    request: &HttpRequest,
    secrets: &SourceSecrets,
    window: TimeWindow,
) -> Result<Admitted, Refusal> {
    let route = route(request.method(), &request.raw_path)?;
    if route == Route::Health {
        return Ok(Admitted::Nothing { status: 200, reason: "ok".to_owned() });
    }
    let body = request.body_bytes()?;
    match route {
        Route::OpenLineage => {
            let source = secrets.source_of(request.header("authorization"), &request.raw_path)?.to_owned();
            let event = openlineage::parse_run_event(&json(&body)?, Some(window)).map_err(bad_event)?;
            Ok(Admitted::Event { event, source })
        }
        Route::GitHub => {
            secrets.verify_github(&body, request.header(github::SIGNATURE_HEADER))?;
            let source = "github".to_owned();
            match request.header(github::EVENT_HEADER) {
                Some("workflow_job") => {
                    let event = github::parse_workflow_job(&json(&body)?, Some(window)).map_err(bad_event)?;
                    Ok(Admitted::Event { event, source })
                }
                Some("ping") => Ok(Admitted::Nothing { status: 200, reason: "pong".to_owned() }),
                Some(other) => Ok(Admitted::Nothing {
                    status: 202,
                    reason: format!(
                        "{other} events are not read: subscribe the webhook to workflow_job only"
                    ),
                }),
                None => Err(Refusal::bad_request(format!("{} is missing", github::EVENT_HEADER))),
            }
        }
        Route::CheckIn(path) => {
            let source = secrets.source_of(request.header("authorization"), &request.raw_path)?.to_owned();
            let check_in = CheckIn::parse(path, &request.raw_query_string).map_err(bad_event)?;
            Ok(Admitted::CheckIn { check_in, source })
        }
        Route::Health => unreachable!("answered above"),
    }
}

/// The body as JSON, refused when it is not JSON or names a field twice.
fn json(body: &[u8]) -> Result<Value, Refusal> {
    let checked =
        CheckedJson::from_slice(body).map_err(|e| Refusal::bad_request(format!("body: not JSON ({e})")))?;
    checked.into_value().map_err(bad_event)
}

fn bad_event(error: overrun_sources::EventError) -> Refusal {
    Refusal::bad_request(error.to_string())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::auth::tests::{CRON_TOKEN, secrets, sign};
    use crate::request::{HttpContext, RequestContext};

    const NOW: i64 = 1_738_330_000_000; // 2025-01-31T13:26:40Z
    const WINDOW: TimeWindow = TimeWindow { now: NOW, retention_ms: 30 * 86_400_000, ahead_ms: 300_000 };

    fn fixture(path: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/../../shared/sources/fixtures/{path}.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    pub fn post(path: &str, headers: &[(&str, &str)], body: &str) -> HttpRequest {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        HttpRequest {
            raw_path: path.to_owned(),
            raw_query_string: query.to_owned(),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<HashMap<_, _>>(),
            request_context: RequestContext { http: HttpContext { method: "POST".to_owned() } },
            body: Some(body.to_owned()),
            is_base64_encoded: false,
        }
    }

    #[test]
    fn a_signed_workflow_job_is_admitted_and_an_unsigned_or_tampered_one_is_refused() {
        let body = fixture("github/workflow-job-in-progress");
        let signature = sign(body.as_bytes());
        let headers = [("x-github-event", "workflow_job"), ("x-hub-signature-256", signature.as_str())];
        let admitted = admit(&post("/github", &headers, &body), &secrets(), WINDOW).unwrap();
        assert!(
            matches!(admitted, Admitted::Event { event: TaskEvent::Started(_), source } if source == "github")
        );
        let tampered = body.replace("integration-tests", "integration-test5");
        assert_eq!(admit(&post("/github", &headers, &tampered), &secrets(), WINDOW).unwrap_err().status, 401);
        let unsigned = [("x-github-event", "workflow_job")];
        assert_eq!(admit(&post("/github", &unsigned, &body), &secrets(), WINDOW).unwrap_err().status, 401);
    }

    #[test]
    fn a_github_ping_is_answered_and_other_github_events_are_acknowledged_unread() {
        let body = r#"{"zen": "Keep it logically awesome.", "hook_id": 1}"#;
        let signature = sign(body.as_bytes());
        let ping = [("x-github-event", "ping"), ("x-hub-signature-256", signature.as_str())];
        assert_eq!(
            admit(&post("/github", &ping, body), &secrets(), WINDOW),
            Ok(Admitted::Nothing { status: 200, reason: "pong".into() })
        );
        let push = [("x-github-event", "push"), ("x-hub-signature-256", signature.as_str())];
        assert!(matches!(
            admit(&post("/github", &push, body), &secrets(), WINDOW),
            Ok(Admitted::Nothing { status: 202, .. })
        ));
    }

    #[test]
    fn an_openlineage_event_needs_a_sources_token_and_a_valid_body() {
        let body = fixture("openlineage/airflow-start");
        let bearer = "Bearer airflow-token-0123456789abcdef";
        let admitted =
            admit(&post("/api/v1/lineage", &[("authorization", bearer)], &body), &secrets(), WINDOW).unwrap();
        assert!(matches!(admitted, Admitted::Event { source, .. } if source == "airflow-prod"));
        let refused = admit(&post("/api/v1/lineage", &[], &body), &secrets(), WINDOW).unwrap_err();
        assert_eq!(refused.status, 401);
        let refused =
            admit(&post("/api/v1/lineage", &[("authorization", bearer)], "{not json"), &secrets(), WINDOW);
        assert!(refused.unwrap_err().reason.starts_with("body: not JSON"));
        let wrong = body.replace("\"START\"", "\"BEGIN\"");
        let refused =
            admit(&post("/api/v1/lineage", &[("authorization", bearer)], &wrong), &secrets(), WINDOW);
        assert_eq!(
            refused.unwrap_err(),
            Refusal::bad_request(
                "eventType: \"BEGIN\" is not one of START, RUNNING, COMPLETE, FAIL, ABORT, OTHER"
            )
        );
    }

    #[test]
    fn an_event_from_decades_ago_is_refused_as_implausible() {
        let body = fixture("openlineage/airflow-start")
            .replace("2025-01-31T13:00:00.250+01:00", "1995-01-31T13:00:00Z");
        let bearer = "Bearer airflow-token-0123456789abcdef";
        let refused =
            admit(&post("/api/v1/lineage", &[("authorization", bearer)], &body), &secrets(), WINDOW)
                .unwrap_err();
        assert!(
            refused.reason.starts_with("eventTime: ") && refused.reason.contains("retention"),
            "{refused}"
        );
    }

    #[test]
    fn a_check_in_needs_a_sources_token() {
        let bearer = format!("Bearer {CRON_TOKEN}");
        let admitted = admit(
            &post("/ping/backup/start?run_id=r1", &[("authorization", &bearer)], ""),
            &secrets(),
            WINDOW,
        );
        assert!(matches!(admitted, Ok(Admitted::CheckIn { source, .. }) if source == "cron-box"));
        assert_eq!(admit(&post("/ping/backup/start", &[], ""), &secrets(), WINDOW).unwrap_err().status, 401);
        let refused =
            admit(&post("/ping/backup/done", &[("authorization", &bearer)], ""), &secrets(), WINDOW);
        assert_eq!(refused.unwrap_err().status, 400);
    }
}
