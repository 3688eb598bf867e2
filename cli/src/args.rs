//! The command line: every subcommand's options, as clap parses them, and how the options shared
//! by the replaying commands become a policy.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use overrun_cli::commands::aws::AwsArgs;
use overrun_cli::error::CliError;
use overrun_core::TickInterval;
use overrun_core::defaults;
use overrun_core::evaluation::replay::ReplayConfig;
use overrun_core::limits::baseline::MethodName;
use overrun_core::limits::window::ExclusionCap;
use overrun_core::settings::{Choices, Detection, Setting};

/// A command's help ends with its examples and the exit codes, in one format for every command.
macro_rules! examples_then_exit_codes {
    (offline: $($example:literal),+ $(,)?) => {
        concat!("Examples:\n", $("  ", $example, "\n",)+ "\nExit codes: 0 done, 1 output that could not be written, 2 bad input or options (the message names what and where).")
    };
    (aws: $($example:literal),+ $(,)?) => {
        concat!("Examples:\n", $("  ", $example, "\n",)+ "\nExit codes: 0 done, 1 other failure (AWS's error code named), 2 bad input or options, 3 AWS unreachable or no region, 4 not found (a table, run or task type), 5 no credentials, 6 credentials refused, 7 access denied, 8 not Overrun's table of that name (swapped names?), 9 throttled after every retry.")
    };
}

