//! AWS failures as a person can act on them: one line per kind of failure (the adapters classify
//! every store error into a [`StoreErrorKind`]), naming the endpoint, region and tables and what
//! to do, instead of the SDK's kilobyte of debug output. Each kind has its own exit code.

use std::fmt;

use overrun_core::ports::{StoreError, StoreErrorKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsFailure {
    pub kind: StoreErrorKind,
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
    /// The endpoint and region: `http://127.0.0.1:5055 (region us-east-1)`, `AWS (us-east-1)`.
    fn place(&self) -> String {
        let region = self.region.as_deref().unwrap_or("no region set");
        match &self.endpoint {
            Some(url) => format!("{url} (region {region})"),
            None => format!("AWS ({region})"),
        }
    }

    fn tables(&self, joiner: &str) -> String {
        if self.tables.is_empty() {
            "the table".to_owned()
        } else {
            self.tables.iter().map(|table| format!("{table:?}")).collect::<Vec<_>>().join(joiner)
        }
    }
}

/// The exit code of an AWS failure of `kind` (the README's table).
pub fn exit_code(kind: StoreErrorKind) -> i32 {
    match kind {
        StoreErrorKind::Unreachable => 3,
        StoreErrorKind::NoSuchTable => 4,
        StoreErrorKind::NoCredentials => 5,
        StoreErrorKind::InvalidToken => 6,
        StoreErrorKind::AccessDenied => 7,
        StoreErrorKind::WrongTableShape => 8,
        StoreErrorKind::Throttled => 9,
        StoreErrorKind::Other => 1,
    }
}

/// A store error as one line to act on. Errors that are not the service's (a malformed item)
/// are told as they are.
pub fn summarise(error: &StoreError, target: &AwsTarget) -> AwsFailure {
    let StoreError::Service { operation, kind, code, message, .. } = error else {
        return AwsFailure { kind: StoreErrorKind::Other, message: error.to_string() };
    };
    let place = target.place();
    let message = match kind {
        StoreErrorKind::Unreachable if target.region.is_none() => {
            "no AWS region is set: set AWS_REGION (or a region in your AWS profile)".to_owned()
        }
        StoreErrorKind::Unreachable => format!(
            "cannot reach {place} ({}): is it running, and is --endpoint-url (or AWS_ENDPOINT_URL) right?",
            connection_problem(message)
        ),
        StoreErrorKind::NoCredentials => "no AWS credentials were found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any values do for a local endpoint such as moto)".to_owned(),
        StoreErrorKind::InvalidToken => format!(
            "{place} refused the credentials{}: the access key is unknown, the secret is wrong or the session token expired; refresh them (`aws sso login`, new keys) and try again",
            code_in_brackets(code)
        ),
        StoreErrorKind::AccessDenied => format!(
            "access denied at {place}: these credentials may not {operation} on {}{}; grant dynamodb:{operation} on it to their IAM role or user",
            target.tables(" or "),
            code_in_brackets(code)
        ),
        StoreErrorKind::NoSuchTable => format!(
            "table {} does not exist at {place}: create the tables (`overrun create-tables`) or check OVERRUN_RUNS_TABLE and OVERRUN_STATS_TABLE",
            target.tables(" or ")
        ),
        StoreErrorKind::WrongTableShape => format!(
            "table {} at {place} is not the Overrun table of that name (its keys or indexes differ): are OVERRUN_RUNS_TABLE and OVERRUN_STATS_TABLE swapped?",
            target.tables(" or ")
        ),
        StoreErrorKind::Throttled => format!(
            "{place} kept throttling {operation} on {} after every retry: try again in a minute, or raise the table's capacity",
            target.tables(" or ")
        ),
        StoreErrorKind::Other => format!(
            "AWS refused {operation} at {place}: {}",
            code.as_deref().map_or_else(|| last_cause(message), str::to_owned)
        ),
    };
    AwsFailure { kind: *kind, message }
}

fn code_in_brackets(code: &Option<String>) -> String {
    code.as_deref().map(|code| format!(" ({code})")).unwrap_or_default()
}

/// What went wrong with the connection, in a few words (the detail of an unreachable endpoint,
/// from the transport's own error text).
fn connection_problem(message: &str) -> &'static str {
    let lower = message.to_ascii_lowercase();
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

/// The innermost cause of an error chain (`a: b: c` → `c`), cut to one short line, with no
/// debug-formatted structure (`{…}`) in it.
fn last_cause(error: &str) -> String {
    let first_line = error.lines().next().unwrap_or_default();
    let readable = first_line.split(['{', '(']).next().unwrap_or(first_line);
    let innermost = readable.rsplit(": ").find(|part| !part.trim().is_empty()).unwrap_or(readable);
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

    fn failure(kind: StoreErrorKind, code: Option<&str>, message: &str) -> AwsFailure {
        let error = StoreError::Service {
            operation: "Query",
            kind,
            code: code.map(str::to_owned),
            message: message.to_owned(),
            source: None,
        };
        summarise(&error, &target())
    }

    #[test]
    fn every_kind_is_one_short_line_with_its_own_exit_code() {
        let kinds = [
            StoreErrorKind::Unreachable,
            StoreErrorKind::NoCredentials,
            StoreErrorKind::InvalidToken,
            StoreErrorKind::AccessDenied,
            StoreErrorKind::NoSuchTable,
            StoreErrorKind::WrongTableShape,
            StoreErrorKind::Throttled,
            StoreErrorKind::Other,
        ];
        let mut codes: Vec<i32> = kinds.iter().map(|&kind| exit_code(kind)).collect();
        for kind in kinds {
            let told = failure(
                kind,
                Some("SomeCode"),
                "Query failed: service error: {hyper::ext::h1_reason_phrase: [70]}",
            );
            assert_eq!(told.kind, kind);
            assert!(!told.message.contains('\n') && told.message.len() < 300, "{}", told.message);
            assert!(!told.message.contains('{'), "no debug text: {}", told.message);
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), kinds.len(), "one exit code per kind");
        assert!(!codes.contains(&0) && !codes.contains(&2), "0 is success, 2 bad input");
    }

    #[test]
    fn each_common_failure_names_where_and_what_to_do() {
        let missing = failure(StoreErrorKind::NoSuchTable, Some("ResourceNotFoundException"), "");
        assert!(
            missing.message.contains(
                r#"table "runs" or "stats" does not exist at http://127.0.0.1:5000 (region us-east-1)"#
            ),
            "{}",
            missing.message
        );
        let swapped = failure(StoreErrorKind::WrongTableShape, Some("ValidationException"), "");
        assert!(swapped.message.contains("swapped"), "{}", swapped.message);
        let refused = failure(
            StoreErrorKind::Unreachable,
            None,
            "dispatch failure: io error: error trying to connect: tcp connect error: Connection refused (os error 111)",
        );
        assert!(refused.message.starts_with("cannot reach http://127.0.0.1:5000"), "{}", refused.message);
        assert!(refused.message.contains("(connection refused)"), "{}", refused.message);
        let token = failure(StoreErrorKind::InvalidToken, Some("UnrecognizedClientException"), "");
        assert!(token.message.contains("(UnrecognizedClientException)"), "{}", token.message);
        let denied = failure(StoreErrorKind::AccessDenied, Some("AccessDeniedException"), "");
        assert!(denied.message.contains("may not Query on \"runs\" or \"stats\""), "{}", denied.message);
    }

    #[test]
    fn an_unknown_failure_shows_the_services_code_not_the_sdks_debug_text() {
        let other = failure(
            StoreErrorKind::Other,
            None,
            "Query failed: unhandled error (Unknown): Error { code: None, meta: {hyper::ext::h1_reason_phrase: [70, 111]} }",
        );
        assert_eq!(
            other.message,
            "AWS refused Query at http://127.0.0.1:5000 (region us-east-1): unhandled error"
        );
    }
}
