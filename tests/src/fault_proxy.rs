//! A fault-injecting HTTP proxy between the SDK clients and the local AWS endpoint, on
//! 127.0.0.1, started and stopped by the test that uses it.
//!
//! Each request is matched against rules (an operation, a piece of its body, how many to let
//! through first and how many to hit), then against an optional seeded random fault rate. A hit
//! answers with an HTTP 500 or a throttling error in the service's own format, adds latency,
//! drops the connection before the request reaches the endpoint, drops it after the endpoint
//! applied the request (the answer is lost), or never answers.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use overrun_core::evaluation::rng::SplitMix64;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What happens to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 500, in the service's error format.
    ServerError,
    /// `ThrottlingException` (DynamoDB), `Throttling` (SNS).
    Throttle,
    /// `ProvisionedThroughputExceededException` (DynamoDB; SNS gets `Throttling`).
    ThroughputExceeded,
    /// Forwarded after a delay.
    Latency(Duration),
    /// The connection drops before the request reaches the endpoint.
    ResetBefore,
    /// The endpoint applies the request; the connection drops before its answer.
    ResetAfter,
    /// No answer, ever (until the client gives up).
    Hang,
}

/// Which requests a rule hits.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `UpdateItem`, `Publish`, …; `*` for any.
    pub operation: String,
    /// Only requests whose body contains all of these.
    pub body_contains: Vec<String>,
    /// Matching requests let through before the rule starts hitting.
    pub skip: usize,
    /// Matching requests hit, after which the rule is spent.
    pub times: usize,
    pub fault: Fault,
}

impl Rule {
    pub fn new(operation: &str, fault: Fault) -> Self {
        Self { operation: operation.to_owned(), body_contains: Vec::new(), skip: 0, times: 1, fault }
    }
    pub fn containing(mut self, text: &str) -> Self {
        self.body_contains.push(text.to_owned());
        self
    }
    pub fn times(mut self, times: usize) -> Self {
        self.times = times;
        self
    }
    pub fn after(mut self, skip: usize) -> Self {
        self.skip = skip;
        self
    }

    fn matches(&self, operation: &str, body: &str) -> bool {
        (self.operation == "*" || self.operation == operation)
            && self.body_contains.iter().all(|part| body.contains(part.as_str()))
    }
}

/// One request the proxy saw, and what it did to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub operation: String,
    pub fault: Option<Fault>,
    pub body: String,
}

struct RandomFaults {
    rate: f64,
    rng: SplitMix64,
    faults: Vec<Fault>,
}