/// Overrun: duration-anomaly alerts for workflow tasks.
///
/// Overrun learns how long each task type normally takes from its recent successful runs and
/// alerts when a run is still going well past that. `overrun replay` shows what it would have
/// alerted on, and when, over a history you already have.
#[derive(Parser)]
#[command(name = "overrun", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Replay a history of task runs: every alert Overrun would have raised, in time order.
    ///
    /// The input is CSV (or gzip-compressed CSV) with the header
    /// task_type,run_id,start_epoch_s,end_epoch_s,status where times are Unix epoch seconds
    /// (fractions allowed) or RFC 3339 timestamps with their zone (then the header may read
    /// task_type,run_id,start,end,status) and status is succeeded, failed, aborted or running
    /// (running rows leave the end empty). Each night, a task type's baseline is computed from its succeeded runs
    /// of the last --window-days days; every --interval seconds, each running task is compared
    /// with its baseline.
    #[command(after_help = examples_then_exit_codes!(offline: "overrun replay examples/data/julia_buildkite_jobs.csv.gz", "overrun replay history.csv.gz --json > replayed.jsonl", "overrun replay history.csv --method guarded --k 4 --skip-bad-rows"))]
    Replay(ReplayArgs),
    /// Write a seeded synthetic history (log-normal durations) in the replay format, for
    /// benchmarks and experiments.
    #[command(after_help = examples_then_exit_codes!(offline: "overrun generate --runs 100000 --task-types 50 --days 60 --seed 1 -o synthetic.csv.gz", "overrun generate --runs 50000 --scheduled-share 0.3 -o scheduled.csv.gz"))]
    Generate(GenerateArgs),
    /// Measure detection quality on a real history: slow down about 3 % of the eligible runs
    /// (×1.5, ×2, ×3, fixed seed), replay, and report false alerts per 1000 healthy runs and per
    /// day, recall per stretch factor, median detection delay, and alerts per day.
    ///
    /// Eligible runs: succeeded, of a task type with at least 20 earlier successes, lasting at
    /// least the check interval. Give several --k values (2,3,4) to compare sensitivities.
    #[command(after_help = examples_then_exit_codes!(offline: "overrun backtest examples/data/julia_buildkite_jobs.csv.gz --k 4,6,8", "overrun backtest history.csv.gz --seeds 3 --json", "overrun backtest history.csv.gz --drop 0.03 --delay 0.02"))]
    Backtest(BacktestArgs),
    /// Draw one task type's history: each run's duration at its start, the expected duration and
    /// upper limit as they moved night by night, and the runs Overrun alerted on (SVG or PNG, by
    /// the output's extension).
    #[command(after_help = examples_then_exit_codes!(offline: "overrun plot examples/data/julia_buildkite_jobs.csv.gz --task \":linux: coverage\" -o coverage.svg", "overrun plot history.csv.gz --task nightly-export -o export.png"))]
    Plot(PlotArgs),
    /// Write one self-contained HTML page: the replay's summary, every task type with its alerts,
    /// and a plot per task type (those that alerted most first).
    #[command(after_help = examples_then_exit_codes!(offline: "overrun report examples/data/julia_buildkite_jobs.csv.gz -o report.html"))]
    Report(ReportArgs),
    /// Recommend the sensitivity (k) that keeps warnings under a budget per day on a history:
    /// the most sensitive setting the team says it can live with.
    #[command(after_help = examples_then_exit_codes!(offline: "overrun tune examples/data/julia_buildkite_jobs.csv.gz --budget 0.5"))]
    Tune(TuneArgs),
    /// Load a history (same CSV format as replay) into the deployed runs table, then compute
    /// tonight's baselines from it, so alerts work from day one.
    ///
    /// Runs older than the retention (OVERRUN_RETENTION_DAYS, default 35) are skipped: the
    /// table's TTL would delete them at once. Loading is idempotent: loading twice counts nothing
    /// twice. Baseline settings (OVERRUN_K, OVERRUN_WINDOW_DAYS, …) are read from the environment
    /// like the functions read them.
    #[command(after_help = examples_then_exit_codes!(aws: "overrun backfill history.csv.gz", "overrun import github OWNER/REPO --since 30d | overrun backfill -", "overrun backfill examples/data/julia_buildkite_jobs.csv.gz --shift-to-now --endpoint-url http://127.0.0.1:5055"))]
    Backfill(BackfillArgs),
    /// Set or clear a per-task override the checker honours: a different k, a fixed limit, or
    /// silence until a date. Alerts say when an override applied.
    #[command(after_help = examples_then_exit_codes!(aws: "overrun override nightly-export --limit 90m", "overrun override nightly-export --mute-until 2026-12-24", "overrun override nightly-export --clear", "overrun override --list --json"))]
    Override(OverrideArgs),
    /// What the deployed system sees now: every running run with its elapsed time, its limit, the
    /// share of it used and the level reached, riskiest first; runs past their critical limit
    /// (perhaps stuck: their finish lost) and past the retention are flagged. Read-only.
    ///
    /// Runs are judged by the checker's own code, with the settings (OVERRUN_K, OVERRUN_METHOD,
    /// …) read from the environment as the functions read them.
    #[command(after_help = examples_then_exit_codes!(aws: "overrun status", "overrun status --json"))]
    Status(StatusArgs),
    /// Each task type's baseline and the limits in force (override applied): expected, σ, limit,
    /// critical, runs it came from, method, when it was computed, override. Read-only.
    #[command(after_help = examples_then_exit_codes!(aws: "overrun limits", "overrun limits nightly-export --json"))]
    Limits(LimitsArgs),
    /// Each task type's schedule, by which the checker pages a start that did not come: learned
    /// by the nightly job from its starts, or declared by an operator (which beats the learned
    /// one): `list`, `set`, `clear`.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// The messages claimed or delivered recently (warnings, criticals, "resolved", too-short
    /// notices) with where each delivery stands, and any still owed. Read-only; scans the runs
    /// table.
    #[command(after_help = examples_then_exit_codes!(aws: "overrun alerts --since 24h", "overrun alerts --json"))]
    Alerts(AlertsArgs),
    /// Why a run did or did not alert: the limits it is held to and their parts (window, recent
    /// runs, cohort stretch, override), each check's verdict, and the messages sent; or, given a
    /// task type alone, what its starts are expected to follow (its schedule) and why. Read-only.
    #[command(after_help = examples_then_exit_codes!(aws: "overrun explain nightly-export run-2026-12-06", "overrun explain nightly-export", "overrun explain nightly-export run-2026-12-06 --attempt 2 --json"))]
    Explain(ExplainArgs),
    /// Import a history from a source's own records, in the replay and backfill CSV format:
    /// `overrun import github OWNER/REPO --since 30d | overrun backfill -`. Runs are named as the
    /// HTTPS endpoint names them, so imported history and live events share task types. Runs
    /// with no finish (still going, or the finish was lost) are left out; a summary goes to
    /// standard error.
    #[command(after_help = examples_then_exit_codes!(offline: "overrun import github OWNER/REPO --since 30d -o history.csv", "overrun import openlineage lineage.jsonl -o history.csv"))]
    Import(ImportArgs),
    /// Finish a run whose finish event was lost (it shows in `overrun status` as stuck), exactly
    /// as ingest records a finish: counted for its day if it succeeded, "resolved" sent if it
    /// was alerted on.
    #[command(after_help = examples_then_exit_codes!(aws: "overrun close nightly-export run-2026-12-06 --status failed --end now", "overrun close nightly-export run-2026-12-06 --status succeeded --end 2026-12-06T03:10:00Z --json"))]
    Close(CloseArgs),
    /// Create the runs and stats tables (with their indexes and TTL) on a local endpoint, for
    /// trying Overrun without AWS. In AWS, deploy infra/ instead.
    #[command(after_help = examples_then_exit_codes!(aws: "OVERRUN_RUNS_TABLE=overrun-runs OVERRUN_STATS_TABLE=overrun-stats overrun create-tables --endpoint-url http://127.0.0.1:5055"))]
    CreateTables(CreateTablesArgs),
}

