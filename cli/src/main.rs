//! `overrun`: replay real task-run history to see what Overrun would have alerted on, and when.

mod args;
mod requests;

use overrun_cli::output_file::OutputFile;
use std::io::{self, ErrorKind};
use std::process::ExitCode;

use clap::Parser;
use overrun_cli::commands::aws::AwsArgs;
use overrun_cli::commands::backfill::{self, BackfillRequest};
use overrun_cli::commands::backtest;
use overrun_cli::commands::backtest_missed;
use overrun_cli::commands::generate::{self, GenerateRequest, SyntheticSpec};
use overrun_cli::commands::import;
use overrun_cli::commands::inspect::alerts::{self, AlertsRequest};
use overrun_cli::commands::inspect::close::{self, CloseRequest};
use overrun_cli::commands::inspect::explain::{self, ExplainRequest};
use overrun_cli::commands::inspect::explain_type::{self, ExplainTypeRequest};
use overrun_cli::commands::inspect::limits::{self, LimitsRequest};
use overrun_cli::commands::inspect::schedules;
use overrun_cli::commands::inspect::status::{self, StatusRequest};
use overrun_cli::commands::override_task::{self, OverrideRequest};
use overrun_cli::commands::plot;
use overrun_cli::commands::replay;
use overrun_cli::commands::report;
use overrun_cli::commands::schedule_task::{self, DeclareRequest};
use overrun_cli::commands::tune;
use overrun_cli::error::CliError;
use overrun_cli::history::ReadOptions;
use overrun_cli::input::Source;

use args::{Cli, Command, ExplainArgs, ImportSource, ScheduleCommand};
use requests::{
    backtest_request, missed_backtest_request, plot_request, replay_request, report_request, tune_request,
};

fn execute(command: Command) -> Result<(), CliError> {
    match command {
        Command::Replay(args) => {
            let request = replay_request(args)?;
            // Stdout is line-buffered by default: thousands of alert lines would be thousands of
            // writes.
            let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
            // Stderr unlocked: the progress bar draws to it from the decompression thread, and
            // holding its lock here while waiting for that thread would hang both.
            replay::run(&request, &mut out, &mut io::stderr())
        }
        Command::Backfill(args) => backfill::run(
            &BackfillRequest {
                source: Source::from_arg(&args.file)?,
                read: ReadOptions { skip_bad_rows: args.skip_bad_rows, show_progress: true },
                aws: args.aws,
                concurrency: args.concurrency,
                compute_baselines: !args.no_baselines,
                shift_to_now: args.shift_to_now,
                since: args.since,
                qualifier: args.qualifier,
                origin: args.from,
                json: args.json,
            },
            &mut io::stdout().lock(),
            // Unlocked, as for replay: the progress bar needs it from another thread.
            &mut io::stderr(),
        ),
        Command::Override(args) if args.list => {
            override_task::list(&args.aws, args.json, &mut io::stdout().lock())
        }
        Command::Override(args) => override_task::run(
            &OverrideRequest {
                task_type: args.task_type.unwrap_or_default(),
                k: args.k,
                limit: args.limit,
                mute_until: args.mute_until,
                short_fraction: args.short_fraction,
                seasons: args.seasons,
                clear: args.clear,
                create: args.create,
                now: now(),
                aws: args.aws,
                json: args.json,
            },
            &mut io::stdout().lock(),
        ),
        Command::CreateTables(args) => create_tables(&args.aws, args.json),
        Command::Status(args) => status::run(
            &StatusRequest { aws: args.aws, now: now(), json: args.json },
            &mut io::stdout().lock(),
        ),
        Command::Limits(args) => limits::run(
            &LimitsRequest { aws: args.aws, tasks: args.tasks, json: args.json },
            &mut io::stdout().lock(),
        ),
        Command::Schedule(ScheduleCommand::List(args)) => schedules::run(
            &LimitsRequest { aws: args.aws, tasks: args.tasks, json: args.json },
            now(),
            &mut io::stdout().lock(),
        ),
        Command::Schedule(ScheduleCommand::Set(args)) => schedule_task::set(
            &DeclareRequest {
                task_type: args.task_type,
                expression: args.expression,
                grace: args.grace,
                timezone: args.timezone,
                unscheduled: args.unscheduled,
                create: args.create,
                now: now(),
                aws: args.aws,
                json: args.json,
            },
            &mut io::stdout().lock(),
        ),
        Command::Schedule(ScheduleCommand::Clear(args)) => {
            schedule_task::clear(&args.task_type, &args.aws, args.json, &mut io::stdout().lock())
        }
        Command::Alerts(args) => alerts::run(
            &AlertsRequest { aws: args.aws, now: now(), since: args.since, json: args.json },
            &mut io::stdout().lock(),
        ),
        Command::Explain(ExplainArgs { run_id: None, task_type, aws, json, attempt: None, from: None }) => {
            explain_type::run(
                &ExplainTypeRequest { aws, task_type, now: now(), json },
                &mut io::stdout().lock(),
            )
        }
        Command::Explain(ExplainArgs { run_id: None, .. }) => {
            Err(CliError::invalid("--attempt and --from name a run: give its run id too"))
        }
        Command::Explain(args) => explain::run(
            &ExplainRequest {
                aws: args.aws,
                task_type: args.task_type,
                run_id: args.run_id.unwrap_or_default(),
                attempt: args.attempt,
                origin: args.from,
                now: now(),
                json: args.json,
            },
            &mut io::stdout().lock(),
        ),
        Command::Close(args) => close::run(
            &CloseRequest {
                aws: args.aws,
                task_type: args.task_type,
                run_id: args.run_id,
                attempt: args.attempt,
                origin: args.from,
                status: args.status.into(),
                end: args.end,
                now: now(),
                json: args.json,
            },
            &mut io::stdout().lock(),
        ),
        Command::Plot(args) => plot::run(&plot_request(args)?, &mut io::stdout().lock()),
        Command::Report(args) => report::run(&report_request(args)?, &mut io::stdout().lock()),
        Command::Tune(args) => tune::run(&tune_request(args)?, &mut io::stdout().lock()),
        Command::Backtest(args) if args.drop.is_some() || args.delay.is_some() => {
            let request = missed_backtest_request(args)?;
            backtest_missed::run(&request, &mut io::stdout().lock())
        }
        Command::Backtest(args) => {
            let request = backtest_request(args)?;
            let mut out = io::BufWriter::new(io::stdout().lock());
            backtest::run(&request, &mut out)?;
            io::Write::flush(&mut out).map_err(CliError::Output)
        }
        Command::Import(args) => import_history(args.source),
        Command::Generate(args) => generate::run(&GenerateRequest {
            spec: SyntheticSpec {
                runs: args.runs,
                task_types: args.task_types,
                days: args.days,
                seed: args.seed,
                begin: args.begin,
                slow_fraction: args.slow_fraction,
                fail_fraction: args.fail_fraction,
                scheduled_share: args.scheduled_share,
                seasonal_share: args.seasonal_share,
                max_log_sigma: args.max_log_sigma,
            },
            output: args.output,
        }),
    }
}

