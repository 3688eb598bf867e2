//! `overrun`: replay real task-run history to see what Overrun would have alerted on, and when.

use std::io::{self, ErrorKind};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use overrun_cli::commands::aws::AwsArgs;
use overrun_cli::commands::backfill::{self, BackfillRequest};
use overrun_cli::commands::backtest::{self, BacktestRequest, Variant};
use overrun_cli::commands::generate::{self, GenerateRequest, SyntheticSpec};
use overrun_cli::commands::override_task::{self, OverrideRequest};
use overrun_cli::commands::plot::{self, ImageFormat, PlotRequest};
use overrun_cli::commands::replay::{self, ReplayRequest};
use overrun_cli::commands::tune::{self, TuneRequest};
use overrun_cli::error::CliError;
use overrun_cli::history::ReadOptions;
use overrun_cli::input::Source;
use overrun_core::backtest::InjectionPlan;
use overrun_core::baseline::MethodName;
use overrun_core::recent::{RecentRuns, RecentRunsError};
use overrun_core::{BaselinePolicy, DetectionConfig, Method, ReplayConfig, ShortRule, TickInterval};

/// Overrun: duration-anomaly alerts for workflow tasks.
///
/// Overrun learns how long each task type normally takes from its recent successful runs and
/// alerts when a run is still going well past that. `overrun replay` shows what it would have
/// alerted on, and when, over a history you already have.
#[derive(Parser)]
#[command(name = "overrun", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay a history of task runs: every alert Overrun would have raised, in time order.
    ///
    /// The input is CSV (or gzip-compressed CSV) with the header
    /// task_type,run_id,start_epoch_s,end_epoch_s,status where times are Unix epoch seconds
    /// (fractions allowed) and status is succeeded, failed, aborted or running (running rows leave
    /// end_epoch_s empty). Each night, a task type's baseline is computed from its succeeded runs
    /// of the last --window-days days; every --interval seconds, each running task is compared
    /// with its baseline.
    ///
    /// Exit codes: 0 done, 2 bad input or options (the message names the line), 1 output failed.
    Replay(ReplayArgs),
    /// Write a seeded synthetic history (log-normal durations) in the replay format, for
    /// benchmarks and experiments.
    Generate(GenerateArgs),
    /// Measure detection quality on a real history: slow down about 3 % of the eligible runs
    /// (×1.5, ×2, ×3, fixed seed), replay, and report false alerts per 1000 healthy runs and per
    /// day, recall per stretch factor, median detection delay, and alerts per day.
    ///
    /// Eligible runs: succeeded, of a task type with at least 20 earlier successes, lasting at
    /// least the check interval. Give several --k values (2,3,4) to compare sensitivities.
    Backtest(BacktestArgs),
    /// Draw one task type's history: each run's duration at its start, the expected duration and
    /// upper limit as they moved night by night, and the runs Overrun alerted on (SVG or PNG, by
    /// the output's extension).
    Plot(PlotArgs),
    /// Recommend the sensitivity (k) that keeps warnings under a budget per day on a history:
    /// the most sensitive setting the team says it can live with.
    Tune(TuneArgs),
    /// Load a history (same CSV format as replay) into the deployed runs table, then compute
    /// tonight's baselines from it, so alerts work from day one.
    ///
    /// Runs older than the retention (OVERRUN_RETENTION_DAYS, default 35) are skipped: the
    /// table's TTL would delete them at once. Loading is idempotent: loading twice counts nothing
    /// twice. Baseline settings (OVERRUN_K, OVERRUN_WINDOW_DAYS, …) are read from the environment
    /// like the functions read them.
    Backfill(BackfillArgs),
    /// Set or clear a per-task override the checker honours: a different k, a fixed limit, or
    /// silence until a date. Alerts say when an override applied.
    Override(OverrideArgs),
    /// Create the runs and stats tables (with their indexes and TTL) on a local endpoint, for
    /// trying Overrun without AWS. In AWS, deploy infra/ instead.
    CreateTables(CreateTablesArgs),
}