#[derive(Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    pub(crate) aws: AwsArgs,
    /// One JSON document instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct LimitsArgs {
    /// Only these task types [default: all].
    pub(crate) tasks: Vec<String>,
    #[command(flatten)]
    pub(crate) aws: AwsArgs,
    /// A JSON array instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(clap::Subcommand)]
pub(crate) enum ScheduleCommand {
    /// Every schedule, learned and declared (or only these task types'): the pattern in words,
    /// where it came from and since when, the next due start, the usual lateness, the grace.
    /// Read-only.
    #[command(after_help = examples_then_exit_codes!(aws: "overrun schedule list", "overrun schedule list nightly-export --json"))]
    List(LimitsArgs),
    /// Declare a task type's schedule: an EventBridge "cron(15 */3 * * ? *)" or "rate(1 hour)",
    /// or a crontab line "15 2 * * 1-5", in --timezone; or --unscheduled to never page it for a
    /// missed start. Beats the learned schedule until `schedule clear`.
    #[command(after_help = examples_then_exit_codes!(aws: "overrun schedule set nightly-export \"cron(10 2 * * ? *)\" --grace 30m", "overrun schedule set payroll \"0 6 * * 1-5\" --timezone Europe/Paris", "overrun schedule set adhoc-report --unscheduled"))]
    Set(ScheduleSetArgs),
    /// Remove a task type's declared schedule: the learned one applies again.
    #[command(after_help = examples_then_exit_codes!(aws: "overrun schedule clear nightly-export"))]
    Clear(ScheduleClearArgs),
}

#[derive(Args)]
pub(crate) struct ScheduleSetArgs {
    /// The task type, exactly as in the events (one the table knows, unless --create).
    pub(crate) task_type: String,
    /// When its runs are due: cron(…), rate(…) or a five-field crontab line (quote it).
    pub(crate) expression: Option<String>,
    /// How late a start may come and still count: a duration such as 15m or 1h.
    #[arg(long, default_value = overrun_cli::commands::schedule_task::DEFAULT_GRACE)]
    pub(crate) grace: String,
    /// The IANA time zone its cron is written in (daylight saving followed): Europe/Paris.
    #[arg(long, default_value = "UTC")]
    pub(crate) timezone: String,
    /// Never page this task type for a missed start, whatever its starts show (a type retired,
    /// or one that runs on demand but looks scheduled); resolves its open incident.
    #[arg(long)]
    pub(crate) unscheduled: bool,
    /// Declare the schedule of a task type the table does not know yet: without it a misspelt
    /// name is refused, with the nearest known names.
    #[arg(long)]
    pub(crate) create: bool,
    #[command(flatten)]
    pub(crate) aws: AwsArgs,
    /// One JSON document instead of the text.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct ScheduleClearArgs {
    /// The task type whose declaration goes.
    pub(crate) task_type: String,
    #[command(flatten)]
    pub(crate) aws: AwsArgs,
    /// One JSON document instead of the text.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct AlertsArgs {
    /// How far back: a duration such as 24h, 90m or 7d.
    #[arg(long, default_value = "24h", value_parser = overrun_cli::durations::parse_duration)]
    pub(crate) since: std::time::Duration,
    #[command(flatten)]
    pub(crate) aws: AwsArgs,
    /// One JSON object per message per line instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct ExplainArgs {
    /// The run's task type, exactly as in its events.
    pub(crate) task_type: String,
    /// The run's id, exactly as in its events. Without it: the task type's schedule (learned or
    /// declared), the starts it came from against their due times, the next due start, and
    /// whether it is overdue.
    pub(crate) run_id: Option<String>,
    /// Which attempt of the run id (a run re-run under the same id is its next attempt: 1 is
    /// the first); the latest attempt when left out.
    #[arg(long, value_parser = parse_attempt)]
    pub(crate) attempt: Option<overrun_core::Attempt>,
    /// Where the run ran (123456789012.eu-west-1), for a run a central bus heard from another
    /// account or region than the deployment's own: `status` shows it after the id.
    #[arg(long)]
    pub(crate) from: Option<overrun_core::Origin>,
    #[command(flatten)]
    pub(crate) aws: AwsArgs,
    /// One JSON document instead of the text.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct CloseArgs {
    /// The run's task type, exactly as in its events.
    pub(crate) task_type: String,
    /// The run's id, exactly as in its events.
    pub(crate) run_id: String,
    /// Which attempt of the run id (a run re-run under the same id is its next attempt: 1 is
    /// the first); the latest attempt when left out.
    #[arg(long, value_parser = parse_attempt)]
    pub(crate) attempt: Option<overrun_core::Attempt>,
    /// Where the run ran (123456789012.eu-west-1), for a run a central bus heard from another
    /// account or region than the deployment's own: `status` shows it after the id.
    #[arg(long)]
    pub(crate) from: Option<overrun_core::Origin>,
    /// How it ended.
    #[arg(long, value_enum)]
    pub(crate) status: EndedStatus,
    /// When it ended: an RFC 3339 timestamp with its zone, epoch seconds, or `now`.
    #[arg(long)]
    pub(crate) end: String,
    #[command(flatten)]
    pub(crate) aws: AwsArgs,
    /// One JSON document instead of the text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// How a run closed by hand ended (a run still running is not closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum EndedStatus {
    Succeeded,
    Failed,
    Aborted,
}

