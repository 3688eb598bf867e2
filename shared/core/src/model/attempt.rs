//! A run's id and which attempt of it a run is: a job re-run under the id of an earlier run (a
//! Step Functions redrive, a date-named cron job run again) is a run of its own, its attempt
//! numbered from 1.

use std::borrow::Cow;
use std::fmt;
use std::num::NonZeroU32;

use super::origin::{ORIGIN_SEPARATOR, Origin};
use super::{ModelError, validate_name};

/// Between a run id and its attempt number in the run's stored key (attempts after the first):
/// the ASCII unit separator, a control character, which a run id can never contain, so
/// `"x"` attempt 2 and a run whose id is `"x#2"` never share a key.
pub const ATTEMPT_SEPARATOR: char = '\u{1F}';

/// Which attempt of a run id: 1 is the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Attempt(NonZeroU32);

impl Attempt {
    pub const FIRST: Self = Self(NonZeroU32::MIN);

    pub fn new(number: u32) -> Result<Self, ModelError> {
        NonZeroU32::new(number).map(Self).ok_or_else(|| ModelError::BadAttempt(number.to_string()))
    }

    pub fn get(self) -> u32 {
        self.0.get()
    }

    /// The attempt after this one, if there can be one.
    pub fn next(self) -> Option<Self> {
        self.0.checked_add(1).map(Self)
    }

    pub fn is_first(self) -> bool {
        self == Self::FIRST
    }
}

impl Default for Attempt {
    fn default() -> Self {
        Self::FIRST
    }
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for Attempt {
    type Err = ModelError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let number: u32 = text.trim().parse().map_err(|_| ModelError::BadAttempt(text.to_owned()))?;
        Self::new(number)
    }
}

/// Identifies one run of a task type: the id its source gave it, which attempt of that id it
/// is, and, for a run told of by another AWS account or region than the deployment's own, where
/// it ran (two accounts' executions `exec-1` are two runs). Shown as the id alone for a first
/// attempt at home (nearly every run), `id (attempt 2)` after, and
/// `id (account 123456789012, eu-west-1)` from elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId {
    id: Box<str>,
    attempt: Attempt,
    origin: Option<Box<Origin>>,
}

impl RunId {
    /// The first attempt of `value`.
    pub fn new(value: &str) -> Result<Self, ModelError> {
        Self::validate(value)?;
        Ok(Self { id: value.into(), attempt: Attempt::FIRST, origin: None })
    }

    /// Checks a borrowed value without allocating, for hot parsing loops.
    pub fn validate(value: &str) -> Result<(), ModelError> {
        validate_name("run id", value)
    }

    /// The same id at `attempt`.
    pub fn at_attempt(mut self, attempt: Attempt) -> Self {
        self.attempt = attempt;
        self
    }

    /// The same id and attempt, from `origin` (`None`: the deployment's own account and region).
    pub fn from_origin(mut self, origin: Option<Origin>) -> Self {
        self.origin = origin.map(Box::new);
        self
    }

    /// Where the run ran, when that is not the deployment's own account and region.
    pub fn origin(&self) -> Option<&Origin> {
        self.origin.as_deref()
    }

    /// Whether `other` is an attempt of the same id from the same place.
    pub fn same_id(&self, other: &RunId) -> bool {
        self.id == other.id && self.origin == other.origin
    }

    /// The id its source gave it, without the attempt or origin.
    pub fn as_str(&self) -> &str {
        &self.id
    }

    pub fn attempt(&self) -> Attempt {
        self.attempt
    }

    /// The run's key in the runs table: the id for a first attempt at home (so items stored
    /// before attempts and origins were told apart keep theirs), then [`ATTEMPT_SEPARATOR`] and
    /// the number after a first attempt; a foreign run's key starts with its origin and
    /// [`ORIGIN_SEPARATOR`].
    pub fn stored_key(&self) -> Cow<'_, str> {
        match (&self.origin, self.attempt.is_first()) {
            (None, true) => Cow::Borrowed(&self.id),
            (None, false) => Cow::Owned(format!("{}{ATTEMPT_SEPARATOR}{}", self.id, self.attempt)),
            (Some(origin), true) => Cow::Owned(format!("{origin}{ORIGIN_SEPARATOR}{}", self.id)),
            (Some(origin), false) => Cow::Owned(format!(
                "{origin}{ORIGIN_SEPARATOR}{}{ATTEMPT_SEPARATOR}{}",
                self.id, self.attempt
            )),
        }
    }

    /// The run a stored key names (the inverse of [`RunId::stored_key`]).
    pub fn from_stored_key(key: &str) -> Result<Self, ModelError> {
        let (origin, key) = match key.split_once(ORIGIN_SEPARATOR) {
            None => (None, key),
            Some((origin, rest)) => (Some(origin.parse::<Origin>()?), rest),
        };
        Ok(Self::from_home_stored_key(key)?.from_origin(origin))
    }

    fn from_home_stored_key(key: &str) -> Result<Self, ModelError> {
        match key.split_once(ATTEMPT_SEPARATOR) {
            None => Self::new(key),
            Some((id, number)) => {
                let attempt: Attempt = number.parse()?;
                if attempt.is_first() {
                    // The first attempt's key is the bare id: another spelling would be a second key.
                    return Err(ModelError::BadAttempt(number.to_owned()));
                }
                Ok(Self::new(id)?.at_attempt(attempt))
            }
        }
    }

    /// The first and last stored keys any attempt of this id can have, for a range read.
    pub fn stored_key_range(&self) -> (String, String) {
        let first = self.clone().at_attempt(Attempt::FIRST).stored_key().into_owned();
        // Attempt numbers are decimal digits, all below '~'.
        let last = format!("{first}{ATTEMPT_SEPARATOR}~");
        (first, last)
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)?;
        match (&self.origin, self.attempt.is_first()) {
            (None, true) => Ok(()),
            (None, false) => write!(f, " (attempt {})", self.attempt),
            (Some(origin), true) => write!(f, " (account {}, {})", origin.account(), origin.region()),
            (Some(origin), false) => {
                write!(f, " (attempt {}; account {}, {})", self.attempt, origin.account(), origin.region())
            }
        }
    }
}

