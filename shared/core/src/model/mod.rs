//! The run model: a task run is a black box with a task type, a start, an optional end and a
//! status.

mod attempt;
pub mod claim;
pub mod level;
mod origin;

pub use attempt::{ATTEMPT_SEPARATOR, Attempt, RunId};
pub use claim::{DeliveryState, LEASE_MS, Lease};
pub use level::{AlertedLevels, Level};
pub use origin::{ORIGIN_SEPARATOR, Origin, QUALIFIER_SEPARATOR, Qualifier, Qualify};

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::time::EpochMs;

/// Longest task type or run id accepted, in bytes. Generous for job names and ARNs, and far below
/// DynamoDB's key limits, so a name that replays also fits the deployed tables.
pub const MAX_NAME_BYTES: usize = 512;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ModelError {
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("{what} is {len} bytes long, the limit is {MAX_NAME_BYTES}")]
    TooLong { what: &'static str, len: usize },
    #[error("{what} contains a control character")]
    ControlCharacter { what: &'static str },
    #[error("{what} contains an invisible character (U+{code:04X}): a name must read as it is stored")]
    InvisibleCharacter { what: &'static str, code: u32 },
    #[error("unknown status {0:?} (expected succeeded, failed, aborted or running)")]
    UnknownStatus(String),
    #[error("unknown level {0:?} (expected warning or critical)")]
    UnknownLevel(String),
    /// Told as UTC times, whatever unit the input used: a misread unit shows as an absurd date.
    #[error(
        "end {} is {} before start {}",
        crate::notify::humanize::utc_second(*.end),
        crate::notify::humanize::duration((*.start - *.end) as f64),
        crate::notify::humanize::utc_second(*.start)
    )]
    EndBeforeStart { start: EpochMs, end: EpochMs },
    #[error("a {status} run needs an end time")]
    MissingEnd { status: RunStatus },
    #[error("a running run has no end time, but {end} was given")]
    RunningWithEnd { end: EpochMs },
    #[error("attempt {0} is not an attempt number (1 is the first)")]
    BadAttempt(String),
    #[error(
        "{0:?} is not an origin: expected an AWS account (12 digits), a dot and a region, as in 123456789012.eu-west-1"
    )]
    BadOrigin(String),
    #[error(
        "{0:?} is not a qualifier: expected 1 to 64 ASCII letters, digits, '.', '-' or '_' (an account such as 123456789012, 123456789012.eu-west-1 or a source name)"
    )]
    BadQualifier(String),
    #[error("{0:?} is not a way to qualify task types: expected none, account or account-region")]
    BadQualify(String),
}

pub(crate) fn validate_name(what: &'static str, value: &str) -> Result<(), ModelError> {
    if value.trim().is_empty() {
        return Err(ModelError::Empty { what });
    }
    if value.len() > MAX_NAME_BYTES {
        return Err(ModelError::TooLong { what, len: value.len() });
    }
    if has_control_character(value.as_bytes()) {
        return Err(ModelError::ControlCharacter { what });
    }
    // ASCII names (nearly all) are visible as they are: skip the per-character look-ups.
    if !value.is_ascii()
        && let Some(invisible) = value.chars().find(|&c| is_invisible(c))
    {
        return Err(ModelError::InvisibleCharacter { what, code: u32::from(invisible) });
    }
    Ok(())
}

/// Characters that change how a name reads without showing: Unicode format characters
/// (category Cf: bidi overrides such as U+202E, zero-width spaces and joiners, the BOM, tags)
/// and the other blanks that render as nothing (combining grapheme joiner, Hangul fillers), and
/// the line and paragraph separators U+2028 and U+2029 (they break a name across lines in an
/// email, a log or a JSON reader that takes them for newlines).
/// Variation selectors stay allowed: they pick an emoji's look, as in "⚠️". Two names that look the same in an email would otherwise be two task
/// types, and a bidi override would reorder the text of every alert about it.
pub(crate) fn is_invisible(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    matches!(
        c.general_category(),
        GeneralCategory::Format | GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator
    ) || matches!(c, '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}')
}