impl From<EndedStatus> for overrun_core::RunStatus {
    fn from(status: EndedStatus) -> Self {
        match status {
            EndedStatus::Succeeded => overrun_core::RunStatus::Succeeded,
            EndedStatus::Failed => overrun_core::RunStatus::Failed,
            EndedStatus::Aborted => overrun_core::RunStatus::Aborted,
        }
    }
}

#[derive(Args)]
pub(crate) struct CreateTablesArgs {
    #[command(flatten)]
    pub(crate) aws: AwsArgs,
    /// One JSON document instead of the text.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct BackfillArgs {
    /// History file (CSV or .csv.gz); `-` reads standard input.
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) aws: AwsArgs,
    /// Writes in flight at once: 16 suits DynamoDB; a local moto is happier with 4.
    #[arg(long, default_value_t = 16)]
    pub(crate) concurrency: usize,
    /// Move the whole history so that its last run ends now (a demo, or an old trace tried live):
    /// then the runs of the last retention days are loaded and judged as if they had just run.
    #[arg(long)]
    pub(crate) shift_to_now: bool,
    /// Load only the runs that ended (or, still running, started) within this long before now:
    /// a duration such as 15d or 36h. Runs older than the retention are never loaded.
    #[arg(long, value_parser = overrun_cli::durations::parse_duration)]
    pub(crate) since: Option<std::time::Duration>,
    /// Only load the runs; leave the baselines to the nightly function.
    #[arg(long)]
    pub(crate) no_baselines: bool,
    /// Skip malformed rows instead of stopping at the first.
    #[arg(long)]
    pub(crate) skip_bad_rows: bool,
    /// Name every task type `NAME@QUALIFIER`, as a deployment with OVERRUN_QUALIFY on names
    /// them (the history has no account column): an account (123456789012), an account and
    /// region (123456789012.eu-west-1) or an HTTPS source's name.
    #[arg(long)]
    pub(crate) qualifier: Option<overrun_core::Qualifier>,
    /// The account and region the history's runs ran in (123456789012.eu-west-1) when they are
    /// not the deployment's own: their runs are then keyed as the central bus keys that
    /// account's runs, so a live finish finds a run loaded as still running.
    #[arg(long)]
    pub(crate) from: Option<overrun_core::Origin>,
    /// One JSON document instead of the text.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub(crate) struct OverrideArgs {
    /// The task type, exactly as in the events (one the table knows, unless --create).
    #[arg(required_unless_present = "list")]
    pub(crate) task_type: Option<String>,
    /// Use this k instead of the configured one, in the configured method's meaning (a larger k,
    /// a higher limit): for `tailored` (the default) the price of a false page in caught
    /// slowdowns; for `guarded` and `seed` limit = mean + k·σ; for `lognormal` the level of a
    /// normal k.
    #[arg(long)]
    pub(crate) k: Option<f64>,
    /// A fixed limit instead of any baseline: a duration (90m, 1h30m, 45s) or seconds (5400).
    #[arg(long)]
    pub(crate) limit: Option<String>,
    /// No alerts for this task type until then, missed starts included: a date (2026-12-01,
    /// midnight UTC) or an RFC 3339 timestamp, in the future.
    #[arg(long)]
    pub(crate) mute_until: Option<String>,
    /// This task type's too-short fraction instead of the configured one; 0 stops its too-short
    /// notices (and only those). With OVERRUN_SHORT_FRACTION=0 no task type gets notices (ingest
    /// then reads no limits), whatever its override.
    #[arg(long)]
    pub(crate) short_fraction: Option<f64>,
    /// Judge this task type by season (`seasonal`: weekday and weekend runs each against their
    /// own, once each season has enough runs) or not (`plain`), whatever its history says.
    #[arg(long)]
    pub(crate) seasons: Option<overrun_core::limits::season::SeasonMode>,
    /// Remove the override: the nightly baseline applies again.
    #[arg(long)]
    pub(crate) clear: bool,
    /// Set an override for a task type the table does not know yet (no baseline, no override):
    /// without it a misspelt name is refused, with the nearest known names.
    #[arg(long)]
    pub(crate) create: bool,
    /// List every override in force, and exit.
    #[arg(long, conflicts_with_all = ["task_type", "k", "limit", "mute_until", "short_fraction", "seasons", "clear", "create"])]
    pub(crate) list: bool,
    #[command(flatten)]
    pub(crate) aws: AwsArgs,
    /// One JSON document instead of the text.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub(crate) struct ReplayArgs {
    /// History file (CSV or .csv.gz, detected by content); `-` reads standard input.
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) method: MethodArgs,
    #[command(flatten)]
    pub(crate) cadence: CadenceArgs,
    #[command(flatten)]
    pub(crate) judging: JudgingArgs,
    /// One JSON object per alert (or notice) per line instead of the summary and table.
    #[arg(long)]
    pub(crate) json: bool,
    /// How many of the noisiest task types the summary lists.
    #[arg(long, default_value_t = 10)]
    pub(crate) top: usize,
    /// Never draw a progress bar (one is drawn on a terminal for large inputs).
    #[arg(long)]
    pub(crate) no_progress: bool,
}