#[derive(Args)]
struct CreateTablesArgs {
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Args)]
struct BackfillArgs {
    /// History file (CSV or .csv.gz); `-` reads standard input.
    file: PathBuf,
    #[command(flatten)]
    aws: AwsArgs,
    /// Writes in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Only load the runs; leave the baselines to the nightly function.
    #[arg(long)]
    no_baselines: bool,
    /// Skip malformed rows instead of stopping at the first.
    #[arg(long)]
    skip_bad_rows: bool,
}

#[derive(Args)]
#[command(allow_negative_numbers = true)]
struct OverrideArgs {
    /// The task type, exactly as in the events.
    task_type: String,
    /// Use this k instead of the configured one: limit = expected + k·σ.
    #[arg(long)]
    k: Option<f64>,
    /// A fixed limit in seconds, instead of any baseline.
    #[arg(long)]
    limit: Option<f64>,
    /// No alerts for this task type until then: a date (2026-12-01, midnight UTC) or an RFC 3339
    /// timestamp.
    #[arg(long)]
    mute_until: Option<String>,
    /// This task type's too-short fraction instead of the configured one; 0 stops its too-short
    /// notices (and only those). With OVERRUN_SHORT_FRACTION=0 no task type gets notices (ingest
    /// then reads no limits), whatever its override.
    #[arg(long)]
    short_fraction: Option<f64>,
    /// Remove the override: the nightly baseline applies again.
    #[arg(long)]
    clear: bool,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Args)]
#[command(allow_negative_numbers = true)]
struct ReplayArgs {
    /// History file (CSV or .csv.gz, detected by content); `-` reads standard input.
    file: PathBuf,
    #[command(flatten)]
    method: MethodArgs,
    #[command(flatten)]
    schedule: ScheduleArgs,
    /// A run is critical past this multiple of its limit (a warning past the limit itself).
    #[arg(long, default_value_t = DetectionConfig::DEFAULT_CRITICAL_FACTOR)]
    critical_factor: f64,
    /// Leave runs that were themselves warned about out of later baselines (what `guarded` does,
    /// for the other methods).
    #[arg(long)]
    exclude_alerted: bool,
    /// Warned runs stay out of later baselines, at most this share of a window (its slowest
    /// warned runs); 1 excludes every warned run [guarded: 0.1].
    #[arg(long)]
    exclusion_cap: Option<f64>,
    /// A succeeded run shorter than this fraction of its expected duration (and below its band
    /// mirrored under the mean) gets an informational notice; 0 turns notices off.
    #[arg(long, default_value_t = ShortRule::DEFAULT_FRACTION)]
    short_fraction: f64,
    /// One JSON object per alert (or notice) per line instead of the summary and table.
    #[arg(long)]
    json: bool,
    /// Skip malformed rows (reporting how many and why on stderr) instead of stopping at the first.
    #[arg(long)]
    skip_bad_rows: bool,
    /// How many of the noisiest task types the summary lists.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Never draw a progress bar (one is drawn on a terminal for large inputs).
    #[arg(long)]
    no_progress: bool,
}

/// The baseline method and its sensitivity, for the commands that replay one setting.
#[derive(Args)]
struct MethodArgs {
    /// Baseline method. `tailored` (default): per task type, the limit that catches the most
    /// ×1.5–×3 slowdowns of the window's runs for its false pages, a false page priced at k
    /// caught slowdowns. `guarded`: limit = mean + k·σ of the window's succeeded runs, the
    /// slowest runs that were themselves warned about left out, at most 10 % of the window.
    /// `seed`: mean + k·σ of every succeeded run, exactly as the seed article. `lognormal`: a
    /// prediction limit in log space, exp(μ + t·s·√(1 + 1/n)) with t the Student quantile at the
    /// level of a normal k (see docs/DETECTION.md).
    #[arg(long, default_value_t = MethodName::default())]
    method: MethodName,
    /// Sensitivity: how many standard deviations above the mean the limit sits (for tailored, the
    /// price of a false page) [default: 4 for guarded, 2 for seed and lognormal, 6 for tailored].
    #[arg(long)]
    k: Option<f64>,
}

impl MethodArgs {
    fn method(&self) -> Method {
        self.method.with_k(self.k.unwrap_or(self.method.default_k()))
    }
}

