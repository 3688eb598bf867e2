//! `overrun import`: GitHub Actions history from a local HTTP server answering with recorded,
//! real-shaped API responses (pagination, a rate limit to wait out, the token), and an
//! OpenLineage JSON-lines export; the CSV it writes replays and backfills.

mod terminal;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assert_cmd::Command;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/github-api");

/// A request the server saw: its target and its Authorization header.
#[derive(Debug, Clone)]
struct Seen {
    target: String,
    authorization: Option<String>,
}

/// Serves GitHub's endpoints from the fixtures, one connection at a time, until dropped. The
/// second page answers once with a primary rate limit already reset; jobs answer after `delay`.
struct FakeGitHub {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeGitHub {
    fn start(delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (thread_base, thread_seen) = (base.clone(), seen.clone());
        std::thread::spawn(move || {
            let mut rate_limited_once = false;
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let target = request_line.split_whitespace().nth(1).unwrap_or("").to_owned();
                let mut authorization = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("authorization")
                    {
                        authorization = Some(value.trim().to_owned());
                    }
                }
                thread_seen.lock().unwrap().push(Seen { target: target.clone(), authorization });
                let (status, headers, body) = answer(&target, &thread_base, &mut rate_limited_once, delay);
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes());
                let mut rest = Vec::new();
                let _ = stream.take(0).read_to_end(&mut rest);
            }
        });
        Self { base, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(Path::new(FIXTURES).join(name)).unwrap()
}

fn answer(
    target: &str,
    base: &str,
    rate_limited_once: &mut bool,
    delay: Duration,
) -> (String, String, String) {
    let ok = "200 OK".to_owned();
    let runs = "/repos/example-org/api/actions/runs";
    if target.starts_with(&format!("{runs}?per_page=100&created=%3E%3D")) {
        let link = format!(
            "link: <{base}{runs}?per_page=100&page=2>; rel=\"next\", <{base}{runs}?per_page=100&page=2>; rel=\"last\"\r\n"
        );
        return (ok, link, fixture("runs-page-1.json"));
    }
    if target == format!("{runs}?per_page=100&page=2") {
        if !*rate_limited_once {
            *rate_limited_once = true;
            let reset = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
            let headers = format!(
                "x-ratelimit-limit: 5000\r\nx-ratelimit-remaining: 0\r\nx-ratelimit-reset: {reset}\r\n"
            );
            let body = r#"{"message": "API rate limit exceeded for user ID 1.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}"#;
            return ("403 Forbidden".to_owned(), headers, body.to_owned());
        }
        return (ok, String::new(), fixture("runs-page-2.json"));
    }
    for run in ["12775544330", "12775544999"] {
        if target == format!("{runs}/{run}/jobs?per_page=100&filter=all") {
            std::thread::sleep(delay);
            return (ok, String::new(), fixture(&format!("jobs-{run}.json")));
        }
    }
    let body =
        r#"{"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}"#;
    ("404 Not Found".to_owned(), String::new(), body.to_owned())
}

fn overrun() -> Command {
    Command::cargo_bin("overrun").unwrap()
}

const EXPECTED_GITHUB_CSV: &str = "task_type,run_id,start_epoch_s,end_epoch_s,status
example-org/api/CI/integration-tests,33557700001,1738238405.000,1738239605.000,succeeded
example-org/api/CI/integration-tests,33557799001,1738324805.000,1738326675.000,failed
";

#[test]
fn a_github_import_follows_pages_waits_out_a_rate_limit_and_sends_the_token() {
    let github = FakeGitHub::start(Duration::ZERO);
    let output = overrun()
        .args(["import", "github", "example-org/api", "--since", "30d", "--api-url", &github.base])
        .env("GITHUB_TOKEN", "ghp_test-token")
        .env_remove("GH_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), EXPECTED_GITHUB_CSV);
    assert!(stderr.contains("rate limited by GitHub: waiting"), "{stderr}");
    assert!(
        stderr.contains("imported 2 complete runs; 1 run with no finish (still running, or the finish was lost) left out; 1 event Overrun does not record skipped from 2 workflow runs of example-org/api (5 API requests)"),
        "{stderr}"
    );
    let seen = github.seen();
    assert!(seen.iter().all(|s| s.authorization.as_deref() == Some("Bearer ghp_test-token")), "{seen:?}");
    assert!(seen[0].target.contains("created=%3E%3D"), "{seen:?}");
}

#[test]
fn a_github_import_writes_a_history_that_replays() {
    let github = FakeGitHub::start(Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("ci.csv");
    overrun()
        .args(["import", "github", "example-org/api", "--api-url", &github.base, "-o"])
        .arg(&csv)
        .env_remove("GITHUB_TOKEN")
        .env_remove("GH_TOKEN")
        .assert()
        .success()
        .stderr(predicates::str::contains("no GITHUB_TOKEN"));
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), EXPECTED_GITHUB_CSV);
    overrun().args(["replay", "--json"]).arg(&csv).assert().success();
}

