//! From parsed options to the requests the commands run, with the checks clap cannot make.

use overrun_cli::commands::backtest::{BacktestRequest, Variant};
use overrun_cli::commands::backtest_missed::MissedBacktestRequest;
use overrun_cli::commands::plot::{ImageFormat, PlotRequest};
use overrun_cli::commands::replay::ReplayRequest;
use overrun_cli::commands::report::ReportRequest;
use overrun_cli::commands::tune::TuneRequest;
use overrun_cli::error::CliError;
use overrun_cli::history::ReadOptions;
use overrun_cli::input::Source;
use overrun_core::evaluation::backtest::InjectionPlan;
use overrun_core::evaluation::missed_history::MissedInjection;
use overrun_core::evaluation::replay::ReplayConfig;
use overrun_core::limits::recent::RecentRuns;
use overrun_core::limits::window::ExclusionCap;
use overrun_core::settings::Choices;
use overrun_core::{BaselinePolicy, Method};

use overrun_core::limits::baseline::MethodName;

use crate::args::{BacktestArgs, CadenceArgs, JudgingArgs, PlotArgs, ReplayArgs, ReportArgs, TuneArgs};

/// `config` with warned runs left out as its method does, or as asked: `--exclusion-cap` (in
/// the choices) sets the share kept out, `--exclude-alerted` alone keeps out every warned run
/// (or the method's own share, for guarded).
pub(crate) fn excluding_alerted(config: ReplayConfig, exclude_alerted: bool) -> ReplayConfig {
    if exclude_alerted && config.exclusion.is_none() {
        return ReplayConfig { exclusion: Some(ExclusionCap::EVERY_WARNED_RUN), ..config };
    }
    config
}

/// The replay a command's options choose: `method` at `k` (`None`: the method's own) with the
/// cadence and judging options, and warned runs left out as asked (`exclusion_cap`: the share,
/// overriding the options').
fn judged_config(
    cadence: &CadenceArgs,
    judging: &JudgingArgs,
    (method, k): (MethodName, Option<f64>),
    exclusion: Option<(bool, Option<ExclusionCap>)>,
) -> Result<ReplayConfig, CliError> {
    let (exclude_alerted, exclusion_cap) =
        exclusion.unwrap_or((judging.exclude_alerted, judging.exclusion_cap));
    let choices = Choices {
        critical_factor: judging.critical_factor,
        short_fraction: judging.short_fraction,
        exclusion_cap,
        ..cadence.choices(method, k)
    };
    Ok(excluding_alerted(cadence.config(&choices)?, exclude_alerted))
}

/// How a command reads its history.
fn read_options(judging: &JudgingArgs, show_progress: bool) -> ReadOptions {
    ReadOptions { skip_bad_rows: judging.skip_bad_rows, show_progress }
}

pub(crate) fn replay_request(args: ReplayArgs) -> Result<ReplayRequest, CliError> {
    Ok(ReplayRequest {
        source: Source::from_arg(&args.file)?,
        config: judged_config(&args.cadence, &args.judging, (args.method.method, args.method.k), None)?,
        read: read_options(&args.judging, !args.no_progress),
        json: args.json,
        top: args.top,
    })
}

/// `backtest --drop/--delay`: missed starts. The overrun options (methods, k, fractions) do not
/// apply and are refused rather than ignored.
pub(crate) fn missed_backtest_request(args: BacktestArgs) -> Result<MissedBacktestRequest, CliError> {
    let (drop, delay) = (args.drop.unwrap_or(0.0), args.delay.unwrap_or(0.0));
    for (name, share) in [("--drop", drop), ("--delay", delay)] {
        if !(0.0..=0.5).contains(&share) {
            return Err(CliError::invalid(format!("{name} must be between 0 and 0.5, got {share}")));
        }
    }
    let judging = &args.judging;
    let judging_set = judging.critical_factor != overrun_core::defaults::CRITICAL_FACTOR
        || judging.short_fraction != overrun_core::defaults::SHORT_FRACTION
        || judging.exclude_alerted
        || judging.exclusion_cap.is_some();
    if !args.k.is_empty()
        || args.hindsight
        || args.against_seed
        || args.with_exclusion
        || args.seeds != 1
        || judging_set
    {
        return Err(CliError::invalid(
            "--drop/--delay backtest missed starts: --k, --hindsight, --against-seed, --with-exclusion, --seeds, --critical-factor, --short-fraction, --exclude-alerted and --exclusion-cap are for overruns",
        ));
    }
    Ok(MissedBacktestRequest {
        source: Source::from_arg(&args.file)?,
        read: read_options(&args.judging, true),
        injection: MissedInjection { seed: args.seed, drop, delay },
        interval: args.cadence.interval()?,
        json: args.json,
    })
}