impl TryFrom<&str> for RunId {
    type Error = ModelError;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl AsRef<str> for RunId {
    fn as_ref(&self) -> &str {
        &self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(id: &str) -> RunId {
        RunId::new(id).unwrap().at_attempt(Attempt::new(2).unwrap())
    }

    #[test]
    fn a_first_attempt_is_stored_and_shown_under_its_bare_id() {
        let run = RunId::new("exec-2025-01-31").unwrap();
        assert_eq!(run.stored_key(), "exec-2025-01-31");
        assert_eq!(run.to_string(), "exec-2025-01-31");
        assert_eq!(RunId::from_stored_key("exec-2025-01-31").unwrap(), run);
    }

    #[test]
    fn a_later_attempt_round_trips_through_its_stored_key_and_says_which_it_is() {
        let run = second("exec-2025-01-31");
        assert_eq!(run.stored_key(), "exec-2025-01-31\u{1F}2");
        assert_eq!(run.to_string(), "exec-2025-01-31 (attempt 2)");
        assert_eq!(run.as_str(), "exec-2025-01-31");
        assert_eq!(RunId::from_stored_key(&run.stored_key()).unwrap(), run);
    }

    #[test]
    fn no_run_id_can_spell_another_runs_attempt_key() {
        assert_ne!(second("x").stored_key(), RunId::new("x#2").unwrap().stored_key());
        assert!(RunId::new("x\u{1F}2").is_err(), "the separator is a control character, refused in ids");
        assert!(RunId::from_stored_key("x\u{1F}1").is_err(), "the first attempt has one key");
        assert!(RunId::from_stored_key("x\u{1F}0").is_err());
        assert!(RunId::from_stored_key("x\u{1F}two").is_err());
    }

    fn from_elsewhere(id: &str, origin: &str) -> RunId {
        RunId::new(id).unwrap().from_origin(Some(origin.parse().unwrap()))
    }

    #[test]
    fn a_foreign_run_round_trips_through_its_stored_key_and_says_where_it_ran() {
        let run = from_elsewhere("exec-2025-01-31", "123456789012.eu-west-1");
        assert_eq!(run.stored_key(), "123456789012.eu-west-1\u{1E}exec-2025-01-31");
        assert_eq!(run.to_string(), "exec-2025-01-31 (account 123456789012, eu-west-1)");
        assert_eq!(RunId::from_stored_key(&run.stored_key()).unwrap(), run);
        let second = run.clone().at_attempt(Attempt::new(2).unwrap());
        assert_eq!(second.to_string(), "exec-2025-01-31 (attempt 2; account 123456789012, eu-west-1)");
        assert_eq!(RunId::from_stored_key(&second.stored_key()).unwrap(), second);
    }

    #[test]
    fn two_accounts_same_named_runs_and_a_home_run_have_three_keys() {
        let home = RunId::new("exec-2025-01-31").unwrap();
        let a = from_elsewhere("exec-2025-01-31", "111111111111.eu-west-1");
        let b = from_elsewhere("exec-2025-01-31", "222222222222.eu-west-1");
        let keys = [home.stored_key(), a.stored_key(), b.stored_key()];
        assert!(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2], "{keys:?}");
        assert!(
            !a.same_id(&b) && !a.same_id(&home) && a.same_id(&a.clone().at_attempt(Attempt::new(3).unwrap()))
        );
        // A home id cannot spell a foreign key: the separator is a control character.
        assert!(RunId::new("111111111111.eu-west-1\u{1E}exec-2025-01-31").is_err());
        assert!(RunId::from_stored_key("not-an-origin\u{1E}exec").is_err());
    }

    #[test]
    fn a_foreign_runs_attempts_lie_in_its_key_range_and_the_home_runs_do_not() {
        let run = from_elsewhere("x", "111111111111.eu-west-1");
        let (low, high) = run.stored_key_range();
        let inside = |key: &str| low.as_str() <= key && key <= high.as_str();
        assert!(inside(&run.clone().at_attempt(Attempt::new(7).unwrap()).stored_key()));
        assert!(!inside("x") && !inside(&from_elsewhere("x", "222222222222.eu-west-1").stored_key()));
    }

    #[test]
    fn every_attempts_key_lies_in_its_ids_key_range_and_no_other_ids_do() {
        let (low, high) = RunId::new("x").unwrap().stored_key_range();
        let inside = |key: &str| low.as_str() <= key && key <= high.as_str();
        for attempt in [1, 2, 10, 99, u32::MAX] {
            let key =
                RunId::new("x").unwrap().at_attempt(Attempt::new(attempt).unwrap()).stored_key().into_owned();
            assert!(inside(&key), "{key:?}");
        }
        for other in ["x-", "x2", "xy", "x#2", "w", "x 2"] {
            assert!(!inside(other), "{other:?}");
        }
    }
}
