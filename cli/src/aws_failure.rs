//! AWS failures as a person can act on them: one or two lines naming the endpoint, region,
//! table or credential source and what to do, instead of the SDK's kilobyte of debug output.

use std::fmt;

/// What kind of failure, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsFailureKind {
    /// No credentials, no region, or the endpoint cannot be reached: fix the environment.
    Unreachable,
    /// A table that does not exist.
    NotFound,
    /// Anything else AWS refused.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsFailure {
    pub kind: AwsFailureKind,
    pub message: String,
}

impl fmt::Display for AwsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Where a request went, to name in the message.
#[derive(Debug, Clone, Default)]
pub struct AwsTarget {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// The tables the command used.
    pub tables: Vec<String>,
}

impl AwsTarget {
    fn endpoint(&self) -> String {
        match &self.endpoint {
            Some(url) => url.clone(),
            None => format!("AWS ({})", self.region.as_deref().unwrap_or("no region")),
        }
    }
}

/// The gist of an SDK error's text (its `DisplayErrorContext`), as a failure to act on.
pub fn summarise(error: &str, target: &AwsTarget) -> AwsFailure {
    let lower = error.to_ascii_lowercase();
    let (kind, message) = if lower.contains("resourcenotfoundexception")
        || lower.contains("non-existent table")
    {
        let tables =
            if target.tables.is_empty() { "the table".to_owned() } else { target.tables.join(" or ") };
        (
            AwsFailureKind::NotFound,
            format!(
                "table {tables} does not exist at {}: create the tables (`overrun create-tables`) or check OVERRUN_RUNS_TABLE and OVERRUN_STATS_TABLE",
                target.endpoint()
            ),
        )
    } else if lower.contains("credential") {
        (
            AwsFailureKind::Unreachable,
            "no AWS credentials were found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any values do for a local endpoint such as moto)".to_owned(),
        )
    } else if lower.contains("region")
        && (lower.contains("no region") || lower.contains("missing") || lower.contains("not set"))
    {
        (
            AwsFailureKind::Unreachable,
            "no AWS region is set: set AWS_REGION (or a region in your AWS profile)".to_owned(),
        )
    } else if lower.contains("dispatch failure")
        || lower.contains("connection refused")
        || lower.contains("error trying to connect")
        || lower.contains("timed out")
        || lower.contains("timeout")
        || lower.contains("dns error")
    {
        (
            AwsFailureKind::Unreachable,
            format!(
                "cannot reach {} ({}): is it running, and is --endpoint-url (or AWS_ENDPOINT_URL) right?",
                target.endpoint(),
                connection_problem(&lower)
            ),
        )
    } else {
        (
            AwsFailureKind::Other,
            format!("AWS refused the request at {}: {}", target.endpoint(), last_cause(error)),
        )
    };
    AwsFailure { kind, message }
}

/// What went wrong with the connection, in a few words.
fn connection_problem(lower: &str) -> &'static str {
    if lower.contains("connection refused") {
        "connection refused"
    } else if lower.contains("dns error") || lower.contains("failed to lookup") {
        "its name does not resolve"
    } else if lower.contains("timed out") || lower.contains("timeout") {
        "no answer in time"
    } else {
        "no connection"
    }
}

/// The innermost cause of an error chain (`a: b: c` → `c`), cut to one short line.
fn last_cause(error: &str) -> String {
    let first_line = error.lines().next().unwrap_or_default();
    let innermost = first_line.rsplit(": ").find(|part| !part.trim().is_empty()).unwrap_or(first_line);
    let mut text: String = innermost.trim().chars().take(160).collect();
    if innermost.chars().count() > 160 {
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> AwsTarget {
        AwsTarget {
            endpoint: Some("http://127.0.0.1:5000".into()),
            region: Some("us-east-1".into()),
            tables: vec!["runs".into(), "stats".into()],
        }
    }

    #[test]
    fn each_common_failure_is_one_line_naming_what_to_do() {
        let missing = summarise(
            "Query failed: service error: ResourceNotFoundException: Requested resource not found",
            &target(),
        );
        assert_eq!(missing.kind, AwsFailureKind::NotFound);
        assert!(
            missing.message.contains("table runs or stats does not exist at http://127.0.0.1:5000"),
            "{}",
            missing.message
        );
        let credentials =
            summarise("dispatch failure: other: no credentials provider was configured", &target());
        assert_eq!(credentials.kind, AwsFailureKind::Unreachable);
        assert!(credentials.message.contains("AWS_ACCESS_KEY_ID"));
        let refused = summarise(
            "dispatch failure: io error: error trying to connect: tcp connect error: Connection refused (os error 111)",
            &target(),
        );
        assert_eq!(refused.kind, AwsFailureKind::Unreachable);
        assert!(refused.message.starts_with("cannot reach http://127.0.0.1:5000"), "{}", refused.message);
        assert!(refused.message.contains("(connection refused)"), "{}", refused.message);
        for failure in [missing, credentials, refused] {
            assert!(!failure.message.contains('\n') && failure.message.len() < 300, "{}", failure.message);
        }
    }
}
