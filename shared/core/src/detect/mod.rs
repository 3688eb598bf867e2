//! What the checker decides about a running run: the warning and critical levels of a limit
//! ([`levels`]), a run's standing at a tick ([`check`]), operators' overrides, cohort stretch and
//! too-short finishes.

pub mod check;
pub mod cohort;
pub mod levels;
pub mod overrides;
pub mod short;
pub mod short_rule;
