//! The HTTP request and response as a Lambda function URL (and API Gateway's HTTP API, payload
//! 2.0) hands them over. Only the fields Overrun reads are declared: this is the whole contract.

use std::collections::HashMap;

use std::io::Read;

use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize};

use crate::refusal::Refusal;

/// Largest body accepted, decoded: an OpenLineage event with schema and column-lineage facets
/// runs to tens of kilobytes, a GitHub `workflow_job` delivery to a few.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRequest {
    #[serde(default, deserialize_with = "null_as_default")]
    pub raw_path: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub raw_query_string: String,
    /// Header names are lower case (the function URL folds them).
    #[serde(default, deserialize_with = "null_as_default")]
    pub headers: HashMap<String, String>,
    pub request_context: RequestContext,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_base64_encoded: bool,
}

/// Emulators and proxies send `null` for an absent query string or header map.
fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RequestContext {
    pub http: HttpContext,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct HttpContext {
    pub method: String,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn method(&self) -> &str {
        &self.request_context.http.method
    }

    /// The body's bytes as the sender wrote them (signatures are over these), gzip undone;
    /// refused when too large, before or after decompression, or otherwise encoded.
    pub fn body_bytes(&self) -> Result<Vec<u8>, Refusal> {
        let gzipped = match self.header("content-encoding").map(str::trim) {
            None | Some("") => false,
            Some(encoding) if encoding.eq_ignore_ascii_case("identity") => false,
            Some(encoding) if encoding.eq_ignore_ascii_case("gzip") => true,
            Some(encoding) => {
                return Err(Refusal::unsupported_media(format!(
                    "content-encoding {encoding:?} is not accepted: send the body plain or gzip"
                )));
            }
        };
        let body = self.body.as_deref().unwrap_or_default();
        // Base64 is 4 characters per 3 bytes: refuse before decoding what cannot fit.
        let encoded_limit =
            if self.is_base64_encoded { MAX_BODY_BYTES.div_ceil(3) * 4 } else { MAX_BODY_BYTES };
        if body.len() > encoded_limit {
            return Err(Refusal::too_large(body.len(), MAX_BODY_BYTES));
        }
        let bytes = if self.is_base64_encoded {
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .map_err(|e| Refusal::bad_request(format!("body: not valid base64 ({e})")))?
        } else {
            body.as_bytes().to_vec()
        };
        let bytes = if gzipped { gunzip(&bytes)? } else { bytes };
        if bytes.len() > MAX_BODY_BYTES {
            return Err(Refusal::too_large(bytes.len(), MAX_BODY_BYTES));
        }
        Ok(bytes)
    }
}

/// Undoes gzip, reading at most one byte past the limit, so a small body that inflates to
/// gigabytes costs no more than the limit.
fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, Refusal> {
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut plain)
        .map_err(|e| Refusal::bad_request(format!("body: not valid gzip ({e})")))?;
    Ok(plain)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpResponse {
    pub status_code: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
    pub is_base64_encoded: bool,
    pub cookies: Vec<String>,
}

impl HttpResponse {
    pub fn json(status_code: u16, body: &serde_json::Value) -> Self {
        let headers = HashMap::from([("content-type".to_owned(), "application/json".to_owned())]);
        Self { status_code, headers, body: body.to_string(), is_base64_encoded: false, cookies: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &str, base64: bool) -> HttpRequest {
        HttpRequest { body: Some(body.to_owned()), is_base64_encoded: base64, ..HttpRequest::default() }
    }

    #[test]
    fn a_function_url_event_reads_its_path_method_headers_and_body() {
        let event = serde_json::json!({"version": "2.0", "routeKey": "$default", "rawPath": "/github",
            "rawQueryString": "a=1", "headers": {"x-github-event": "ping", "content-type": "application/json"},
            "requestContext": {"accountId": "123456789012", "http": {"method": "POST", "path": "/github",
            "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "GitHub-Hookshot/abc"}, "requestId": "r"},
            "body": "eyJ6ZW4iOiAxfQ==", "isBase64Encoded": true});
        let request: HttpRequest = serde_json::from_value(event).unwrap();
        assert_eq!(
            (request.method(), request.raw_path.as_str(), request.raw_query_string.as_str()),
            ("POST", "/github", "a=1")
        );
        assert_eq!(request.header("x-github-event"), Some("ping"));
        assert_eq!(request.body_bytes().unwrap(), br#"{"zen": 1}"#);
    }

    fn gzipped(plain: &[u8]) -> HttpRequest {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(plain).unwrap();
        let body = base64::engine::general_purpose::STANDARD.encode(encoder.finish().unwrap());
        let mut request = request(&body, true);
        request.headers.insert("content-encoding".to_owned(), "gzip".to_owned());
        request
    }

    #[test]
    fn a_gzip_body_is_inflated_and_a_gzip_bomb_or_broken_gzip_is_refused() {
        assert_eq!(gzipped(br#"{"eventType": "START"}"#).body_bytes().unwrap(), br#"{"eventType": "START"}"#);
        let bomb = gzipped(&vec![b' '; 8 * MAX_BODY_BYTES]);
        assert!(bomb.body.as_ref().unwrap().len() < MAX_BODY_BYTES / 4, "within the limit on the wire");
        assert_eq!(bomb.body_bytes().unwrap_err().status, 413);
        let mut broken = request("not gzip", false);
        broken.headers.insert("content-encoding".to_owned(), "gzip".to_owned());
        assert!(broken.body_bytes().unwrap_err().reason.starts_with("body: not valid gzip"));
    }

    #[test]
    fn null_query_headers_and_body_read_as_empty() {
        let event = serde_json::json!({"rawPath": "/health", "rawQueryString": null, "headers": null, "body": null,
            "isBase64Encoded": null, "requestContext": {"http": {"method": "GET"}}});
        let request: HttpRequest = serde_json::from_value(event).unwrap();
        assert_eq!((request.raw_query_string.as_str(), request.headers.len()), ("", 0));
        assert_eq!(request.body_bytes().unwrap(), b"");
    }

    #[test]
    fn bodies_over_the_limit_bad_base64_and_compressed_bodies_are_refused() {
        let big = "x".repeat(MAX_BODY_BYTES + 1);
        assert_eq!(request(&big, false).body_bytes().unwrap_err().status, 413);
        let encoded = base64::engine::general_purpose::STANDARD.encode(&big);
        assert_eq!(request(&encoded, true).body_bytes().unwrap_err().status, 413);
        assert_eq!(request("not base64!", true).body_bytes().unwrap_err().status, 400);
        let mut brotli = request("{}", false);
        brotli.headers.insert("content-encoding".to_owned(), "br".to_owned());
        assert_eq!(brotli.body_bytes().unwrap_err().status, 415);
        assert_eq!(request(&"x".repeat(MAX_BODY_BYTES), false).body_bytes().unwrap().len(), MAX_BODY_BYTES);
    }
}