/// Same answer as `value.chars().any(char::is_control)`, on bytes: this runs for every row of a
/// replay. Control characters are C0 and DEL (single bytes) and C1 (U+0080..U+009F, encoded as
/// 0xC2 0x80..=0x9F).
fn has_control_character(bytes: &[u8]) -> bool {
    // One branch-free pass the compiler vectorises (names are short, and nearly all are clean);
    // the byte pairs of C1 are looked at only when a 0xC2 lead byte is there at all.
    let (control, c1_lead) = bytes
        .iter()
        .fold((false, false), |(control, lead), &b| (control | (b < 0x20) | (b == 0x7f), lead | (b == 0xc2)));
    control || (c1_lead && bytes.windows(2).any(|pair| pair[0] == 0xc2 && (0x80..=0x9f).contains(&pair[1])))
}

macro_rules! validated_name {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Box<str>);

        impl $name {
            pub fn new(value: &str) -> Result<Self, ModelError> {
                Self::validate(value)?;
                Ok(Self(value.into()))
            }

            /// Checks a borrowed value without allocating, for hot parsing loops.
            pub fn validate(value: &str) -> Result<(), ModelError> {
                validate_name($what, value)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = ModelError;
            fn try_from(value: &str) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

validated_name!(
    /// What a run is an instance of (a job name, a state machine, a DAG task): baselines are per
    /// task type.
    TaskType,
    "task type"
);
validated_name!(
    /// The runs that belong together (one build's jobs, one workflow run's tasks): a run is judged
    /// at its cohort's pace.
    CohortId,
    "cohort"
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    Succeeded,
    Failed,
    Aborted,
    Running,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Aborted => "aborted",
            Self::Running => "running",
        }
    }

    pub fn is_finished(self) -> bool {
        !matches!(self, Self::Running)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const ALL: [RunStatus; 4] =
            [RunStatus::Succeeded, RunStatus::Failed, RunStatus::Aborted, RunStatus::Running];
        ALL.into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ModelError::UnknownStatus(s.to_owned()))
    }
}

/// One run of a task. `end` is `None` exactly while the run is running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    task_type: TaskType,
    run_id: RunId,
    start: EpochMs,
    end: Option<EpochMs>,
    status: RunStatus,
}

impl Run {
    pub fn new(
        task_type: TaskType,
        run_id: RunId,
        start: EpochMs,
        end: Option<EpochMs>,
        status: RunStatus,
    ) -> Result<Self, ModelError> {
        check_times(start, end, status)?;
        Ok(Self { task_type, run_id, start, end, status })
    }

    pub fn task_type(&self) -> &TaskType {
        &self.task_type
    }
    pub fn run_id(&self) -> &RunId {
        &self.run_id
    }
    pub fn start(&self) -> EpochMs {
        self.start
    }
    pub fn end(&self) -> Option<EpochMs> {
        self.end
    }
    pub fn status(&self) -> RunStatus {
        self.status
    }
    /// Duration of a finished run, in milliseconds.
    pub fn duration_ms(&self) -> Option<u64> {
        self.end.map(|end| end.abs_diff(self.start))
    }
}

