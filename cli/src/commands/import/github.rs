//! `overrun import github OWNER/REPO --since 30d`: the jobs of a repository's recent workflow
//! runs, from GitHub's REST API (paginated by its `Link` headers, waiting out rate limits),
//! parsed as `workflow_job` webhooks are, so that imported and live runs share task types.

use std::io::Write;
use std::time::Duration;

use indicatif::ProgressBar;
use overrun_core::EpochMs;
use overrun_sources::webhooks::github::parse_workflow_job;
use serde_json::{Value, json};

use crate::error::CliError;
use crate::input::InputError;

use super::{ImportSummary, RunAssembler, write_csv};

pub const DEFAULT_API_URL: &str = "https://api.github.com";
/// Longest wait for a rate limit to reset before giving up with when to retry.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(15 * 60);
/// Attempts of one request through rate limits and server errors.
const ATTEMPTS: u32 = 5;

pub struct GitHubImport {
    /// `owner/name`.
    pub repo: String,
    pub since: Duration,
    pub api_url: String,
    pub token: Option<String>,
    pub now: EpochMs,
    pub show_progress: bool,
    /// The first retry's wait after a server error (doubling after that).
    pub backoff: Duration,
    /// `--qualifier`: task types named `OWNER/REPO/WORKFLOW/JOB@qualifier`.
    pub qualifier: Option<overrun_core::Qualifier>,
}

/// What the import fetched, for the closing line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub workflow_runs: usize,
    pub requests: usize,
}

pub fn run(
    request: &GitHubImport,
    out: &mut dyn Write,
    errors: &mut dyn Write,
) -> Result<(ImportSummary, Fetched), CliError> {
    check_repo(&request.repo)?;
    let client = Client::new(request, errors);
    let since = since_date(request.now, request.since)?;
    let base = request.api_url.trim_end_matches('/');
    let first = format!("{base}/repos/{}/actions/runs?per_page=100&created=%3E%3D{since}", request.repo);
    let mut fetched = Fetched::default();
    let mut run_ids = Vec::new();
    let mut next = Some(first);
    let mut progress = ProgressBar::hidden();
    while let Some(url) = next {
        let page = client.get(&url, &mut fetched)?;
        if run_ids.is_empty() {
            let total = page.body["total_count"].as_u64().unwrap_or(0);
            progress = progress_bar(request.show_progress, total);
        }
        for run in array(&page.body, "workflow_runs", &url)? {
            let id =
                run["id"].as_u64().ok_or_else(|| remote(format!("{url}: a workflow run without an id")))?;
            run_ids.push(id);
        }
        next = page.next;
    }
    fetched.workflow_runs = run_ids.len();
    let mut assembler = RunAssembler::qualified(request.qualifier.clone());
    for id in run_ids {
        let mut next =
            Some(format!("{base}/repos/{}/actions/runs/{id}/jobs?per_page=100&filter=all", request.repo));
        while let Some(url) = next {
            let page = client.get(&url, &mut fetched)?;
            for job in array(&page.body, "jobs", &url)? {
                add_job(&mut assembler, &request.repo, job, &client);
            }
            next = page.next;
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    let (rows, summary) = assembler.finish();
    if rows.is_empty() {
        return Err(InputError::NoCompleteRun {
            name: format!("{} since {since}", request.repo),
            summary: summary.to_string(),
            hint: "; try an earlier --since",
        }
        .into());
    }
    write_csv(out, &rows).map_err(CliError::Output)?;
    Ok((summary, fetched))
}

/// A job as its `workflow_job` webhook would carry it.
fn add_job(assembler: &mut RunAssembler, repo: &str, job: &Value, client: &Client<'_>) {
    let action = match job["status"].as_str() {
        Some("completed") => "completed",
        Some("in_progress") => "in_progress",
        _ => "queued",
    };
    let delivery = json!({ "action": action, "workflow_job": job, "repository": { "full_name": repo } });
    match parse_workflow_job(&delivery, None) {
        Ok(event) => assembler.add(event),
        Err(error) => {
            assembler.malformed();
            client.note(format_args!("job {}: {error}", job["id"]));
        }
    }
}

fn check_repo(repo: &str) -> Result<(), CliError> {
    let valid = |part: &str| {
        !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    match repo.split_once('/') {
        Some((owner, name)) if valid(owner) && valid(name) => Ok(()),
        _ => Err(CliError::invalid(format!("{repo:?} is not OWNER/REPO"))),
    }
}

fn since_date(now: EpochMs, since: Duration) -> Result<String, CliError> {
    let since_ms = i64::try_from(since.as_millis()).unwrap_or(i64::MAX);
    let at = time::OffsetDateTime::from_unix_timestamp(now.saturating_sub(since_ms).div_euclid(1000))
        .map_err(|_| CliError::invalid("--since reaches before the year 1970"))?;
    Ok(format!("{:04}-{:02}-{:02}", at.year(), u8::from(at.month()), at.day()))
}

fn array<'a>(body: &'a Value, key: &str, url: &str) -> Result<&'a Vec<Value>, CliError> {
    body[key].as_array().ok_or_else(|| remote(format!("{url}: the answer has no {key} list")))
}

fn remote(message: String) -> CliError {
    CliError::Remote(message)
}

fn progress_bar(wanted: bool, total: u64) -> ProgressBar {
    crate::progress::terminal_bar(
        wanted,
        total,
        "{spinner} jobs of workflow runs {pos}/{len} [{bar:30}] {eta}",
    )
}

struct Page {
    body: Value,
    next: Option<String>,
}

struct Client<'a> {
    agent: ureq::Agent,
    token: Option<&'a str>,
    backoff: Duration,
    notes: std::cell::RefCell<&'a mut dyn Write>,
}

