//! Reading an event's fields: each value checked, each error naming its field, and every time
//! told apart from the wrong unit and held to a plausible window.

use overrun_core::notify::humanize::{utc_minute, utc_second};
use overrun_core::ports::{RunFinished, RunStarted, TaskEvent};
use overrun_core::time::{MS_PER_DAY, parse_timestamp};
use overrun_core::{CohortId, EpochMs, RunId, RunStatus, TaskType};
use serde_json::Value;
use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
#[error("{field}: {problem}")]
pub struct EventError {
    pub field: String,
    pub problem: String,
}

pub(crate) fn error(field: &str, problem: impl Into<String>) -> EventError {
    EventError { field: field.to_owned(), problem: problem.into() }
}

/// The times an event may carry: none older than the retention (its run would be expired at
/// once, or the clock or unit is wrong), none further ahead of when it arrived than the
/// clock-skew allowance (a fast clock: a start from the future could not page until then, a
/// finish from the future would stand against the real one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    pub now: EpochMs,
    pub retention_ms: i64,
    /// How far ahead of `now` a time may be.
    pub ahead_ms: i64,
}

/// Epoch values above this are milliseconds where seconds were expected (it is the year 5138 in
/// seconds), and epoch milliseconds below it are seconds (it is March 1973 in milliseconds).
const EPOCH_UNIT_BOUNDARY: f64 = 1e11;
/// 9999-12-31T23:59:59.999Z: no time past it is a time.
const LATEST_TIME_MS: f64 = 253_402_300_799_999.0;

pub(crate) struct Fields<'a> {
    object: &'a serde_json::Map<String, Value>,
    prefix: &'static str,
    window: Option<TimeWindow>,
}

impl<'a> Fields<'a> {
    pub(crate) fn of(
        value: &'a Value,
        prefix: &'static str,
        window: Option<TimeWindow>,
    ) -> Result<Self, EventError> {
        let name = if prefix.is_empty() { "event" } else { prefix.trim_end_matches('.') };
        value
            .as_object()
            .map(|object| Self { object, prefix, window })
            .ok_or_else(|| error(name, "must be a JSON object"))
    }

    /// Refuses a time outside the window, naming the field.
    pub(crate) fn plausible(&self, key: &str, at: EpochMs) -> Result<EpochMs, EventError> {
        let Some(window) = self.window else { return Ok(at) };
        let oldest = window.now.saturating_sub(window.retention_ms);
        if at < oldest {
            return Err(error(
                &self.name(key),
                format!(
                    "{} is more than the {}-day retention before now ({}): a wrong clock or unit, or a run too old to record",
                    utc_minute(at),
                    window.retention_ms / MS_PER_DAY,
                    utc_minute(window.now)
                ),
            ));
        }
        if at > window.now.saturating_add(window.ahead_ms) {
            return Err(error(
                &self.name(key),
                format!(
                    "{} is more than the clock-skew allowance ({} s) after now ({}): the sender's clock is fast",
                    utc_second(at),
                    window.ahead_ms / 1_000,
                    utc_second(window.now)
                ),
            ));
        }
        Ok(at)
    }

    /// An object inside this one, read with its own prefix (`None` when absent).
    pub(crate) fn nested(&self, key: &str, prefix: &'static str) -> Result<Option<Fields<'a>>, EventError> {
        match self.get(key) {
            None => Ok(None),
            Some(value @ Value::Object(_)) => Fields::of(value, prefix, self.window).map(Some),
            Some(other) => Err(error(&self.name(key), format!("must be a JSON object, found {other}"))),
        }
    }

    /// An identifier given as a string or a whole number (GitHub's ids are numbers).
    pub(crate) fn id(&self, key: &str) -> Result<String, EventError> {
        match self.get(key) {
            Some(Value::Number(number)) if number.is_u64() => Ok(number.to_string()),
            Some(Value::String(_)) | None => self.string(key).map(str::to_owned),
            Some(other) => Err(error(
                &self.name(key),
                format!("must be an id (a string or a whole number), found {other}"),
            )),
        }
    }

    /// A string that may be absent.
    pub(crate) fn optional_string(&self, key: &str) -> Result<Option<&'a str>, EventError> {
        match self.get(key) {
            None => Ok(None),
            Some(_) => self.string(key).map(Some),
        }
    }

