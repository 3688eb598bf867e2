//! Errors of the adapters, classified once and converted to the core's port errors at the
//! boundary: each keeps its kind ([`StoreErrorKind`]), the service's error code, one line of
//! text with its whole chain of causes, and the SDK error itself as its source.

use std::error::Error as StdError;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use overrun_core::ports::{StoreError, StoreErrorKind};
use thiserror::Error;

/// A failure of the adapters: a store's (classified, as the ports report it) or a request that
/// could not be built.
#[derive(Debug, Error)]
pub enum AwsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("building a request failed: {0}")]
    Build(#[from] BuildError),
}

impl AwsError {
    /// A failure the adapter itself decided (items still unprocessed after every retry, say).
    pub fn failed(operation: &'static str, kind: StoreErrorKind, message: String) -> Self {
        AwsError::Store(StoreError::service(operation, kind, message))
    }
}

/// An SDK error, classified, with its whole chain of causes (which the SDK's own Display
/// leaves out) and the error itself kept as the source.
pub fn service<E>(operation: &'static str, error: SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let status = error.raw_response().map(|response| response.status().as_u16());
    let code = error.code().map(str::to_owned).or_else(|| {
        let body = error.raw_response().and_then(|response| response.body().bytes())?;
        xml_error_code(body).map(str::to_owned)
    });
    let transport = match &error {
        SdkError::TimeoutError(_) => Transport::NoAnswer,
        SdkError::DispatchFailure(failure) if failure.is_timeout() || failure.is_io() => Transport::NoAnswer,
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) => Transport::NotSent,
        _ => Transport::Answered,
    };
    let message = DisplayErrorContext(&error).to_string();
    let kind = classify(transport, code.as_deref(), error.message(), status, &message);
    AwsError::Store(StoreError::Service { operation, kind, code, message, source: Some(Box::new(error)) })
}

/// The code of an error answered in XML (`<Code>InvalidClientTokenId</Code>`), which a JSON
/// protocol's parser leaves unread: IAM-style rejections from emulators and some proxies.
fn xml_error_code(body: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(body).ok()?;
    let (_, after) = text.split_once("<Code>")?;
    let (code, _) = after.split_once("</Code>")?;
    let code = code.trim();
    (!code.is_empty() && code.len() <= 64 && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '.'))
        .then_some(code)
}

/// How far a request got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// No connection, or no answer in time.
    NoAnswer,
    /// Never sent: the request could not be built or signed (no credentials, no region).
    NotSent,
    /// The service answered with an error.
    Answered,
}

/// The kind of a failure from how far its request got, the service's error code and message,
/// the HTTP status, and (to tell a missing credential from other failures before sending) the
/// error's text.
pub fn classify(
    transport: Transport,
    code: Option<&str>,
    service_message: Option<&str>,
    status: Option<u16>,
    text: &str,
) -> StoreErrorKind {
    let lower = text.to_ascii_lowercase();
    match transport {
        Transport::NoAnswer => return StoreErrorKind::Unreachable,
        Transport::NotSent if lower.contains("credential") || lower.contains("no auth scheme") => {
            return StoreErrorKind::NoCredentials;
        }
        Transport::NotSent => return StoreErrorKind::Unreachable,
        Transport::Answered => {}
    }
    match code {
        // A missing index of a table that exists (DynamoDB says so with a ValidationException,
        // some emulators with this code): the table is another one.
        Some("ResourceNotFoundException")
            if service_message.unwrap_or(text).to_ascii_lowercase().contains("index") =>
        {
            StoreErrorKind::WrongTableShape
        }
        Some("ResourceNotFoundException") => StoreErrorKind::NoSuchTable,
        Some(
            "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "IncompleteSignature"
            | "InvalidClientTokenId"
            | "ExpiredTokenException"
            | "ExpiredToken"
            | "MissingAuthenticationToken",
        ) => StoreErrorKind::InvalidToken,
        Some("AccessDeniedException" | "AccessDenied" | "AuthorizationError") => StoreErrorKind::AccessDenied,
        Some(
            "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "Throttling"
            | "RequestLimitExceeded"
            | "ThrottledException",
        ) => StoreErrorKind::Throttled,
        Some("ValidationException") if names_the_table_shape(service_message.unwrap_or(text)) => {
            StoreErrorKind::WrongTableShape
        }
        Some(_) => StoreErrorKind::Other,
        None => match status {
            Some(401) => StoreErrorKind::InvalidToken,
            Some(403) => StoreErrorKind::AccessDenied,
            Some(429) => StoreErrorKind::Throttled,
            _ => StoreErrorKind::Other,
        },
    }
}

