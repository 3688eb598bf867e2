//! Posting a JSON body to a destination, at least once: transport errors, 429 and 5xx answers
//! are retried with a doubling backoff; any other refusal is an error naming the destination's
//! answer.

use std::time::Duration;

use serde_json::Value;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DeliveryError {
    #[error("{destination} refused the message ({status}): {answer}")]
    Refused { destination: &'static str, status: u16, answer: String },
    #[error("{destination} did not take the message after {attempts} attempts: {last}")]
    GaveUp { destination: &'static str, attempts: u32, last: String },
}

pub use overrun_core::ports::{Answer, PostError, Poster};

/// Posts with ureq, every call bounded in time.
pub struct HttpPoster {
    agent: ureq::Agent,
}

impl HttpPoster {
    pub fn new(timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Self { agent }
    }
}

impl Poster for HttpPoster {
    fn post(&self, url: &str, body: &str) -> Result<Answer, PostError> {
        let mut response = self
            .agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(body)
            .map_err(|e| PostError { message: e.to_string(), source: Some(Box::new(e)) })?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        Ok(Answer { status, text })
    }
}

/// How many times, and how long between.
#[derive(Debug, Clone, Copy)]
pub struct Retries {
    pub attempts: u32,
    pub first_backoff: Duration,
}

pub fn deliver(
    poster: &dyn Poster,
    destination: &'static str,
    url: &str,
    body: &Value,
    retries: Retries,
) -> Result<(), DeliveryError> {
    let mut backoff = retries.first_backoff;
    let mut last = String::new();
    let body = body.to_string();
    for attempt in 1..=retries.attempts {
        match poster.post(url, &body) {
            Ok(Answer { status, .. }) if (200..300).contains(&status) => return Ok(()),
            Ok(Answer { status, text }) if status == 429 || status >= 500 => {
                last = format!("{status}: {text}")
            }
            Ok(Answer { status, text }) => {
                return Err(DeliveryError::Refused { destination, status, answer: text });
            }
            Err(error) => last = error.to_string(),
        }
        if attempt < retries.attempts {
            std::thread::sleep(backoff);
            backoff *= 2;
        }
    }
    Err(DeliveryError::GaveUp { destination, attempts: retries.attempts, last })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    struct Scripted(Mutex<Vec<Result<(u16, &'static str), &'static str>>>);

    impl Poster for Scripted {
        fn post(&self, _: &str, _: &str) -> Result<Answer, PostError> {
            match self.0.lock().unwrap().remove(0) {
                Ok((status, text)) => Ok(Answer { status, text: text.into() }),
                Err(message) => Err(PostError::new(message)),
            }
        }
    }

    const FAST: Retries = Retries { attempts: 3, first_backoff: Duration::from_millis(1) };

    #[test]
    fn throttling_server_errors_and_lost_connections_are_retried_and_a_refusal_is_not() {
        let flaky = Scripted(Mutex::new(vec![Ok((429, "slow")), Err("reset"), Ok((202, "{}"))]));
        assert_eq!(deliver(&flaky, "PagerDuty", "u", &Value::Null, FAST), Ok(()));
        let down = Scripted(Mutex::new(vec![Ok((503, "a")), Ok((502, "b")), Ok((500, "c"))]));
        assert_eq!(
            deliver(&down, "PagerDuty", "u", &Value::Null, FAST),
            Err(DeliveryError::GaveUp { destination: "PagerDuty", attempts: 3, last: "500: c".into() })
        );
        let refused = Scripted(Mutex::new(vec![Ok((400, "Invalid routing key"))]));
        assert_eq!(
            deliver(&refused, "PagerDuty", "u", &Value::Null, FAST),
            Err(DeliveryError::Refused {
                destination: "PagerDuty",
                status: 400,
                answer: "Invalid routing key".into()
            })
        );
    }
}
