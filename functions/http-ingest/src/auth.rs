//! Who may send: the sources' secrets (one JSON object in Secrets Manager) and the checks made
//! with them. GitHub signs each delivery's body with HMAC-SHA256 under the webhook secret
//! (`X-Hub-Signature-256`); OpenLineage transports and check-ins present a bearer token
//! (`Authorization: Bearer …`), one per source, so a leaked token is revoked alone. A source's
//! entry is its token (any route), or `{"token": …, "routes": ["/ping/backup/", …]}`: a token
//! bound to the paths that start with one of its routes, so a cron box's token cannot post
//! OpenLineage events or another job's check-ins.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;

use crate::refusal::Refusal;

/// The secret's key holding the GitHub webhook secret; every other key names a source and holds
/// its bearer token.
pub const GITHUB_KEY: &str = "github";
/// Shorter secrets are guessable: refused when the secret is read.
pub const MIN_SECRET_BYTES: usize = 16;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SecretsError {
    #[error("the sources' secret must be a JSON object of source name to secret: {0}")]
    NotAnObject(String),
    #[error("the sources' secret: {key:?} must be a string")]
    NotAString { key: String },
    #[error("the sources' secret: {key:?}: {problem}")]
    BadEntry { key: String, problem: String },
    #[error("the sources' secret: {key:?} is {len} bytes long; use at least {MIN_SECRET_BYTES} random bytes")]
    TooShort { key: String, len: usize },
}

/// The secrets, read once and kept: the GitHub key as is (an HMAC key), tokens only as their
/// SHA-256 digests (compared in constant time, never kept in clear).
#[derive(Clone, Default)]
pub struct SourceSecrets {
    github: Option<Vec<u8>>,
    tokens: Vec<Token>,
}

/// A source's token, kept as its digest, with the routes it is bound to (`None`: every route).
#[derive(Clone)]
struct Token {
    source: String,
    digest: [u8; 32],
    routes: Option<Vec<String>>,
}

impl fmt::Debug for SourceSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sources: Vec<&str> = self.tokens.iter().map(|token| token.source.as_str()).collect();
        f.debug_struct("SourceSecrets")
            .field("github", &self.github.is_some())
            .field("sources", &sources)
            .finish()
    }
}

impl SourceSecrets {
    pub fn parse(text: &str) -> Result<Self, SecretsError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| SecretsError::NotAnObject(e.to_string()))?;
        let object = value.as_object().ok_or_else(|| SecretsError::NotAnObject(format!("found {value}")))?;
        let mut secrets = Self::default();
        for (key, value) in object {
            let (secret, routes) = match value {
                serde_json::Value::Object(entry) if key != GITHUB_KEY => bound_token(key, entry)?,
                _ => (value.as_str().ok_or_else(|| SecretsError::NotAString { key: key.clone() })?, None),
            };
            if secret.len() < MIN_SECRET_BYTES {
                return Err(SecretsError::TooShort { key: key.clone(), len: secret.len() });
            }
            if key == GITHUB_KEY {
                secrets.github = Some(secret.as_bytes().to_vec());
            } else {
                let digest = Sha256::digest(secret.as_bytes()).into();
                secrets.tokens.push(Token { source: key.clone(), digest, routes });
            }
        }
        Ok(secrets)
    }

    /// Checks `sha256=<hex>` against the body's HMAC under the webhook secret.
    pub fn verify_github(&self, body: &[u8], signature: Option<&str>) -> Result<(), Refusal> {
        let key = self.github.as_deref().ok_or_else(|| {
            Refusal::unauthorized(format!(
                "no GitHub webhook secret is set: add a {GITHUB_KEY:?} key to the sources' secret"
            ))
        })?;
        let signature = signature.ok_or_else(|| Refusal::unauthorized("X-Hub-Signature-256 is missing"))?;
        let hex = signature
            .strip_prefix("sha256=")
            .ok_or_else(|| Refusal::unauthorized("X-Hub-Signature-256 must be sha256=<hex digest>"))?;
        let claimed =
            hex::decode(hex).map_err(|_| Refusal::unauthorized("X-Hub-Signature-256 is not hex"))?;
        let mut mac =
            Hmac::<Sha256>::new_from_slice(key).map_err(|_| Refusal::unauthorized("bad webhook secret"))?;
        mac.update(body);
        mac.verify_slice(&claimed).map_err(|_| {
            Refusal::unauthorized("X-Hub-Signature-256 does not match the body under the webhook secret")
        })
    }

    /// The source whose token the `Authorization: Bearer` header carries, if its token may use
    /// `path`.
    pub fn source_of(&self, authorization: Option<&str>, path: &str) -> Result<&str, Refusal> {
        let header =
            authorization.ok_or_else(|| Refusal::unauthorized("Authorization: Bearer <token> is missing"))?;
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(|| Refusal::unauthorized("Authorization must be Bearer <token>"))?;
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        // Every token is compared, so the time taken does not tell which one came close.
        let mut found = None;
        for token in &self.tokens {
            if bool::from(token.digest.ct_eq(&digest)) {
                found = Some(token);
            }
        }
        let token = found
            .ok_or_else(|| Refusal::unauthorized("the bearer token is not one of the sources' tokens"))?;
        match &token.routes {
            Some(routes) if !routes.iter().any(|route| route_opens(route, path)) => {
                Err(Refusal::forbidden(format!(
                    "the token of source {:?} may not use {path} (its routes: {})",
                    token.source,
                    routes.join(", ")
                )))
            }
            _ => Ok(token.source.as_str()),
        }
    }
}