/// The replay settings of a policy, with warned runs left out as its method does, or as asked:
/// `--exclusion-cap` sets the share kept out, `--exclude-alerted` alone keeps out every warned
/// run (or the method's own share, for guarded).
fn replay_config(
    policy: BaselinePolicy,
    exclude_alerted: bool,
    exclusion_cap: Option<f64>,
) -> Result<ReplayConfig, CliError> {
    let mut config = ReplayConfig::for_policy(policy);
    if let Some(cap) = exclusion_cap {
        config.exclude_alerted = true;
        config.exclusion_cap = valid_exclusion_cap(cap)?;
    } else if exclude_alerted && !config.exclude_alerted {
        config.exclude_alerted = true;
        config.exclusion_cap = 1.0;
    }
    Ok(config)
}

/// When baselines are computed and how often runs are checked: shared by every replaying command.
#[derive(Args)]
struct ScheduleArgs {
    /// Days of succeeded runs a baseline looks back over.
    #[arg(long, default_value_t = 14)]
    window_days: u32,
    /// Fewest succeeded runs in the window for a baseline; fewer means no alerts for that type.
    #[arg(long, default_value_t = 5)]
    min_samples: u64,
    /// Seconds between checks; checks fall on multiples of it since the Unix epoch.
    #[arg(long, default_value_t = 600)]
    interval: i64,
    /// UTC hour at which baselines are recomputed each night.
    #[arg(long, default_value_t = 0)]
    nightly_hour: u8,
    /// Runs that start at the same instant form a cohort (one build's jobs); once three of a
    /// run's cohort have succeeded, its limits stretch by their median slowdown. The functions do
    /// this for the cohorts task events name; a history file has no such column.
    #[arg(long)]
    cohorts: bool,
    /// With the tailored method: each run's limit also weighs the N latest succeeded runs of its
    /// type that had ended when it started [default: 3 with tailored; 0 turns it off].
    #[arg(long)]
    recent_runs: Option<usize>,
    /// The share of the weight those recent runs get between them, the night's window keeping
    /// the rest [default: 0.3].
    #[arg(long)]
    recent_weight: Option<f64>,
}

impl ScheduleArgs {
    /// The recent-runs settings, checked as the functions check them, for `policy`'s method.
    fn recent(&self, policy: &BaselinePolicy) -> Result<RecentRuns, CliError> {
        let named = |error: RecentRunsError| {
            let option =
                if matches!(error, RecentRunsError::Weight(_)) { "--recent-weight" } else { "--recent-runs" };
            CliError::invalid(format!("{option}: {error}"))
        };
        RecentRuns::chosen(self.recent_runs, self.recent_weight, policy).map_err(named)
    }

    fn policy(&self, method: Method) -> Result<BaselinePolicy, CliError> {
        let policy = BaselinePolicy::new(method, self.window_days, self.min_samples, self.nightly_hour)
            .map_err(CliError::invalid)?;
        Ok(policy.with_check_interval(self.interval()?))
    }

    fn interval(&self) -> Result<TickInterval, CliError> {
        TickInterval::from_seconds(self.interval).map_err(CliError::invalid)
    }
}