pub(crate) fn backtest_request(args: BacktestArgs) -> Result<BacktestRequest, CliError> {
    if !(1..=1_000).contains(&args.seeds) {
        return Err(CliError::invalid(format!("--seeds must be 1 to 1000, got {}", args.seeds)));
    }
    if !(0.0..=1.0).contains(&args.fraction) {
        return Err(CliError::invalid(format!("--fraction must be between 0 and 1, got {}", args.fraction)));
    }
    let interval = args.cadence.interval()?;
    let ks = if args.k.is_empty() { vec![args.method.default_k()] } else { args.k.clone() };
    // Without --with-exclusion an --exclusion-cap applies to every setting; with it, only to the
    // added ones.
    let cap = args.judging.exclusion_cap;
    let (plain, added) = if args.with_exclusion {
        ((false, None), vec![(true, cap.or(Some(ExclusionCap::EVERY_WARNED_RUN)))])
    } else {
        ((args.judging.exclude_alerted, cap), Vec::new())
    };
    let mut variants = Vec::new();
    for exclusion in std::iter::once(plain).chain(added) {
        for &k in &ks {
            let config =
                judged_config(&args.cadence, &args.judging, (args.method, Some(k)), Some(exclusion))?;
            variants.push(Variant::of(config));
        }
    }
    if args.hindsight {
        for &k in &ks {
            // The reference's own limits replace the method's; the policy still decides when a
            // type has a baseline at all, as for every other setting.
            let config = ReplayConfig {
                exclusion: None,
                // One limit per type, known in advance: nothing for recent runs to add.
                recent: RecentRuns::default(),
                ..judged_config(&args.cadence, &args.judging, (args.method, Some(k)), Some((false, None)))?
            };
            variants.push(Variant::hindsight(config, k));
        }
    }
    let reference = if args.against_seed {
        // The seed exactly as docs/DETECTION.md states it, at its defaults (14-day window, at least 5 runs, checks
        // every 10 minutes): whatever schedule the settings compared with it use. A setting that
        // is exactly that serves as it.
        let seed = BaselinePolicy::new(Method::Seed { k: 2.0 }, 14, 5, 0).map_err(CliError::invalid)?;
        // The seed has no limit for a type without a baseline: such runs are not judged.
        let config = ReplayConfig { fallback_limit_ms: None, ..ReplayConfig::for_policy(seed) };
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
        read: read_options(&args.judging, true),
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

pub(crate) fn plot_request(args: PlotArgs) -> Result<PlotRequest, CliError> {
    if !(480..=8_000).contains(&args.width) || !(300..=8_000).contains(&args.height) {
        return Err(CliError::invalid(format!(
            "--width must be 480 to 8000 and --height 300 to 8000 pixels (smaller would clip the legend and labels), got {}×{}",
            args.width, args.height
        )));
    }
    let config = judged_config(&args.cadence, &args.judging, (args.method.method, args.method.k), None)?;
    Ok(PlotRequest {
        source: Source::from_arg(&args.file)?,
        read: read_options(&args.judging, true),
        task_type: args.task,
        format: ImageFormat::of(&args.output)?,
        output: args.output,
        config,
        width: args.width,
        height: args.height,
        scale: args.scale,
        json: args.json,
    })
}

pub(crate) fn report_request(args: ReportArgs) -> Result<ReportRequest, CliError> {
    if args.output.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref()
        != Some("html")
    {
        return Err(CliError::invalid(format!("--output {} must end in .html", args.output.display())));
    }
    let config = judged_config(&args.cadence, &args.judging, (args.method.method, args.method.k), None)?;
    Ok(ReportRequest {
        source: Source::from_arg(&args.file)?,
        read: read_options(&args.judging, true),
        config,
        output: args.output,
        plots: args.plots,
        top: args.top,
        scale: args.scale,
        json: args.json,
    })
}

pub(crate) fn tune_request(args: TuneArgs) -> Result<TuneRequest, CliError> {
    if !(args.budget.is_finite() && args.budget >= 0.0) {
        return Err(CliError::invalid(format!(
            "--budget must be a number of alerts per day ≥ 0, got {}",
            args.budget
        )));
    }
    let base = judged_config(&args.cadence, &args.judging, (args.method, None), None)?;
    let source = Source::from_arg(&args.file)?;
    let read = read_options(&args.judging, true);
    Ok(TuneRequest {
        runs: overrun_cli::history::read_all_runs(&source, &read)?,
        base,
        budget_per_day: args.budget,
        show_progress: !args.no_progress,
        json: args.json,
    })
}
