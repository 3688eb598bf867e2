//! Every default of a deployment, in one place: the functions' configuration, the `overrun`
//! command's options and (checked by a test of `overrun-aws` against `infra/template.yaml`, whose
//! defaults `infra/check_defaults.py` checks against samconfig.toml and the CDK app) the deploy
//! parameters all read these.

//!
//! Plain constants, importing nothing: the types that have defaults read them from here, so this
//! module stands below every other one.

/// Days of succeeded runs a baseline looks back over.
pub const WINDOW_DAYS: u32 = 14;
/// Fewest succeeded runs in the window for a baseline.
pub const MIN_SAMPLES: u64 = 5;
/// UTC hour at which the nightly job recomputes baselines.
pub const NIGHTLY_HOUR: u8 = 0;
/// Minutes between two checks.
pub const CHECK_INTERVAL_MINUTES: i64 = 10;
/// Days finished runs are kept; never less than the window plus a week.
pub const RETENTION_DAYS: u32 = 35;
/// The method, by name (`MethodName::default()` is it, checked when the core compiles).
pub const METHOD: &str = "tailored";
/// A run is critical past this multiple of its limit.
pub const CRITICAL_FACTOR: f64 = 2.0;
/// A succeeded run shorter than this share of its expected duration gets a notice.
pub const SHORT_FRACTION: f64 = 0.25;
/// The share of each run's own limit its recent runs weigh between them (docs/DETECTION.md,
/// "Recent runs").
pub const RECENT_WEIGHT: f64 = 0.3;
/// The limit of a run whose type has no baseline yet (fewer succeeded runs in the window than
/// the minimum): twelve hours. On both bundled traces it pages no run that started without a
/// baseline (six hours would have paged 20 healthy Julia runs and 2 NASA runs), and a hang of a
/// type Overrun has not learned yet pages within half a day instead of never
/// (docs/DETECTION.md, "The fallback limit").
pub const FALLBACK_LIMIT_S: f64 = 43_200.0;
/// How many recent runs each run's own limit weighs (with the tailored method).
pub const RECENT_RUNS: usize = 3;