/// How runs are judged and read, the same for every command that replays (replay, report, plot,
/// tune, backtest), so that each can mirror a customised replay.
#[derive(Args)]
pub(crate) struct JudgingArgs {
    /// A run is critical past this multiple of its limit (a warning past the limit itself).
    #[arg(long, default_value_t = defaults::CRITICAL_FACTOR)]
    pub(crate) critical_factor: f64,
    /// Leave runs that were themselves warned about out of later baselines (what `guarded` does,
    /// for the other methods).
    #[arg(long)]
    pub(crate) exclude_alerted: bool,
    /// Warned runs stay out of later baselines, at most this share of a window (its slowest
    /// warned runs; as OVERRUN_EXCLUSION_CAP does in the functions); 1 excludes every warned run.
    /// For backtest --with-exclusion, the share of the added settings only [default: none; 0.1
    /// for guarded].
    #[arg(long)]
    pub(crate) exclusion_cap: Option<ExclusionCap>,
    /// A succeeded run shorter than this fraction of its expected duration (and below its band
    /// mirrored under the mean) gets an informational notice; 0 turns notices off.
    #[arg(long, default_value_t = defaults::SHORT_FRACTION)]
    pub(crate) short_fraction: f64,
    /// Skip malformed rows (reporting how many and why on stderr) instead of stopping at the first.
    #[arg(long)]
    pub(crate) skip_bad_rows: bool,
}

/// The baseline method and its sensitivity, for the commands that replay one setting.
#[derive(Args)]
pub(crate) struct MethodArgs {
    /// Baseline method. `tailored` (default): per task type, the limit that catches the most
    /// ×1.5–×3 slowdowns of the window's runs for its false pages, a false page priced at k
    /// caught slowdowns. `guarded`: limit = mean + k·σ of the window's succeeded runs, the
    /// slowest runs that were themselves warned about left out, at most 10 % of the window.
    /// `seed`: mean + k·σ of every succeeded run, exactly as the seed article. `lognormal`: a
    /// prediction limit in log space, exp(μ + t·s·√(1 + 1/n)) with t the Student quantile at the
    /// level of a normal k (see docs/DETECTION.md).
    #[arg(long, default_value_t = MethodName::default())]
    pub(crate) method: MethodName,
    /// Sensitivity: how many standard deviations above the mean the limit sits (for tailored, the
    /// price of a false page) [default: 4 for guarded, 2 for seed and lognormal, 6 for tailored].
    #[arg(long)]
    pub(crate) k: Option<f64>,
}

/// When baselines are computed and how often runs are checked (the cadence): shared by every
/// replaying command.
#[derive(Args)]
pub(crate) struct CadenceArgs {
    /// Days of succeeded runs a baseline looks back over.
    #[arg(long, default_value_t = defaults::WINDOW_DAYS)]
    pub(crate) window_days: u32,
    /// Fewest succeeded runs in the window for a baseline; with fewer, the type's runs are judged
    /// by the fallback limit (--fallback-limit).
    #[arg(long, default_value_t = defaults::MIN_SAMPLES)]
    pub(crate) min_samples: u64,
    /// Seconds between checks; checks fall on multiples of it since the Unix epoch.
    #[arg(long, default_value_t = defaults::CHECK_INTERVAL_MINUTES * 60)]
    pub(crate) interval: i64,
    /// UTC hour at which baselines are recomputed each night.
    #[arg(long, default_value_t = defaults::NIGHTLY_HOUR)]
    pub(crate) nightly_hour: u8,
    /// Runs that start at the same instant form a cohort (one build's jobs); once three of a
    /// run's cohort have succeeded, its limits stretch by their median slowdown. The functions do
    /// this for the cohorts task events name; a history file has no such column.
    #[arg(long)]
    pub(crate) cohorts: bool,
    /// Judge a type whose own history shows a weekly season by season, as the functions do by
    /// default: each run against runs of its own season (weekday or weekend, by its start in
    /// --season-zone), over a look-back holding as many runs as the window (49 days for weekends
    /// with 14-day windows). `off` judges every type by one window.
    #[arg(long, default_value = "on", num_args = 0..=1, default_missing_value = "on", value_parser = ["on", "off"])]
    pub(crate) seasons: String,
    /// The IANA time zone whose weekends count for seasons (daylight saving followed):
    /// Europe/Berlin.
    #[arg(long, default_value = "UTC", value_parser = parse_zone)]
    pub(crate) season_zone: overrun_core::schedule::declared::Zone,
    /// With the tailored method: each run's limit also weighs the N latest succeeded runs of its
    /// type that had ended when it started [default: 3 with tailored; 0 turns it off].
    #[arg(long)]
    pub(crate) recent_runs: Option<usize>,
    /// The share of the weight those recent runs get between them, the night's window keeping
    /// the rest [default: 0.3].
    #[arg(long)]
    pub(crate) recent_weight: Option<f64>,
    /// The limit of a run whose type has no baseline yet (fewer succeeded runs in the window than
    /// --min-samples), as deployed: a duration (12h, 90m) or seconds; 0 or off judges no such
    /// run [default: 12h].
    #[arg(long, value_parser = parse_fallback_limit)]
    pub(crate) fallback_limit: Option<f64>,
}