    pub(crate) fn name(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.object.get(key).filter(|v| !v.is_null())
    }

    pub(crate) fn string(&self, key: &str) -> Result<&'a str, EventError> {
        match self.get(key) {
            None => Err(error(&self.name(key), "is missing")),
            Some(Value::String(text)) => Ok(text),
            Some(other) => Err(error(&self.name(key), format!("must be a string, found {other}"))),
        }
    }

    /// A time given as RFC 3339 text or as epoch milliseconds (`epoch_unit_ms`) or seconds.
    pub(crate) fn time(&self, key: &str, epoch_unit_ms: bool) -> Result<Option<EpochMs>, EventError> {
        let at = match self.get(key) {
            None => return Ok(None),
            Some(Value::String(text)) => {
                parse_timestamp(text).map_err(|e| error(&self.name(key), e.to_string()))?
            }
            Some(Value::Number(number)) => self.epoch(key, number, epoch_unit_ms)?,
            Some(other) => return Err(error(&self.name(key), format!("must be a timestamp, found {other}"))),
        };
        self.plausible(key, at).map(Some)
    }

    /// An epoch number in the unit the field takes, refusing the other unit.
    fn epoch(
        &self,
        key: &str,
        number: &serde_json::Number,
        epoch_unit_ms: bool,
    ) -> Result<EpochMs, EventError> {
        let field = self.name(key);
        let value = number
            .as_f64()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| error(&field, format!("{number} is not a valid time")))?;
        match epoch_unit_ms {
            false if value >= EPOCH_UNIT_BOUNDARY => Err(error(
                &field,
                format!(
                    "{number} looks like epoch milliseconds; this field takes epoch seconds (or RFC 3339 text)"
                ),
            )),
            true if value > 0.0 && value < EPOCH_UNIT_BOUNDARY => Err(error(
                &field,
                format!("{number} looks like epoch seconds; this field takes epoch milliseconds"),
            )),
            _ => {
                let ms = if epoch_unit_ms { value } else { (value * 1_000.0).round() };
                if ms > LATEST_TIME_MS {
                    return Err(error(&field, format!("{number} is past the year 9999")));
                }
                Ok(ms as EpochMs)
            }
        }
    }

    pub(crate) fn required_time(&self, key: &str, epoch_unit_ms: bool) -> Result<EpochMs, EventError> {
        self.time(key, epoch_unit_ms)?.ok_or_else(|| error(&self.name(key), "is missing"))
    }
}

pub(crate) fn task_type(field: &str, value: &str) -> Result<TaskType, EventError> {
    TaskType::new(value).map_err(|e| error(field, e.to_string()))
}

pub(crate) fn run_id(field: &str, value: &str) -> Result<RunId, EventError> {
    RunId::new(value).map_err(|e| error(field, e.to_string()))
}

pub(crate) fn cohort_id(field: &str, value: &str) -> Result<CohortId, EventError> {
    CohortId::new(value).map_err(|e| error(field, e.to_string()))
}

pub(crate) struct Identity {
    pub(crate) task_type: TaskType,
    pub(crate) run_id: RunId,
    pub(crate) cohort: Option<CohortId>,
}

impl Identity {
    pub(crate) fn started(self, start: EpochMs) -> TaskEvent {
        TaskEvent::Started(RunStarted {
            numbered: !self.run_id.attempt().is_first(),
            task_type: self.task_type,
            run_id: self.run_id,
            start,
            cohort: self.cohort,
        })
    }

    pub(crate) fn finished(
        self,
        start: Option<EpochMs>,
        end: EpochMs,
        status: RunStatus,
        end_field: &str,
    ) -> Result<TaskEvent, EventError> {
        if let Some(start) = start
            && end < start
        {
            return Err(error(end_field, format!("end {end} ms is before start {start} ms")));
        }
        let Identity { task_type, run_id, cohort } = self;
        // Only a source's own attempt numbers after the first are taken as given: a first attempt
        // is placed by the recording rule, which agrees with the source's for a first attempt and
        // also catches an id reused for a new run.
        let numbered = !run_id.attempt().is_first();
        Ok(TaskEvent::Finished(RunFinished { task_type, run_id, numbered, start, end, status, cohort }))
    }
}