#[derive(Args)]
#[command(allow_negative_numbers = true)]
struct BacktestArgs {
    /// History file (CSV or .csv.gz); `-` reads standard input.
    file: PathBuf,
    /// Baseline method: tailored (default), guarded, seed or lognormal (see `overrun replay
    /// --help`).
    #[arg(long, default_value_t = MethodName::default())]
    method: MethodName,
    /// One or more k values to compare, comma-separated [default: the method's own, 4 for
    /// guarded, 2 for seed and lognormal, 6 for tailored].
    #[arg(long, value_delimiter = ',')]
    k: Vec<f64>,
    #[command(flatten)]
    schedule: ScheduleArgs,
    /// Seed of the injection: the same seed slows down the same runs.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Fraction of eligible runs slowed down.
    #[arg(long, default_value_t = 0.03)]
    fraction: f64,
    /// Also replay each setting with warned runs left out of later baselines (at most
    /// --exclusion-cap of a window; every warned run without it).
    #[arg(long)]
    with_exclusion: bool,
    /// Warned runs stay out of later baselines, at most this share of a window [guarded: 0.1];
    /// with --with-exclusion, the share for the added settings only.
    #[arg(long)]
    exclusion_cap: Option<f64>,
    /// Pool this many injections (seeds SEED, SEED+1, …): more slowdowns, steadier figures.
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// One JSON object per method setting instead of the table.
    #[arg(long)]
    json: bool,
    /// Also replay, for each k, the hindsight reference: every task type held to the one limit
    /// the tailored objective (price k) picks knowing its whole history, past and future. No
    /// method can have it; it shows how far any per-type limit can go on this history.
    #[arg(long)]
    hindsight: bool,
    /// Also replay the seed method at its defaults (k = 2, 14 days, 5 runs, checks every 10
    /// minutes, whatever the schedule options say) and read each method's curve at its point:
    /// recall at the seed's false-alert rate, false alerts at its recall, each between the two k
    /// values that bracket it. Give several k values.
    #[arg(long)]
    against_seed: bool,
    /// Slow down only runs at least this many seconds long [default: the check interval]. Set it
    /// to compare check intervals on the same slowdowns (say 600 with --interval 60).
    #[arg(long)]
    eligible_from: Option<i64>,
}

#[derive(Args)]
#[command(allow_negative_numbers = true)]
struct PlotArgs {
    /// History file (CSV or .csv.gz); `-` reads standard input.
    file: PathBuf,
    /// The task type to draw, exactly as in the history.
    #[arg(long)]
    task: String,
    /// Output image: .svg or .png.
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    method: MethodArgs,
    #[command(flatten)]
    schedule: ScheduleArgs,
    /// Image size in pixels.
    #[arg(long, default_value_t = 1200)]
    width: u32,
    #[arg(long, default_value_t = 500)]
    height: u32,
}

#[derive(Args)]
struct TuneArgs {
    /// History file (CSV or .csv.gz); `-` reads standard input.
    file: PathBuf,
    /// Most warnings per day the team accepts.
    #[arg(long)]
    budget: f64,
    /// Baseline method: tailored (default), guarded, seed or lognormal.
    #[arg(long, default_value_t = MethodName::default())]
    method: MethodName,
    #[command(flatten)]
    schedule: ScheduleArgs,
    /// Warned runs stay out of later baselines, at most this share of a window (as
    /// OVERRUN_EXCLUSION_CAP does in the functions) [guarded: 0.1].
    #[arg(long)]
    exclusion_cap: Option<f64>,
}

#[derive(Args)]
struct GenerateArgs {
    /// Number of runs.
    #[arg(long, default_value_t = 1_000_000)]
    runs: u64,
    /// Number of task types the runs are spread over.
    #[arg(long, default_value_t = 1_000)]
    task_types: u32,
    /// Days the starts are spread over.
    #[arg(long, default_value_t = 90)]
    days: u32,
    /// Random seed: the same seed writes the same file.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Epoch seconds of the earliest start (default 2025-01-01T00:00:00Z).
    #[arg(long, default_value_t = 1_735_689_600)]
    begin: i64,
    /// Fraction of runs slowed down ×3.
    #[arg(long, default_value_t = 0.005)]
    slow_fraction: f64,
    /// Fraction of runs that fail.
    #[arg(long, default_value_t = 0.01)]
    fail_fraction: f64,
    /// Output file (gzip when it ends in .gz); `-` writes standard output.
    #[arg(short, long)]
    output: PathBuf,
}

fn replay_request(args: ReplayArgs) -> Result<ReplayRequest, CliError> {
    let policy = args.schedule.policy(args.method.method())?;
    let detection = DetectionConfig::new(args.critical_factor).map_err(CliError::invalid)?;
    let short = ShortRule::new(args.short_fraction).map_err(CliError::invalid)?;
    Ok(ReplayRequest {
        source: Source::from_arg(&args.file)?,
        config: ReplayConfig {
            detection,
            short,
            cohorts: args.schedule.cohorts,
            recent: args.schedule.recent(&policy)?,
            ..replay_config(policy, args.exclude_alerted, args.exclusion_cap)?
        },
        read: ReadOptions { skip_bad_rows: args.skip_bad_rows, show_progress: !args.no_progress },
        json: args.json,
        top: args.top,
    })
}