/// `--fallback-limit`: seconds, a duration such as `12h`, or `0`/`off` for none.
fn parse_fallback_limit(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    if trimmed.eq_ignore_ascii_case("off") {
        return Ok(0.0);
    }
    match trimmed.parse::<f64>() {
        Ok(seconds) => Ok(seconds),
        Err(_) => overrun_cli::durations::parse_duration(trimmed)
            .map(|duration| duration.as_secs_f64())
            .map_err(|e| format!("{e}; or seconds, or off")),
    }
}

impl CadenceArgs {
    /// The settings these options choose, for `method` at `k` (`None`: the method's own); the
    /// others stay at their defaults.
    pub(crate) fn choices(&self, method: MethodName, k: Option<f64>) -> Choices {
        Choices {
            method,
            k,
            window_days: self.window_days,
            min_samples: self.min_samples,
            nightly_hour: self.nightly_hour,
            check_interval_seconds: self.interval,
            recent_runs: self.recent_runs,
            recent_weight: self.recent_weight,
            fallback_limit_s: self.fallback_limit.unwrap_or(defaults::FALLBACK_LIMIT_S),
            ..Choices::default()
        }
    }

    /// The replay of `choices`, checked exactly as the functions check their settings, with
    /// these options' cohorts.
    pub(crate) fn config(&self, choices: &Choices) -> Result<ReplayConfig, CliError> {
        Ok(ReplayConfig {
            cohorts: self.cohorts,
            seasons: (self.seasons == "on")
                .then(|| overrun_core::limits::season::SeasonRule::in_zone(self.season_zone.clone())),
            ..ReplayConfig::from(detection(choices)?)
        })
    }

    pub(crate) fn interval(&self) -> Result<TickInterval, CliError> {
        TickInterval::from_seconds(self.interval)
            .map_err(|error| CliError::invalid(format!("--interval: {error}")))
    }
}

/// `choices` validated by the core's one validation, a refusal named by its option.
pub(crate) fn detection(choices: &Choices) -> Result<Detection, CliError> {
    Detection::new(choices).map_err(|error| {
        let option = match error.setting {
            Setting::Method => "--method",
            Setting::K => "--k",
            Setting::WindowDays => "--window-days",
            Setting::MinSamples => "--min-samples",
            Setting::NightlyHour => "--nightly-hour",
            Setting::CheckInterval => "--interval",
            Setting::CriticalFactor => "--critical-factor",
            Setting::ShortFraction => "--short-fraction",
            Setting::RecentRuns => "--recent-runs",
            Setting::RecentWeight => "--recent-weight",
            Setting::FallbackLimit => "--fallback-limit",
        };
        CliError::invalid(format!("{option}: {error}"))
    })
}