fn import_history(source: ImportSource) -> Result<(), CliError> {
    let (output, summary) = match source {
        ImportSource::Github { repo, since, api_url, output, no_progress, qualifier } => {
            let token = ["GITHUB_TOKEN", "GH_TOKEN"]
                .iter()
                .find_map(|name| std::env::var(name).ok().filter(|token| !token.trim().is_empty()));
            let request = import::github::GitHubImport {
                repo: repo.clone(),
                since,
                api_url,
                token,
                now: now(),
                show_progress: !no_progress,
                backoff: std::time::Duration::from_secs(1),
                qualifier,
            };
            let mut out = OutputFile::create(&output)?;
            let (summary, fetched) = import::github::run(&request, out.writer(), &mut io::stderr())?;
            out.commit()?;
            let detail = format!(
                "from {} workflow runs of {repo} ({} API requests)",
                fetched.workflow_runs, fetched.requests
            );
            (output, format!("{summary} {detail}"))
        }
        ImportSource::Openlineage { file, output, qualifier } => {
            let source = Source::from_arg(&file)?;
            let mut out = OutputFile::create(&output)?;
            let summary = import::openlineage::run(&source, qualifier, out.writer(), &mut io::stderr())?;
            out.commit()?;
            (output, format!("{summary} from {}", source.name()))
        }
    };
    let target =
        if output.as_os_str() == "-" { String::new() } else { format!(" written to {}", output.display()) };
    eprintln!("imported {summary}{target}");
    Ok(())
}

fn now() -> overrun_core::EpochMs {
    overrun_core::ports::Clock::now(&overrun_aws::SystemClock)
}

fn create_tables(aws: &AwsArgs, json: bool) -> Result<(), CliError> {
    let (runs, stats) = (aws.require_runs_table()?, aws.require_stats_table()?);
    let created = overrun_cli::commands::aws::runtime()?.block_on(async {
        let client = overrun_cli::commands::aws::aws_sdk_dynamodb_client(aws).await;
        overrun_aws::schema::create_tables(&client, runs, stats).await.map_err(|e| aws.error(e))
    })?;
    if json {
        let tables: Vec<serde_json::Value> = [(runs, created.runs), (stats, created.stats)]
            .into_iter()
            .map(|(table, was_created)| serde_json::json!({ "name": table, "created": was_created }))
            .collect();
        let value =
            serde_json::json!({ "version": overrun_core::notify::message::JSON_VERSION, "tables": tables });
        println!("{value}");
        return Ok(());
    }
    for (table, was_created) in [(runs, created.runs), (stats, created.stats)] {
        let what = if was_created { "created" } else { "already exists, left as it is" };
        println!("table {table}: {what}");
    }
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