impl<'a> Client<'a> {
    fn new(request: &'a GitHubImport, notes: &'a mut dyn Write) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .build()
            .into();
        if request.token.is_none() {
            let _ = writeln!(notes, "no GITHUB_TOKEN: GitHub allows 60 unauthenticated requests an hour");
        }
        Self {
            agent,
            token: request.token.as_deref(),
            backoff: request.backoff,
            notes: std::cell::RefCell::new(notes),
        }
    }

    fn note(&self, text: std::fmt::Arguments<'_>) {
        let _ = writeln!(self.notes.borrow_mut(), "{text}");
    }

    /// One page, through rate limits (waited out) and server errors (retried).
    fn get(&self, url: &str, fetched: &mut Fetched) -> Result<Page, CliError> {
        let mut backoff = self.backoff;
        for attempt in 1..=ATTEMPTS {
            fetched.requests += 1;
            let mut call = self
                .agent
                .get(url)
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28")
                .header("User-Agent", "overrun-import");
            if let Some(token) = self.token {
                call = call.header("Authorization", &format!("Bearer {token}"));
            }
            let mut response = call.call().map_err(|e| remote(format!("{url}: {e}")))?;
            let status = response.status().as_u16();
            let header =
                |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            if let Some(wait) = rate_limit_wait(
                status,
                header("retry-after"),
                header("x-ratelimit-remaining"),
                header("x-ratelimit-reset"),
            ) {
                if wait > MAX_RATE_LIMIT_WAIT {
                    return Err(remote(format!(
                        "GitHub's rate limit resets in {}; retry then, or set GITHUB_TOKEN for a higher limit",
                        humantime::format_duration(wait)
                    )));
                }
                self.note(format_args!(
                    "rate limited by GitHub: waiting {}",
                    humantime::format_duration(wait)
                ));
                std::thread::sleep(wait);
                continue;
            }
            if status >= 500 && attempt < ATTEMPTS {
                std::thread::sleep(backoff);
                backoff *= 2;
                continue;
            }
            let next = header("link").as_deref().and_then(next_link);
            let text = response.body_mut().read_to_string().map_err(|e| remote(format!("{url}: {e}")))?;
            if status != 200 {
                let message = serde_json::from_str::<Value>(&text)
                    .ok()
                    .and_then(|body| body["message"].as_str().map(str::to_owned))
                    .unwrap_or(text);
                return Err(remote(format!("{url}: GitHub answered {status}: {message}")));
            }
            let body = serde_json::from_str(&text).map_err(|e| remote(format!("{url}: not JSON ({e})")))?;
            return Ok(Page { body, next });
        }
        Err(remote(format!("{url}: no answer after {ATTEMPTS} attempts")))
    }
}

/// How long to wait before retrying a rate-limited answer (403 or 429), if it is one:
/// `retry-after` seconds (secondary limits), else until `x-ratelimit-reset` when none remain.
fn rate_limit_wait(
    status: u16,
    retry_after: Option<String>,
    remaining: Option<String>,
    reset: Option<String>,
) -> Option<Duration> {
    if status != 403 && status != 429 {
        return None;
    }
    if let Some(seconds) = retry_after.and_then(|s| s.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(seconds));
    }
    if remaining.as_deref().map(str::trim) != Some("0") {
        return None;
    }
    let reset = reset.and_then(|s| s.trim().parse::<u64>().ok())?;
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    Some(Duration::from_secs(reset.saturating_sub(now)))
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|param| param.trim() == "rel=\"next\"")
            .then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_is_read_from_the_link_header() {
        let link = r#"<https://api.github.com/repositories/1/actions/runs?page=2>; rel="next", <https://api.github.com/repositories/1/actions/runs?page=5>; rel="last""#;
        assert_eq!(
            next_link(link).as_deref(),
            Some("https://api.github.com/repositories/1/actions/runs?page=2")
        );
        assert_eq!(next_link(r#"<https://x/?page=1>; rel="prev""#), None);
    }

    #[test]
    fn a_rate_limited_answer_waits_for_retry_after_or_the_reset() {
        assert_eq!(rate_limit_wait(429, Some("7".into()), None, None), Some(Duration::from_secs(7)));
        assert_eq!(rate_limit_wait(403, None, Some("0".into()), Some("1".into())), Some(Duration::ZERO));
        assert_eq!(
            rate_limit_wait(403, None, Some("12".into()), Some("1".into())),
            None,
            "a plain 403 is no rate limit"
        );
        assert_eq!(rate_limit_wait(500, Some("7".into()), None, None), None);
    }

    #[test]
    fn since_is_a_utc_date_and_the_repo_must_be_owner_slash_name() {
        assert_eq!(since_date(1_738_324_800_000, Duration::from_secs(30 * 86_400)).unwrap(), "2025-01-01");
        assert!(check_repo("example-org/api.v2").is_ok());
        for bad in ["api", "a/b/c", "/api", "a/b?x=1"] {
            assert!(check_repo(bad).is_err(), "{bad}");
        }
    }
}