#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub(crate) struct BacktestArgs {
    /// History file (CSV or .csv.gz); `-` reads standard input.
    pub(crate) file: PathBuf,
    /// Baseline method: tailored (default), guarded, seed or lognormal (see `overrun replay
    /// --help`).
    #[arg(long, default_value_t = MethodName::default())]
    pub(crate) method: MethodName,
    /// One or more k values to compare, comma-separated [default: the method's own, 4 for
    /// guarded, 2 for seed and lognormal, 6 for tailored].
    #[arg(long, value_delimiter = ',')]
    pub(crate) k: Vec<f64>,
    #[command(flatten)]
    pub(crate) cadence: CadenceArgs,
    /// Seed of the injection: the same seed slows down the same runs.
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    /// Fraction of eligible runs slowed down.
    #[arg(long, default_value_t = 0.03)]
    pub(crate) fraction: f64,
    /// Also replay each setting with warned runs left out of later baselines (at most
    /// --exclusion-cap of a window; every warned run without it).
    #[arg(long)]
    pub(crate) with_exclusion: bool,
    #[command(flatten)]
    pub(crate) judging: JudgingArgs,
    /// Pool this many injections (seeds SEED, SEED+1, …): more slowdowns, steadier figures.
    #[arg(long, default_value_t = 1)]
    pub(crate) seeds: u64,
    /// One JSON object per method setting instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
    /// Also replay, for each k, the hindsight reference: every task type held to the one limit
    /// the tailored objective (price k) picks knowing its whole history, past and future. No
    /// method can have it; it shows how far any per-type limit can go on this history.
    #[arg(long)]
    pub(crate) hindsight: bool,
    /// Also replay the seed method at its defaults (k = 2, 14 days, 5 runs, checks every 10
    /// minutes, whatever the schedule options say) and read each method's curve at its point:
    /// recall at the seed's false-alert rate, false alerts at its recall, each between the two k
    /// values that bracket it. Give several k values.
    #[arg(long)]
    pub(crate) against_seed: bool,
    /// Slow down only runs at least this many seconds long. Set it to compare check intervals on
    /// the same slowdowns (say 600 with --interval 60) [default: the check interval].
    #[arg(long)]
    pub(crate) eligible_from: Option<i64>,
    /// Backtest missed starts instead: delete this share of each scheduled type's due runs
    /// (each a missed start to catch), and score the schedule learner against a hand-configured
    /// monitor (the true schedule, grace at the 99th percentile of the type's lateness).
    #[arg(long)]
    pub(crate) drop: Option<f64>,
    /// With missed starts: delay this share of due runs past that grace (a late start to catch).
    #[arg(long)]
    pub(crate) delay: Option<f64>,
}

#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub(crate) struct PlotArgs {
    /// History file (CSV or .csv.gz); `-` reads standard input.
    pub(crate) file: PathBuf,
    /// The task type to draw, exactly as in the history.
    #[arg(long)]
    pub(crate) task: String,
    /// Output image: .svg or .png.
    #[arg(short, long)]
    pub(crate) output: PathBuf,
    #[command(flatten)]
    pub(crate) method: MethodArgs,
    #[command(flatten)]
    pub(crate) cadence: CadenceArgs,
    #[command(flatten)]
    pub(crate) judging: JudgingArgs,
    /// Image width in pixels (480 to 8000).
    #[arg(long, default_value_t = 1200)]
    pub(crate) width: u32,
    /// Image height in pixels (300 to 8000).
    #[arg(long, default_value_t = 500)]
    pub(crate) height: u32,
    /// The duration axis: linear, log, or auto (log when the limits span more than ×10, so one
    /// spike does not squash the rest).
    #[arg(long, default_value = "auto")]
    pub(crate) scale: overrun_cli::plot::chart::Scale,
    /// One JSON document instead of the text.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub(crate) struct ReportArgs {
    /// History file (CSV or .csv.gz); `-` reads standard input.
    pub(crate) file: PathBuf,
    /// The page to write (.html).
    #[arg(short, long)]
    pub(crate) output: PathBuf,
    #[command(flatten)]
    pub(crate) method: MethodArgs,
    #[command(flatten)]
    pub(crate) cadence: CadenceArgs,
    #[command(flatten)]
    pub(crate) judging: JudgingArgs,
    /// How many task types get a plot, those that alerted most first.
    #[arg(long, default_value_t = 30)]
    pub(crate) plots: usize,
    /// How many of the noisiest task types the summary lists.
    #[arg(long, default_value_t = 10)]
    pub(crate) top: usize,
    /// The plots' duration axis: linear, log, or auto (log when a type's limits span more than ×10).
    #[arg(long, default_value = "auto")]
    pub(crate) scale: overrun_cli::plot::chart::Scale,
    /// One JSON document instead of the text.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct TuneArgs {
    /// History file (CSV or .csv.gz); `-` reads standard input.
    pub(crate) file: PathBuf,
    /// Most warnings per day the team accepts.
    #[arg(long)]
    pub(crate) budget: f64,
    /// Baseline method: tailored (default), guarded, seed or lognormal.
    #[arg(long, default_value_t = MethodName::default())]
    pub(crate) method: MethodName,
    #[command(flatten)]
    pub(crate) cadence: CadenceArgs,
    #[command(flatten)]
    pub(crate) judging: JudgingArgs,
    /// Never draw a progress bar (one counts the replays on a terminal).
    #[arg(long)]
    pub(crate) no_progress: bool,
    /// One JSON document instead of the text.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct GenerateArgs {
    /// Number of runs.
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) runs: u64,
    /// Number of task types the runs are spread over.
    #[arg(long, default_value_t = 1_000)]
    pub(crate) task_types: u32,
    /// Days the starts are spread over.
    #[arg(long, default_value_t = 90)]
    pub(crate) days: u32,
    /// Random seed: the same seed writes the same file.
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    /// Epoch seconds of the earliest start (1735689600 is 2025-01-01T00:00:00Z).
    #[arg(long, default_value_t = 1_735_689_600)]
    pub(crate) begin: i64,
    /// Fraction of runs slowed down ×3.
    #[arg(long, default_value_t = 0.005)]
    pub(crate) slow_fraction: f64,
    /// Fraction of runs that fail.
    #[arg(long, default_value_t = 0.01)]
    pub(crate) fail_fraction: f64,
    /// Share of the task types that run on a schedule (every 15 min, hourly, every 3 h or daily,
    /// some on weekdays only) instead of at random times; the others share the remaining runs.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) scheduled_share: f64,
    /// Share of the task types with a weekly season: weekend runs (UTC) a fraction (5–30 %) of
    /// their weekday time; one seasonal type in five has longer weekends instead (×2–3), one
    /// starts its season mid-history.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) seasonal_share: f64,
    /// The widest spread of a type's durations (log-σ, from 0.05): 0.6 mixes steady and erratic
    /// jobs; 0.25 keeps to steady ones.
    #[arg(long, default_value_t = 0.6)]
    pub(crate) max_log_sigma: f64,
    /// Output file (gzip when it ends in .gz); `-` writes standard output.
    #[arg(short, long)]
    pub(crate) output: PathBuf,
}