/// The invariants between times and status, shared by [`Run::new`] and the streaming parser.
pub fn check_times(start: EpochMs, end: Option<EpochMs>, status: RunStatus) -> Result<(), ModelError> {
    match (status, end) {
        (RunStatus::Running, Some(end)) => Err(ModelError::RunningWithEnd { end }),
        (RunStatus::Running, None) => Ok(()),
        (status, None) => Err(ModelError::MissingEnd { status }),
        (_, Some(end)) if end < start => Err(ModelError::EndBeforeStart { start, end }),
        (_, Some(_)) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_type_rejects_empty_blank_long_and_control_characters() {
        assert_eq!(TaskType::new(""), Err(ModelError::Empty { what: "task type" }));
        assert_eq!(TaskType::new("   "), Err(ModelError::Empty { what: "task type" }));
        let long = "x".repeat(MAX_NAME_BYTES + 1);
        assert_eq!(
            TaskType::new(&long),
            Err(ModelError::TooLong { what: "task type", len: MAX_NAME_BYTES + 1 })
        );
        assert_eq!(TaskType::new("a\tb"), Err(ModelError::ControlCharacter { what: "task type" }));
        assert_eq!(TaskType::new(":linux: test x86_64").unwrap().as_str(), ":linux: test x86_64");
    }

    #[test]
    fn names_with_invisible_characters_are_refused_naming_the_code_point() {
        for (name, code) in [
            ("etl\u{202E}lpt", 0x202E),
            ("e\u{200B}tl", 0x200B),
            ("\u{FEFF}etl", 0xFEFF),
            ("etl\u{2066}", 0x2066),
            ("etl\u{E0041}", 0xE0041),
            ("etl\u{3164}", 0x3164),
            ("etl\u{00AD}x", 0x00AD),
            ("etl\u{2028}x", 0x2028),
            ("etl\u{2029}", 0x2029),
        ] {
            assert_eq!(TaskType::new(name), Err(ModelError::InvisibleCharacter { what: "task type", code }));
            assert_eq!(RunId::new(name), Err(ModelError::InvisibleCharacter { what: "run id", code }));
        }
        let error = CohortId::new("build\u{200D}7").unwrap_err().to_string();
        assert!(error.contains("U+200D"), "{error}");
        for visible in ["nightly-export", "日次集計", "café ☕", "Ünïcödé build 🚀", "⚠\u{FE0F} flaky"]
        {
            assert!(TaskType::new(visible).is_ok(), "{visible}");
        }
    }

    #[test]
    fn control_character_check_on_bytes_agrees_with_chars() {
        for text in ["plain", "tab\there", "del\u{7f}", "c1\u{85}x", "é ü ß", "\u{a0}nbsp", "日本", "\u{9f}"]
        {
            assert_eq!(
                has_control_character(text.as_bytes()),
                text.chars().any(char::is_control),
                "{text:?}"
            );
        }
        // Every character of the first 2,048 code points, alone and between others.
        for c in (0..0x800).filter_map(char::from_u32) {
            for text in [c.to_string(), format!("ab{c}é{c}")] {
                assert_eq!(has_control_character(text.as_bytes()), c.is_control(), "{text:?}");
            }
        }
    }

    #[test]
    fn run_id_error_names_the_run_id() {
        assert_eq!(RunId::new("").unwrap_err().to_string(), "run id is empty");
    }

    #[test]
    fn status_parses_case_insensitively_and_names_unknown_values() {
        assert_eq!("SUCCEEDED".parse::<RunStatus>(), Ok(RunStatus::Succeeded));
        assert_eq!("aborted".parse::<RunStatus>(), Ok(RunStatus::Aborted));
        let err = "done".parse::<RunStatus>().unwrap_err();
        assert!(err.to_string().contains("\"done\""), "{err}");
    }

    #[test]
    fn run_checks_end_against_start_and_status() {
        let task = TaskType::new("t").unwrap();
        let id = RunId::new("r").unwrap();
        assert!(Run::new(task.clone(), id.clone(), 10, Some(5), RunStatus::Succeeded).is_err());
        assert!(Run::new(task.clone(), id.clone(), 10, None, RunStatus::Failed).is_err());
        assert!(Run::new(task.clone(), id.clone(), 10, Some(20), RunStatus::Running).is_err());
        let run = Run::new(task, id, 10, Some(10), RunStatus::Succeeded).unwrap();
        assert_eq!(run.duration_ms(), Some(0));
    }
}