fn valid_exclusion_cap(cap: f64) -> Result<f64, CliError> {
    if (0.0..=1.0).contains(&cap) {
        Ok(cap)
    } else {
        Err(CliError::invalid(format!("--exclusion-cap must be between 0 and 1, got {cap}")))
    }
}

fn backtest_request(args: BacktestArgs) -> Result<BacktestRequest, CliError> {
    if !(1..=1_000).contains(&args.seeds) {
        return Err(CliError::invalid(format!("--seeds must be 1 to 1000, got {}", args.seeds)));
    }
    if !(0.0..=1.0).contains(&args.fraction) {
        return Err(CliError::invalid(format!("--fraction must be between 0 and 1, got {}", args.fraction)));
    }
    let interval = args.schedule.interval()?;
    let ks = if args.k.is_empty() { vec![args.method.default_k()] } else { args.k.clone() };
    // Without --with-exclusion an --exclusion-cap applies to every setting; with it, only to the
    // added ones.
    let (plain_cap, added) = if args.with_exclusion {
        (None, vec![(true, args.exclusion_cap.or(Some(1.0)))])
    } else {
        (args.exclusion_cap, Vec::new())
    };
    let mut variants = Vec::new();
    for (exclude_alerted, cap) in std::iter::once((false, plain_cap)).chain(added) {
        for &k in &ks {
            let policy = args.schedule.policy(args.method.with_k(k))?;
            let config = ReplayConfig {
                cohorts: args.schedule.cohorts,
                recent: args.schedule.recent(&policy)?,
                ..replay_config(policy, exclude_alerted, cap)?
            };
            variants.push(Variant::of(config));
        }
    }
    if args.hindsight {
        for &k in &ks {
            // The reference's own limits replace the method's; the policy still decides when a
            // type has a baseline at all, as for every other setting.
            let policy = args.schedule.policy(args.method.with_k(k))?;
            let config = ReplayConfig {
                cohorts: args.schedule.cohorts,
                exclude_alerted: false,
                // One limit per type, known in advance: nothing for recent runs to add.
                recent: RecentRuns::default(),
                ..ReplayConfig::for_policy(policy)
            };
            variants.push(Variant::hindsight(config, k));
        }
    }
    let reference = if args.against_seed {
        // The seed exactly as DESIGN §2 at its defaults (14-day window, at least 5 runs, checks
        // every 10 minutes): whatever schedule the settings compared with it use. A setting that
        // is exactly that serves as it.
        let seed = BaselinePolicy::new(Method::Seed { k: 2.0 }, 14, 5, 0).map_err(CliError::invalid)?;
        let config = ReplayConfig::for_policy(seed);
        Some(match variants.iter().position(|v| v.config == config && !v.hindsight) {
            Some(same) => same,
            None => {
                let mut reference = Variant::of(config);
                if variants.iter().any(|v| v.label == reference.label) {
                    reference.label.push_str(" reference");
                }
                variants.push(reference);
                variants.len() - 1
            }
        })
    } else {
        None
    };
    Ok(BacktestRequest {
        source: Source::from_arg(&args.file)?,
        read: ReadOptions { skip_bad_rows: false, show_progress: true },
        variants,
        plan: InjectionPlan {
            seed: args.seed,
            fraction: args.fraction,
            min_duration_ms: match args.eligible_from {
                Some(seconds) if seconds > 0 => seconds.saturating_mul(1_000),
                Some(seconds) => {
                    return Err(CliError::invalid(format!(
                        "--eligible-from must be a positive number of seconds, got {seconds}"
                    )));
                }
                None => interval.as_ms(),
            },
            ..InjectionPlan::default()
        },
        seeds: args.seeds,
        json: args.json,
        reference,
    })
}