/// Whether `route` opens `path`: the path itself, or a path below it — whole segments only, so
/// `/ping/backup` opens `/ping/backup/start` but not `/ping/backup-prod/start`.
fn route_opens(route: &str, path: &str) -> bool {
    match path.strip_prefix(route) {
        Some(rest) => rest.is_empty() || route.ends_with('/') || rest.starts_with('/'),
        None => false,
    }
}

/// A bound token's entry: `{"token": "…", "routes": ["/ping/backup/", …]}`, nothing else.
fn bound_token<'a>(
    key: &str,
    entry: &'a serde_json::Map<String, serde_json::Value>,
) -> Result<(&'a str, Option<Vec<String>>), SecretsError> {
    let bad = |problem: &str| SecretsError::BadEntry { key: key.to_owned(), problem: problem.to_owned() };
    if let Some(other) = entry.keys().find(|field| !matches!(field.as_str(), "token" | "routes")) {
        return Err(bad(&format!("{other:?} is not a field of a bound token (token, routes)")));
    }
    let token =
        entry.get("token").and_then(|t| t.as_str()).ok_or_else(|| bad("\"token\" must be a string"))?;
    let routes = entry
        .get("routes")
        .and_then(|r| r.as_array())
        .filter(|routes| !routes.is_empty())
        .ok_or_else(|| bad("\"routes\" must be a non-empty list of paths"))?
        .iter()
        .map(|route| match route.as_str() {
            Some(route) if route.starts_with('/') => Ok(route.to_owned()),
            _ => Err(bad("each route must be a path starting with /, such as /ping/backup/")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((token, Some(routes)))
}

#[cfg(test)]
mod route_tests {
    use super::*;

    const BOUND: &str = r#"{"cron-box": {"token": "cron-box-token-0123456789abcdef", "routes": ["/ping/backup/"]},
        "airflow-prod": "airflow-token-0123456789abcdef"}"#;

    #[test]
    fn a_bound_token_opens_only_its_routes_and_an_unbound_one_every_route() {
        let secrets = SourceSecrets::parse(BOUND).unwrap();
        let cron = Some("Bearer cron-box-token-0123456789abcdef");
        assert_eq!(secrets.source_of(cron, "/ping/backup/start"), Ok("cron-box"));
        let refused = secrets.source_of(cron, "/ping/billing/start").unwrap_err();
        assert_eq!(refused.status, 403);
        assert!(
            refused.reason.contains("may not use /ping/billing/start (its routes: /ping/backup/)"),
            "{}",
            refused.reason
        );
        assert_eq!(secrets.source_of(cron, "/api/v1/lineage").unwrap_err().status, 403);
        let segment = SourceSecrets::parse(
            r#"{"cron-box": {"token": "cron-box-token-0123456789abcdef", "routes": ["/ping/backup"]}}"#,
        )
        .unwrap();
        assert_eq!(segment.source_of(cron, "/ping/backup/start"), Ok("cron-box"));
        assert_eq!(
            segment.source_of(cron, "/ping/backup-prod/start").unwrap_err().status,
            403,
            "whole segments"
        );
        let airflow = Some("Bearer airflow-token-0123456789abcdef");
        assert_eq!(secrets.source_of(airflow, "/ping/anything/start"), Ok("airflow-prod"));
    }

    #[test]
    fn a_malformed_bound_entry_is_refused_naming_the_key() {
        for (entry, problem) in [
            (r#"{"a": {"token": "token-0123456789abcdef"}}"#, "routes"),
            (r#"{"a": {"token": "token-0123456789abcdef", "routes": []}}"#, "non-empty"),
            (r#"{"a": {"token": "token-0123456789abcdef", "routes": ["ping/"]}}"#, "starting with /"),
            (r#"{"a": {"routes": ["/ping/"]}}"#, "token"),
            (
                r#"{"a": {"token": "token-0123456789abcdef", "routes": ["/p/"], "route": "/x"}}"#,
                "not a field",
            ),
        ] {
            let error = SourceSecrets::parse(entry).unwrap_err().to_string();
            assert!(error.contains("\"a\"") && error.contains(problem), "{entry}: {error}");
        }
        assert!(matches!(
            SourceSecrets::parse(r#"{"a": {"token": "short", "routes": ["/p/"]}}"#),
            Err(SecretsError::TooShort { .. })
        ));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub const WEBHOOK_SECRET: &str = "It's a Secret to Everybody";
    pub const CRON_TOKEN: &str = "cron-box-token-0123456789abcdef";

    pub fn secrets() -> SourceSecrets {
        let text = serde_json::json!({ GITHUB_KEY: WEBHOOK_SECRET, "cron-box": CRON_TOKEN,
            "airflow-prod": "airflow-token-0123456789abcdef" })
        .to_string();
        SourceSecrets::parse(&text).unwrap()
    }

    pub fn sign(body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn githubs_documented_example_signature_verifies() {
        // GitHub's docs: secret "It's a Secret to Everybody", payload "Hello, World!".
        let expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign(b"Hello, World!"), expected);
        assert_eq!(secrets().verify_github(b"Hello, World!", Some(expected)), Ok(()));
    }

    #[test]
    fn a_wrong_missing_or_malformed_signature_is_refused() {
        let secrets = secrets();
        let good = sign(b"body");
        assert_eq!(secrets.verify_github(b"body!", Some(&good)).unwrap_err().status, 401);
        assert!(secrets.verify_github(b"body", None).unwrap_err().reason.contains("missing"));
        assert!(secrets.verify_github(b"body", Some("sha1=00")).unwrap_err().reason.contains("sha256="));
        assert!(secrets.verify_github(b"body", Some("sha256=zz")).unwrap_err().reason.contains("not hex"));
        let no_github = SourceSecrets::parse(r#"{"cron-box": "cron-box-token-0123456789abcdef"}"#).unwrap();
        assert!(
            no_github
                .verify_github(b"body", Some(&good))
                .unwrap_err()
                .reason
                .contains("no GitHub webhook secret")
        );
    }

    #[test]
    fn a_bearer_token_names_its_source_and_anything_else_is_refused() {
        let secrets = secrets();
        assert_eq!(secrets.source_of(Some(&format!("Bearer {CRON_TOKEN}")), "/ping/x/start"), Ok("cron-box"));
        assert_eq!(secrets.source_of(Some(&format!("bearer {CRON_TOKEN}")), "/ping/x/start"), Ok("cron-box"));
        for header in [None, Some("Basic abc"), Some("Bearer nope"), Some(WEBHOOK_SECRET)] {
            assert_eq!(secrets.source_of(header, "/ping/x/start").unwrap_err().status, 401, "{header:?}");
        }
        // The webhook secret is not a bearer token.
        assert!(secrets.source_of(Some(&format!("Bearer {WEBHOOK_SECRET}")), "/ping/x/start").is_err());
    }

    #[test]
    fn a_malformed_or_weak_secret_is_refused_naming_the_key_and_never_printed() {
        assert!(matches!(SourceSecrets::parse("[1]"), Err(SecretsError::NotAnObject(_))));
        assert_eq!(
            SourceSecrets::parse(r#"{"a": 1}"#).unwrap_err(),
            SecretsError::NotAString { key: "a".into() }
        );
        assert_eq!(
            SourceSecrets::parse(r#"{"a": "short"}"#).unwrap_err(),
            SecretsError::TooShort { key: "a".into(), len: 5 }
        );
        let shown = format!("{:?}", secrets());
        assert!(
            !shown.contains(CRON_TOKEN) && !shown.contains(WEBHOOK_SECRET) && shown.contains("cron-box"),
            "{shown}"
        );
    }
}