struct State {
    upstream: String,
    client: Client<HttpConnector, Full<Bytes>>,
    rules: Mutex<Vec<Rule>>,
    random: Mutex<Option<RandomFaults>>,
    seen: Mutex<Vec<Seen>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl State {
    fn decide(&self, operation: &str, body: &str) -> Option<Fault> {
        for rule in lock(&self.rules).iter_mut().filter(|rule| rule.times > 0) {
            if !rule.matches(operation, body) {
                continue;
            }
            if rule.skip > 0 {
                rule.skip -= 1;
                return None;
            }
            rule.times -= 1;
            return Some(rule.fault);
        }
        let mut random = lock(&self.random);
        let random = random.as_mut()?;
        if random.rng.unit() < random.rate {
            let index = random.rng.below(random.faults.len() as u64) as usize;
            return Some(random.faults[index]);
        }
        None
    }
}

/// The proxy; stops listening when dropped.
pub struct FaultProxy {
    pub url: String,
    state: Arc<State>,
    listener: JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy on a free 127.0.0.1 port in front of `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str) -> Self {
        let listener =
            TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("binding 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().expect("a bound address"));
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            rules: Mutex::new(Vec::new()),
            random: Mutex::new(None),
            seen: Mutex::new(Vec::new()),
        });
        let accepting = Arc::clone(&state);
        let listener = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&accepting);
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(Arc::clone(&state), request));
                    // A dropped connection ends here; that is the point of some faults.
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Self { url, state, listener }
    }

    pub fn add(&self, rule: Rule) {
        lock(&self.state.rules).push(rule);
    }

    /// Clears every rule and the random faults: the network heals.
    pub fn heal(&self) {
        lock(&self.state.rules).clear();
        *lock(&self.state.random) = None;
    }

    /// Hits each request with probability `rate`, with one of `faults` (seeded).
    pub fn random(&self, rate: f64, seed: u64, faults: &[Fault]) {
        *lock(&self.state.random) =
            Some(RandomFaults { rate, rng: SplitMix64::new(seed), faults: faults.to_vec() });
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        lock(&self.state.seen).clone()
    }

    /// How many requests of `operation` (with all of `body_contains`) met `fault`.
    pub fn count(&self, operation: &str, fault: Fault, body_contains: &[&str]) -> usize {
        lock(&self.state.seen)
            .iter()
            .filter(|seen| {
                seen.operation == operation
                    && seen.fault == Some(fault)
                    && body_contains.iter().all(|part| seen.body.contains(part))
            })
            .count()
    }
}

/// The operation a request calls: DynamoDB names it in `X-Amz-Target`, SNS in its form body.
fn operation(request: &hyper::http::request::Parts, body: &str) -> String {
    if let Some(target) = request.headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return target.rsplit('.').next().unwrap_or(target).to_owned();
    }
    body.split('&').find_map(|pair| pair.strip_prefix("Action=")).unwrap_or("?").to_owned()
}

fn dropped() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::ConnectionReset, "fault proxy: connection dropped")
}

async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(|_| dropped())?.to_bytes();
    let text = String::from_utf8_lossy(&body).into_owned();
    let operation = operation(&parts, &text);
    let fault = state.decide(&operation, &text);
    let dynamodb = parts.headers.contains_key("x-amz-target");
    lock(&state.seen).push(Seen { operation, fault, body: text });
    match fault {
        None => forward(&state, parts, body).await,
        Some(Fault::Latency(delay)) => {
            tokio::time::sleep(delay).await;
            forward(&state, parts, body).await
        }
        Some(Fault::ResetBefore) => Err(dropped()),
        Some(Fault::ResetAfter) => {
            forward(&state, parts, body).await?;
            Err(dropped())
        }
        Some(Fault::Hang) => {
            tokio::time::sleep(Duration::from_secs(3_600)).await;
            Err(dropped())
        }
        Some(fault) => Ok(error_response(fault, dynamodb)),
    }
}

async fn forward(
    state: &State,
    parts: hyper::http::request::Parts,
    body: Bytes,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut upstream = Request::builder().method(parts.method).uri(format!("{}{path}", state.upstream));
    for (name, value) in &parts.headers {
        upstream = upstream.header(name, value);
    }
    let upstream = upstream.body(Full::new(body)).map_err(std::io::Error::other)?;
    let response = state.client.request(upstream).await.map_err(std::io::Error::other)?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(std::io::Error::other)?.to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}

fn error_response(fault: Fault, dynamodb: bool) -> Response<Full<Bytes>> {
    let (status, dynamodb_type, sns_code) = match fault {
        Fault::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", "InternalError"),
        Fault::Throttle => (StatusCode::BAD_REQUEST, "ThrottlingException", "Throttling"),
        _ => (StatusCode::BAD_REQUEST, "ProvisionedThroughputExceededException", "Throttling"),
    };
    let (content_type, body) = if dynamodb {
        (
            "application/x-amz-json-1.0",
            format!(
                r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{dynamodb_type}","message":"injected by the fault proxy"}}"#
            ),
        )
    } else {
        let kind = if status.is_server_error() { "Receiver" } else { "Sender" };
        (
            "text/xml",
            format!(
                r#"<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>{kind}</Type><Code>{sns_code}</Code><Message>injected by the fault proxy</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"#
            ),
        )
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static(content_type));
    if dynamodb {
        if let Ok(value) = hyper::header::HeaderValue::from_str(dynamodb_type) {
            response.headers_mut().insert("x-amzn-errortype", value);
        }
    }
    response
}