fn execute(command: Command) -> Result<(), CliError> {
    match command {
        Command::Replay(args) => {
            let request = replay_request(args)?;
            // Stdout is line-buffered by default: thousands of alert lines would be thousands of
            // writes.
            let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
            replay::run(&request, &mut out, &mut io::stderr().lock())
        }
        Command::Backfill(args) => backfill::run(
            &BackfillRequest {
                source: Source::from_arg(&args.file)?,
                read: ReadOptions { skip_bad_rows: args.skip_bad_rows, show_progress: true },
                aws: args.aws,
                concurrency: args.concurrency,
                compute_baselines: !args.no_baselines,
            },
            &mut io::stdout().lock(),
            &mut io::stderr().lock(),
        ),
        Command::Override(args) => override_task::run(
            &OverrideRequest {
                task_type: args.task_type,
                k: args.k,
                limit_s: args.limit,
                mute_until: args.mute_until,
                short_fraction: args.short_fraction,
                clear: args.clear,
                aws: args.aws,
            },
            &mut io::stdout().lock(),
        ),
        Command::CreateTables(args) => create_tables(&args.aws),
        Command::Plot(args) => {
            if !(200..=8_000).contains(&args.width) || !(150..=8_000).contains(&args.height) {
                return Err(CliError::invalid(format!(
                    "--width must be 200 to 8000 and --height 150 to 8000 pixels, got {}×{}",
                    args.width, args.height
                )));
            }
            let policy = args.schedule.policy(args.method.method())?;
            let request = PlotRequest {
                source: Source::from_arg(&args.file)?,
                read: ReadOptions { skip_bad_rows: false, show_progress: true },
                task_type: args.task,
                format: ImageFormat::of(&args.output)?,
                output: args.output,
                config: ReplayConfig {
                    cohorts: args.schedule.cohorts,
                    recent: args.schedule.recent(&policy)?,
                    ..ReplayConfig::for_policy(policy)
                },
                width: args.width,
                height: args.height,
            };
            plot::run(&request, &mut io::stdout().lock())
        }
        Command::Tune(args) => {
            if !(args.budget.is_finite() && args.budget >= 0.0) {
                return Err(CliError::invalid(format!(
                    "--budget must be a number of alerts per day ≥ 0, got {}",
                    args.budget
                )));
            }
            let policy = args.schedule.policy(args.method.with_default_k())?;
            let source = Source::from_arg(&args.file)?;
            let read = ReadOptions { skip_bad_rows: false, show_progress: true };
            let request = TuneRequest {
                runs: overrun_cli::history::read_all_runs(&source, &read)?,
                base: ReplayConfig {
                    cohorts: args.schedule.cohorts,
                    recent: args.schedule.recent(&policy)?,
                    ..replay_config(policy, false, args.exclusion_cap)?
                },
                budget_per_day: args.budget,
            };
            tune::run(&request, &mut io::stdout().lock())
        }
        Command::Backtest(args) => {
            let request = backtest_request(args)?;
            let mut out = io::BufWriter::new(io::stdout().lock());
            backtest::run(&request, &mut out)?;
            io::Write::flush(&mut out).map_err(CliError::Output)
        }
        Command::Generate(args) => generate::run(&GenerateRequest {
            spec: SyntheticSpec {
                runs: args.runs,
                task_types: args.task_types,
                days: args.days,
                seed: args.seed,
                begin: args.begin,
                slow_fraction: args.slow_fraction,
                fail_fraction: args.fail_fraction,
            },
            output: args.output,
        }),
    }
}

fn create_tables(aws: &AwsArgs) -> Result<(), CliError> {
    let (runs, stats) = (aws.require_runs_table()?, aws.require_stats_table()?);
    overrun_cli::commands::aws::runtime()?.block_on(async {
        let client = overrun_cli::commands::aws::aws_sdk_dynamodb_client(aws).await;
        overrun_aws::schema::create_tables(&client, runs, stats)
            .await
            .map_err(|e| CliError::Aws(e.to_string()))
    })?;
    println!("created tables {runs} and {stats}");
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        // `overrun replay … | head` closing the pipe early is not a failure.
        Err(CliError::Output(error)) if error.kind() == ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("overrun: {error}");
            ExitCode::from(error.exit_code() as u8)
        }
    }
}
