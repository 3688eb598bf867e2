//! What a task type's runs are expected to last and where a run becomes an overrun: the nightly
//! roll-up of days into a window, the baselines of each method, the tailored sweep and each run's
//! own limit from its recent runs.

pub mod baseline;
pub mod nightly;
pub mod recent;
pub mod season;
pub mod tailored;
pub mod window;