/// A validation error about the table's keys or indexes: the request was Overrun's, the table
/// is not the one it expects.
fn names_the_table_shape(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    ["key element", "key schema", "the key ", "keys ", "missing the key", "index"]
        .iter()
        .any(|phrase| lower.contains(phrase))
}

impl From<AwsError> for StoreError {
    fn from(error: AwsError) -> Self {
        match error {
            AwsError::Store(error) => error,
            AwsError::Build(build) => StoreError::Service {
                operation: "request",
                kind: StoreErrorKind::Other,
                code: None,
                message: build.to_string(),
                source: Some(Box::new(build)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(code: &str, message: &str) -> StoreErrorKind {
        classify(Transport::Answered, Some(code), Some(message), Some(400), message)
    }

    #[test]
    fn an_error_code_answered_in_xml_is_read_and_anything_else_is_not() {
        let moto = b"<?xml version=\"1.0\"?><ErrorResponse><Errors><Error><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error></Errors></ErrorResponse>";
        assert_eq!(xml_error_code(moto), Some("InvalidClientTokenId"));
        assert_eq!(xml_error_code(b"<Code></Code>"), None);
        assert_eq!(xml_error_code(b"<Code>a b <script></Code>"), None);
        assert_eq!(xml_error_code(b"{\"__type\":\"x\"}"), None);
        assert_eq!(xml_error_code(&[0xff, 0xfe]), None);
    }

    #[test]
    fn no_answer_is_unreachable_and_an_unsigned_request_lacks_credentials() {
        assert_eq!(classify(Transport::NoAnswer, None, None, None, "io error"), StoreErrorKind::Unreachable);
        let no_credentials = "dispatch failure: other: an error occurred while loading credentials";
        assert_eq!(
            classify(Transport::NotSent, None, None, None, no_credentials),
            StoreErrorKind::NoCredentials
        );
        assert_eq!(classify(Transport::NotSent, None, None, None, "dns error"), StoreErrorKind::Unreachable);
    }

    #[test]
    fn the_services_error_codes_name_their_kind() {
        assert_eq!(
            answered("ResourceNotFoundException", "Requested resource not found"),
            StoreErrorKind::NoSuchTable
        );
        assert_eq!(
            answered("UnrecognizedClientException", "The security token"),
            StoreErrorKind::InvalidToken
        );
        assert_eq!(answered("ExpiredTokenException", "expired"), StoreErrorKind::InvalidToken);
        assert_eq!(answered("AccessDeniedException", "not authorized"), StoreErrorKind::AccessDenied);
        assert_eq!(answered("ProvisionedThroughputExceededException", "rate"), StoreErrorKind::Throttled);
        assert_eq!(answered("ThrottlingException", "rate"), StoreErrorKind::Throttled);
        assert_eq!(answered("InternalServerError", "oops"), StoreErrorKind::Other);
    }

    #[test]
    fn a_validation_error_about_keys_or_indexes_is_a_wrong_table_shape() {
        let swapped = "The provided key element does not match the schema";
        assert_eq!(answered("ValidationException", swapped), StoreErrorKind::WrongTableShape);
        let no_index = "The table does not have the specified index: running";
        assert_eq!(answered("ValidationException", no_index), StoreErrorKind::WrongTableShape);
        let emulated = "Invalid index: running for table: stats. Available indexes are: ";
        assert_eq!(answered("ResourceNotFoundException", emulated), StoreErrorKind::WrongTableShape);
        let too_long = "Item size has exceeded the maximum allowed size";
        assert_eq!(answered("ValidationException", too_long), StoreErrorKind::Other);
    }

    #[test]
    fn a_bare_status_without_a_code_still_has_a_kind() {
        let bare = |status| classify(Transport::Answered, None, None, Some(status), "unhandled error");
        assert_eq!(bare(403), StoreErrorKind::AccessDenied);
        assert_eq!(bare(401), StoreErrorKind::InvalidToken);
        assert_eq!(bare(429), StoreErrorKind::Throttled);
        assert_eq!(bare(500), StoreErrorKind::Other);
    }

    #[test]
    fn a_store_error_keeps_the_kind_the_code_and_the_source() {
        let aws = AwsError::failed("BatchGetItem", StoreErrorKind::Throttled, "3 keys unprocessed".into());
        let store = StoreError::from(aws);
        assert_eq!(store.kind(), Some(StoreErrorKind::Throttled));
        assert_eq!(store.to_string(), "BatchGetItem failed: 3 keys unprocessed");
    }
}
