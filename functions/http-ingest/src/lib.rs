//! The HTTPS ingest endpoint (a Lambda function URL): OpenLineage run events, GitHub Actions
//! `workflow_job` webhooks and check-ins, each on its own path, authenticated with the sources'
//! secrets, parsed by `overrun_sources::webhooks`, and recorded as the EventBridge ingest function
//! records its events.
//!
//! - [`request`]: the function URL's request and response;
//! - [`route`]: which source a path is for;
//! - [`auth`], [`secrets`]: the sources' secrets, where they are read, and the checks;
//! - [`admit`]: authenticate and parse, writing nothing;
//! - [`handler`]: find a check-in's run, record, answer.

pub mod admit;
pub mod auth;
pub mod handler;
pub mod refusal;
pub mod request;
pub mod route;
pub mod secrets;

pub use handler::{Deps, Handled, handle};
pub use refusal::Refusal;
pub use request::{HttpRequest, HttpResponse};
pub use secrets::{CachedSecrets, SecretSource, SecretsManagerSource};
