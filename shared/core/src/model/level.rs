//! The two levels of an alert, and which of them a run has had.

use std::fmt;
use std::str::FromStr;

use super::ModelError;

/// How far past its limits a run is: `warning` past the limit, `critical` past the critical
/// factor times it (see `detect::levels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Warning,
    Critical,
}

impl Level {
    pub const ALL: [Level; 2] = [Level::Warning, Level::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Warning => "warning",
            Level::Critical => "critical",
        }
    }

    pub(crate) fn bit(self) -> u8 {
        match self {
            Level::Warning => 1,
            Level::Critical => 2,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .into_iter()
            .find(|level| level.as_str() == s)
            .ok_or_else(|| ModelError::UnknownLevel(s.to_owned()))
    }
}

/// The levels already alerted for one run: "one alert per run and level".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertedLevels(u8);

impl AlertedLevels {
    pub fn contains(self, level: Level) -> bool {
        self.0 & level.bit() != 0
    }
    pub fn insert(&mut self, level: Level) {
        self.0 |= level.bit();
    }
    pub fn is_complete(self) -> bool {
        Level::ALL.into_iter().all(|level| self.contains(level))
    }
}