#[derive(Args)]
pub(crate) struct ImportArgs {
    #[command(subcommand)]
    pub(crate) source: ImportSource,
}

#[derive(Subcommand)]
pub(crate) enum ImportSource {
    /// The jobs of a repository's workflow runs from GitHub Actions' REST API (every attempt),
    /// task type OWNER/REPO/WORKFLOW/JOB. A token in GITHUB_TOKEN (or GH_TOKEN) raises the rate
    /// limit from 60 to 5000 requests an hour and reaches private repositories; rate limits are
    /// waited out (up to 15 minutes).
    #[command(after_help = examples_then_exit_codes!(offline: "overrun import github OWNER/REPO --since 30d -o history.csv", "overrun import github OWNER/REPO --since 7d | overrun backfill -"))]
    Github {
        /// OWNER/REPO.
        repo: String,
        /// How far back: workflow runs created since then (a duration such as 30d or 12h).
        #[arg(long, default_value = "30d", value_parser = overrun_cli::durations::parse_duration)]
        since: std::time::Duration,
        /// The API's base URL (GitHub Enterprise Server: https://HOST/api/v3).
        #[arg(long, env = "GITHUB_API_URL", default_value = overrun_cli::commands::import::github::DEFAULT_API_URL)]
        api_url: String,
        /// Where to write the CSV (`-`: standard output).
        #[arg(short, long, default_value = "-")]
        output: PathBuf,
        /// No progress bar, even on a terminal.
        #[arg(long)]
        no_progress: bool,
        /// Name every task type `NAME@QUALIFIER`, as a deployment with OVERRUN_QUALIFY on
        /// names this source's: the source's name as in the sources' secret (`github` for
        /// GitHub's webhook).
        #[arg(long)]
        qualifier: Option<overrun_core::Qualifier>,
    },
    /// An OpenLineage JSON-lines export (one run event per line; plain or gzip; `-` reads
    /// standard input), task type NAMESPACE/NAME. Bad lines are reported with their number and
    /// skipped.
    #[command(after_help = examples_then_exit_codes!(offline: "overrun import openlineage lineage.jsonl -o history.csv", "overrun import openlineage - < marquez-export.jsonl | overrun replay -"))]
    Openlineage {
        /// The export.
        file: PathBuf,
        /// Where to write the CSV (`-`: standard output).
        #[arg(short, long, default_value = "-")]
        output: PathBuf,
        /// Name every task type `NAME@QUALIFIER`, as a deployment with OVERRUN_QUALIFY on
        /// names this source's: the source's name as in the sources' secret (`github` for
        /// GitHub's webhook).
        #[arg(long)]
        qualifier: Option<overrun_core::Qualifier>,
    },
}

/// `--season-zone`: an IANA zone name.
fn parse_zone(text: &str) -> Result<overrun_core::schedule::declared::Zone, String> {
    overrun_core::schedule::declared::Zone::named(text.trim()).map_err(|_| {
        format!("{text:?} is not an IANA time zone (such as UTC, Europe/Berlin or America/New_York)")
    })
}

/// `--attempt`: a whole number from 1.
fn parse_attempt(text: &str) -> Result<overrun_core::Attempt, String> {
    text.parse().map_err(|_| {
        format!("{text:?} is not an attempt number: 1 is the first attempt, 2 the re-run after it")
    })
}