#[test]
fn a_github_error_is_reported_with_githubs_message_and_a_bad_repo_is_refused() {
    let github = FakeGitHub::start(Duration::ZERO);
    overrun()
        .args(["import", "github", "example-org/missing", "--api-url", &github.base])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("GitHub answered 404: Not Found"));
    overrun()
        .args(["import", "github", "not-a-repo", "--api-url", &github.base])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("\"not-a-repo\" is not OWNER/REPO"));
}

#[test]
fn a_github_import_shows_its_progress_on_a_terminal() {
    let github = FakeGitHub::start(Duration::from_millis(300));
    let binary = assert_cmd::cargo::cargo_bin("overrun");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("ci.csv");
    let command = format!(
        "GITHUB_TOKEN=t {} import github example-org/api --api-url {} -o {}",
        terminal::shell_quoted(&binary),
        github.base,
        terminal::shell_quoted(&csv)
    );
    let (status, shown) = terminal::under_terminal(&command);
    assert!(status.success(), "{shown}");
    assert!(shown.contains("jobs of workflow runs"), "{shown}");
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), EXPECTED_GITHUB_CSV);
}

#[test]
fn an_openlineage_export_becomes_a_history_and_bad_lines_are_named_and_skipped() {
    let events = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/sources/fixtures/openlineage");
    let start: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{events}/airflow-start.json")).unwrap())
            .unwrap();
    let complete: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{events}/airflow-complete.json")).unwrap())
            .unwrap();
    let mut other_start = start.clone();
    other_start["run"]["runId"] = "0192f3a4-ffff-7d8e-9f01-23456789abcd".into();
    let export = [
        complete.to_string(),
        "{\"eventType\": \"START\"".to_owned(),
        String::new(),
        start.to_string(),
        other_start.to_string(),
        start.to_string().replace("\"START\"", "\"BEGIN\""),
        start.to_string().replacen('{', "{\"eventType\": \"COMPLETE\", ", 1),
    ]
    .join("\n");
    let output = overrun().args(["import", "openlineage", "-"]).write_stdin(export).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "task_type,run_id,start_epoch_s,end_epoch_s,status
prod-airflow/orders_daily.load_orders,0192f3a4-5b6c-7d8e-9f01-23456789abcd,1738324800.250,1738328400.000,succeeded
"
    );
    assert!(stderr.contains("standard input:2: not JSON"), "{stderr}");
    assert!(stderr.contains("standard input:6: eventType: \"BEGIN\" is not one of"), "{stderr}");
    assert!(stderr.contains("imported 1 complete run; 1 run with no finish"), "{stderr}");
    assert!(stderr.contains("standard input:7: eventType: appears twice"), "{stderr}");
    assert!(stderr.contains("3 malformed records skipped"), "{stderr}");
}

#[test]
fn an_openlineage_export_with_a_qualifier_names_its_task_types_as_a_qualified_deployment_does() {
    let events = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/sources/fixtures/openlineage");
    let export = ["airflow-start", "airflow-complete"]
        .map(|name| std::fs::read_to_string(format!("{events}/{name}.json")).unwrap().replace('\n', ""))
        .join("\n");
    let output = overrun()
        .args(["import", "openlineage", "-", "--qualifier", "airflow-prod"])
        .write_stdin(export)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let csv = String::from_utf8_lossy(&output.stdout);
    assert!(csv.contains("\nprod-airflow/orders_daily.load_orders@airflow-prod,"), "{csv}");
    let refused = overrun().args(["import", "openlineage", "-", "--qualifier", "air flow"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is not a qualifier"));
}

#[test]
fn an_openlineage_export_with_no_complete_run_fails_and_leaves_the_output_file_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("history.csv");
    std::fs::write(&csv, "an earlier history\n").unwrap();
    for export in ["", "{\"eventType\": \"START\"\nnot json\n"] {
        let output = overrun()
            .args(["import", "openlineage", "-", "-o", csv.to_str().unwrap()])
            .write_stdin(export)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("standard input holds no complete run (0 complete runs"), "{stderr}");
        assert!(stderr.contains("nothing written"), "{stderr}");
        assert_eq!(std::fs::read_to_string(&csv).unwrap(), "an earlier history\n");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 1, "no partial file left behind: {left:?}");
    }
}
