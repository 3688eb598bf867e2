//! `overrun status`, `limits`, `alerts`, `explain` and `close` against the local AWS endpoint
//! (moto): what the deployed system believes, read back as an operator would.

use std::time::{SystemTime, UNIX_EPOCH};

use overrun_core::ports::{RunRecorder, RunStarted};
use overrun_core::{RunId, TaskType};
use overrun_integration_tests::Stack;
use predicates::str::contains;
use serde_json::Value;

mod aws_cli;
use aws_cli::{overrun, recent_history};

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

async fn start(stack: &Stack, task: &str, run: &str, start: i64) {
    let event = RunStarted {
        task_type: TaskType::new(task).unwrap(),
        run_id: RunId::new(run).unwrap(),
        numbered: false,
        start,
        cohort: None,
    };
    stack.adapters.runs.record_start(&event).await.unwrap();
}

/// One checker tick now, through the functions' own code, which must succeed.
async fn check_now(stack: &Stack) {
    let settings = stack.config.check_settings();
    let tick = overrun_app::check::Tick {
        now: now_ms(),
        owner: "tick",
        settings: &settings,
        policy: &stack.config.policy,
        notice_days: stack.config.retention_days,
    };
    let notifier = stack.notifier();
    let ports = overrun_app::check::CheckPorts {
        runs: &stack.adapters.runs,
        stats: &stack.adapters.stats,
        outbox: &stack.adapters.outbox,
        notifier: &notifier,
    };
    let report = overrun_app::check::handle(&tick, &ports).await;
    assert!(!report.failed(), "{report:?}");
}

/// Baselines for "etl" (six runs of about 10 minutes), a run three hours in (stuck), one a
/// minute in, and one of a type with no baseline; one checker tick has alerted on the stuck run.
async fn deployed_state() -> Stack {
    let stack = Stack::new().await;
    let mut backfill = overrun(&stack, &["backfill", "-"]);
    backfill.write_stdin(recent_history());
    backfill.assert().success();
    let now = now_ms();
    start(&stack, "etl", "stuck", now - 3 * 3_600_000).await;
    start(&stack, "brand-new", "first", now - 300_000).await;
    check_now(&stack).await;
    stack
}

fn json_of(output: &[u8]) -> Value {
    serde_json::from_slice(output).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(output)))
}

#[tokio::test]
async fn status_lists_running_runs_riskiest_first_and_flags_the_stuck_one() {
    let stack = deployed_state().await;
    let human = overrun(&stack, &["status"]).assert().success().get_output().stdout.clone();
    let human = String::from_utf8(human).unwrap();
    assert!(human.starts_with("3 runs running at"), "{human}");
    let rows: Vec<&str> = human.lines().skip(2).take(3).collect();
    assert!(
        rows[0].starts_with("etl") && rows[0].contains("stuck") && rows[0].contains("critical"),
        "{human}"
    );
    assert!(rows[0].contains("warning sent, critical sent"), "{human}");
    assert!(rows[1].contains("etl-now") && rows[1].contains("within"), "{human}");
    // No baseline yet: judged by the fallback limit (twelve hours by default).
    assert!(
        rows[2].contains("brand-new") && rows[2].contains("12h 00m") && rows[2].contains("within"),
        "{human}"
    );
    assert!(human.contains("! etl stuck: stuck? past its critical limit"), "{human}");

    let output = overrun(&stack, &["status", "--json"]).assert().success().get_output().stdout.clone();
    let status = json_of(&output);
    let running = status["running"].as_array().unwrap();
    assert_eq!(running[0]["run_id"], "stuck");
    assert_eq!(running[0]["level"], "critical");
    assert!(running[0]["share_used"].as_f64().unwrap() > 2.0);
    assert_eq!(running[0]["alerts"][1]["delivered"], true);
    assert_eq!(
        (running[2]["state"].as_str(), running[2]["warning_limit_s"].as_f64()),
        (Some("judged"), Some(43_200.0))
    );
    // With the fallback off, a type without a baseline has no limit yet.
    let off = overrun(&stack, &["status"]).env("OVERRUN_FALLBACK_LIMIT_S", "0").assert().success();
    let off = String::from_utf8(off.get_output().stdout.clone()).unwrap();
    assert!(off.lines().any(|row| row.contains("brand-new") && row.contains("no limit yet")), "{off}");
}

#[tokio::test]
async fn limits_shows_each_baseline_and_override_and_refuses_an_unknown_type_with_the_nearest_name() {
    let stack = deployed_state().await;
    overrun(&stack, &["override", "etl", "--limit", "45m"]).assert().success();
    overrun(&stack, &["limits"])
        .assert()
        .success()
        .stdout(contains("TASK"))
        .stdout(contains("tailored"))
        .stdout(contains("fixed limit 45m 00s"));
    let output = overrun(&stack, &["limits", "etl", "--json"]).assert().success().get_output().stdout.clone();
    let limits = json_of(&output);
    assert_eq!(limits[0]["n"], 6);
    assert_eq!(limits[0]["method"], "tailored");
    assert_eq!(limits[0]["warning_limit_s"], 2_700.0, "the override's fixed limit is the one in force");
    assert_eq!(limits[0]["critical_limit_s"], 5_400.0);
    assert_eq!(limits[0]["version"], 2);
    assert!(limits[0]["baseline_limit_s"].as_f64().unwrap() < 2_700.0);
    overrun(&stack, &["limits", "etk"]).assert().code(4).stderr(contains("Did you mean \"etl\"?"));
}

#[tokio::test]
async fn alerts_lists_what_was_sent_with_its_delivery_state() {
    let stack = deployed_state().await;
    overrun(&stack, &["alerts", "--since", "1h"])
        .assert()
        .success()
        .stdout(contains("warning"))
        .stdout(contains("critical"))
        .stdout(contains("delivered"));
    let output = overrun(&stack, &["alerts", "--json"]).assert().success().get_output().stdout.clone();
    let lines: Vec<Value> =
        String::from_utf8(output).unwrap().lines().map(|l| json_of(l.as_bytes())).collect();
    let kinds: Vec<&str> = lines.iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["warning", "critical"]);
    assert!(lines.iter().all(|m| m["delivery"] == "delivered" && m["about"] == "stuck"));
    assert_eq!(lines[0]["alert_id"], "etl/stuck/warning");
}

#[tokio::test]
async fn explain_says_why_a_run_alerted_or_not_with_its_limit_parts_and_each_checks_verdict() {
    let stack = deployed_state().await;
    overrun(&stack, &["explain", "etl", "stuck"])
        .assert()
        .success()
        .stdout(contains("It alerted: warning then critical."))
        .stdout(contains("its own limit: the window's runs together with its type's 3 latest runs"))
        .stdout(contains("as today's limits would have judged them"))
        .stdout(contains("would have been within its limit"))
        .stdout(contains("would have been past its warning limit"))
        .stdout(contains("would have been past its critical limit"))
        .stdout(contains("(its own: the baseline weighed with its recent runs)"))
        .stdout(contains("warning: delivered"));
    overrun(&stack, &["explain", "etl", "etl-now"]).assert().success().stdout(contains("No alert yet"));
    overrun(&stack, &["explain", "brand-new", "first"])
        .assert()
        .success()
        .stdout(contains("within its limit of 12h 00m"))
        .stdout(contains("fallback limit (no baseline yet)"));
    overrun(&stack, &["explain", "brand-new", "first"])
        .env("OVERRUN_FALLBACK_LIMIT_S", "0")
        .assert()
        .success()
        .stdout(contains("Not judged: its task type has no baseline yet"));
    let output = overrun(&stack, &["explain", "etl", "etl-3", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let finished = json_of(&output);
    assert_eq!(finished["status"], "succeeded");
    assert!(
        finished["verdict"].as_str().unwrap().starts_with("No alert: it finished after 10m 03s"),
        "{finished}"
    );
    overrun(&stack, &["explain", "etl", "nope"]).assert().code(4).stderr(contains("no run \"nope\""));
}

#[tokio::test]
async fn close_finishes_a_stuck_run_once_and_the_checker_then_sends_resolved() {
    let stack = deployed_state().await;
    overrun(&stack, &["close", "etl", "stuck", "--status", "failed", "--end", "now"])
        .assert()
        .success()
        .stdout(contains("closed etl stuck: failed at"))
        .stdout(contains("the next check sends \"resolved\""));
    overrun(&stack, &["close", "etl", "stuck", "--status", "succeeded", "--end", "now"])
        .assert()
        .code(2)
        .stderr(contains("already finished: failed"));
    overrun(&stack, &["close", "etl", "ghost", "--status", "failed", "--end", "now"]).assert().code(4);
    overrun(&stack, &["close", "etl", "etl-now", "--status", "failed", "--end", "2020-01-01T00:00:00Z"])
        .assert()
        .code(2)
        .stderr(contains("before the run's start"));
    let output = overrun(&stack, &["status", "--json"]).assert().success().get_output().stdout.clone();
    let ids: Vec<Value> =
        json_of(&output)["running"].as_array().unwrap().iter().map(|r| r["run_id"].clone()).collect();
    assert!(!ids.contains(&Value::from("stuck")), "{ids:?}");
    check_now(&stack).await;
    overrun(&stack, &["alerts", "--since", "1h"]).assert().success().stdout(contains("resolved"));

    // A run still running cannot be "closed" as running; the JSON says what was recorded.
    overrun(&stack, &["close", "etl", "etl-now", "--status", "running", "--end", "now"])
        .assert()
        .code(2)
        .stderr(contains("[possible values: succeeded, failed, aborted]"));
    let output =
        overrun(&stack, &["close", "etl", "etl-now", "--status", "succeeded", "--end", "now", "--json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
    let closed = json_of(&output);
    assert_eq!(
        (&closed["task_type"], &closed["run_id"], &closed["attempt"], &closed["status"]),
        (&Value::from("etl"), &Value::from("etl-now"), &Value::from(1), &Value::from("succeeded")),
        "{closed}"
    );
    assert!(closed["duration_s"].as_f64().unwrap() > 0.0 && closed["counted"].is_boolean(), "{closed}");
}

#[tokio::test]
async fn explain_and_close_name_an_attempt_of_a_run_id_run_again_and_default_to_the_latest() {
    let stack = deployed_state().await;
    // "stuck" is closed, then run again under its id: its second attempt runs.
    overrun(&stack, &["close", "etl", "stuck", "--status", "failed", "--end", "now"]).assert().success();
    start(&stack, "etl", "stuck", now_ms()).await;

    let output = overrun(&stack, &["explain", "etl", "stuck", "--json"]).assert().success();
    let latest = json_of(&output.get_output().stdout);
    assert_eq!((latest["attempt"].as_u64(), latest["attempts"].as_u64()), (Some(2), Some(2)), "{latest}");
    assert!(latest["end"].is_null(), "the second attempt is running: {latest}");
    overrun(&stack, &["explain", "etl", "stuck"])
        .assert()
        .success()
        .stdout(contains("etl stuck (attempt 2): running since"))
        .stdout(contains("Its id was run 2 times: this is attempt 2"));
    let output = overrun(&stack, &["explain", "etl", "stuck", "--attempt", "1", "--json"]).assert().success();
    let first = json_of(&output.get_output().stdout);
    assert_eq!((first["attempt"].as_u64(), first["status"].as_str()), (Some(1), Some("failed")), "{first}");
    overrun(&stack, &["explain", "etl", "stuck", "--attempt", "5"])
        .assert()
        .code(4)
        .stderr(contains("has no attempt 5; its attempts: 1, 2"));
    overrun(&stack, &["explain", "etl", "stuck", "--attempt", "0"])
        .assert()
        .code(2)
        .stderr(contains("1 is the first attempt"));

    overrun(&stack, &["close", "etl", "stuck", "--status", "aborted", "--end", "now"])
        .assert()
        .success()
        .stdout(contains("closed etl stuck (attempt 2): aborted at"));
    overrun(&stack, &["close", "etl", "stuck", "--attempt", "1", "--status", "aborted", "--end", "now"])
        .assert()
        .code(2)
        .stderr(contains("already finished: failed"));
}

#[tokio::test]
async fn limits_and_explain_name_the_lone_outlier_a_baseline_kept_out() {
    let stack = Stack::new().await;
    let now = now_ms() / 1_000;
    let midnight = now - now.rem_euclid(86_400);
    let mut csv = String::from("task_type,run_id,start_epoch_s,end_epoch_s,status\n");
    for day in 1..=12 {
        let start = midnight - day * 86_400 + 3_600;
        csv += &format!("export,e{day},{start},{},succeeded\n", start + 730 + day);
    }
    // A succeeded finish whose start lay 30 days back.
    let end = midnight - 86_400 + 7_200;
    csv += &format!("export,bogus,{},{end},succeeded\n", end - 30 * 86_400);
    let mut backfill = overrun(&stack, &["backfill", "-"]);
    backfill.write_stdin(csv);
    backfill.assert().success();

    overrun(&stack, &["limits"])
        .assert()
        .success()
        .stdout(contains("export: kept out one run of 30d 00h as an outlier"))
        .stdout(contains("the next longest, 12m 22s"));
    let output =
        overrun(&stack, &["limits", "export", "--json"]).assert().success().get_output().stdout.clone();
    let limits = json_of(&output);
    assert_eq!(limits[0]["n"], 12, "the bogus run is not counted");
    assert_eq!(limits[0]["outlier"]["duration_s"], 2_592_000.0);
    assert_eq!(limits[0]["outlier"]["next_longest_s"], 742.0);
    assert!(limits[0]["expected_s"].as_f64().unwrap() < 750.0, "{limits}");

    overrun(&stack, &["explain", "export", "e1"])
        .assert()
        .success()
        .stdout(contains("kept out one run of 30d 00h as an outlier (3493× the next longest, 12m 22s)"));
    let output = overrun(&stack, &["explain", "export", "e1", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let explained = json_of(&output);
    assert_eq!(explained["judged_by"]["baseline"]["outlier"]["duration_s"], 2_592_000.0, "{explained}");
}

#[tokio::test]
async fn limits_shows_the_schedule_the_nightly_job_learned_from_a_types_starts() {
    let stack = Stack::new().await;
    let now = now_ms() / 1_000;
    let midnight = now - now.rem_euclid(86_400);
    let mut csv = String::from("task_type,run_id,start_epoch_s,end_epoch_s,status\n");
    for day in 1..=14 {
        let start = midnight - day * 86_400 + 2 * 3_600 + 10 * 60 + day;
        csv.push_str(&format!("nightly-export,e{day},{start},{},succeeded\n", start + 600 + day * 7));
    }
    let mut backfill = overrun(&stack, &["backfill", "-"]);
    backfill.write_stdin(csv);
    backfill.assert().success();
    overrun(&stack, &["limits"])
        .assert()
        .success()
        .stdout(contains("Schedules learned from each type's starts"))
        .stdout(contains("nightly-export: daily at 02:10 UTC, starts usually within"));
    let output = overrun(&stack, &["limits", "--json"]).assert().success().get_output().stdout.clone();
    let limits = json_of(&output);
    let schedule = &limits[0]["schedule"];
    assert_eq!(schedule["pattern"], "daily at 02:10 UTC", "{limits}");
    assert_eq!((schedule["period_s"].as_i64(), schedule["due_s"][0].as_i64()), (Some(86_400), Some(7_800)));

    overrun(&stack, &["schedule", "list"])
        .assert()
        .success()
        .stdout(contains("NEXT DUE"))
        .stdout(contains("nightly-export"))
        .stdout(contains("daily at 02:10 UTC"));
    let output =
        overrun(&stack, &["schedule", "list", "--json"]).assert().success().get_output().stdout.clone();
    let listed = json_of(&output);
    let next_due = listed[0]["next_due"].as_str().unwrap().to_owned();
    assert!(next_due.ends_with("T02:10:00Z"), "{listed}");
    overrun(&stack, &["schedule", "list", "nightly-exprot"])
        .assert()
        .code(4)
        .stderr(contains("Did you mean \"nightly-export\"?"));

    // A type alone: its schedule, and the starts it came from against their due times.
    overrun(&stack, &["explain", "nightly-export"])
        .assert()
        .success()
        .stdout(contains("nightly-export: runs daily at 02:10 UTC (learned from"))
        .stdout(contains("Due times of the last 28 days and the starts that met them"))
        .stdout(contains("late)"));
    let output = overrun(&stack, &["explain", "nightly-export", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let explained = json_of(&output);
    assert_eq!(explained["in_force"], "learned", "{explained}");
    assert!(
        explained["due"].as_array().unwrap().iter().filter(|d| d["start"].is_string()).count() >= 13,
        "{explained}"
    );
    overrun(&stack, &["explain", "nightly-exprot"])
        .assert()
        .code(4)
        .stderr(contains("no schedule and no start"));

    // A declaration beats the learned schedule until it is cleared.
    overrun(
        &stack,
        &[
            "schedule",
            "set",
            "nightly-export",
            "cron(30 6 ? * MON-FRI *)",
            "--grace",
            "20m",
            "--timezone",
            "Europe/Paris",
        ],
    )
    .assert()
    .success()
    .stdout(contains(
        "nightly-export: declared schedule set: Mon–Fri at 06:30 Europe/Paris, grace 20m 00s; next due",
    ));
    let output =
        overrun(&stack, &["schedule", "list", "--json"]).assert().success().get_output().stdout.clone();
    let listed = json_of(&output);
    assert_eq!(listed[0]["in_force"], "declared", "{listed}");
    assert_eq!(listed[0]["declared"]["timezone"], "Europe/Paris");
    assert_eq!(listed[0]["learned"]["pattern"], "daily at 02:10 UTC", "the learned one is still shown");
    overrun(&stack, &["schedule", "list"])
        .assert()
        .success()
        .stdout(contains("declared "))
        .stdout(contains("(cron(30 6 ? * MON-FRI *))"));
    overrun(
        &stack,
        &["schedule", "set", "nightly-export", "cron(30 6 ? * MON-FRI *)", "--timezone", "Paris"],
    )
    .assert()
    .code(2)
    .stderr(contains("Europe/Paris"));
    overrun(&stack, &["schedule", "set", "nightly-exprot", "0 6 * * *"])
        .assert()
        .code(2)
        .stderr(contains("Did you mean \"nightly-export\"?"));
    overrun(&stack, &["schedule", "set", "brand-new", "rate(1 hour)", "--create"]).assert().success();
    overrun(&stack, &["schedule", "set", "nightly-export", "--unscheduled"])
        .assert()
        .success()
        .stdout(contains("declared unscheduled"));
    overrun(&stack, &["schedule", "list", "nightly-export"])
        .assert()
        .success()
        .stdout(contains("unscheduled: never paged for a missed start"));
    overrun(&stack, &["schedule", "clear", "nightly-export"])
        .assert()
        .success()
        .stdout(contains("its learned schedule applies again: daily at 02:10 UTC"));
    overrun(&stack, &["schedule", "clear", "nightly-export"]).assert().code(4);

    // The same with --json: one document each.
    let json = |args: &[&str]| json_of(&overrun(&stack, args).assert().success().get_output().stdout.clone());
    let declared = json(&["schedule", "set", "brand-new", "rate(2 hours)", "--json"]);
    assert_eq!((&declared["version"], &declared["task_type"]), (&Value::from(2), &Value::from("brand-new")));
    assert!(declared["declared"].is_object(), "{declared}");
    let cleared = json(&["schedule", "clear", "brand-new", "--json"]);
    assert_eq!((&cleared["cleared"], &cleared["learned"]), (&Value::from(true), &Value::Null), "{cleared}");
}

#[tokio::test]
async fn status_lists_a_scheduled_type_with_no_start_since_its_due_time_as_overdue() {
    use overrun_core::ports::ScheduleStore;
    use overrun_core::schedule::{Schedule, ScheduleChange, Weekdays};
    let stack = Stack::new().await;
    // Due every half hour, within ten minutes, and never started: whatever the time, overdue.
    let half_hourly = Schedule {
        period_ms: 1_800_000,
        offsets_ms: vec![0],
        weekdays: Weekdays::EVERY_DAY,
        grace_ms: 600_000,
        early_ms: 60_000,
        typical_lateness_ms: 5_000,
        largest_lateness_ms: 30_000,
        evidence: 300,
    };
    let task = TaskType::new("sync").unwrap();
    stack.adapters.stats.apply_schedule_changes(&[ScheduleChange::Set(task, half_hourly)]).await.unwrap();
    overrun(&stack, &["status"])
        .assert()
        .success()
        .stdout(contains("1 scheduled type overdue"))
        .stdout(contains("every 30 min"))
        .stdout(contains("none in 3 days"));
    let output = overrun(&stack, &["status", "--json"]).assert().success().get_output().stdout.clone();
    let overdue = &json_of(&output)["overdue"];
    assert_eq!(overdue[0]["task_type"], "sync", "{overdue}");
    assert!(overdue[0]["missed"].as_u64().unwrap() >= 1, "{overdue}");
    assert_eq!(
        overdue[0]["paging"],
        "stopped paging after its critical: retired or renamed? `overrun schedule set TASK --unscheduled`"
    );
    overrun(&stack, &["schedule", "set", "sync", "--unscheduled"]).assert().success();
    overrun(&stack, &["status"]).assert().success().stdout(contains("no scheduled task type is overdue"));
}

/// A type whose history shows a season, as the nightly job stores it: 30-minute weekday runs
/// and 5-minute weekend runs.
async fn seasonal_type(stack: &Stack, task: &str) {
    use overrun_core::limits::nightly::{BaselineChange, NightBaseline};
    use overrun_core::limits::season::{SeasonLimits, SeasonalLimits};
    use overrun_core::ports::BaselineStore;
    let minutes = |expected: f64, n: u64| overrun_core::Baseline {
        n,
        expected_ms: expected * 60_000.0,
        sigma_ms: expected * 3_000.0,
        upper_ms: expected * 72_000.0,
        computed_at: now_ms() - 3_600_000,
        outlier: None,
    };
    let season = |expected, n| SeasonLimits { baseline: Some(minutes(expected, n)), window: None };
    let night = NightBaseline {
        baseline: minutes(22.0, 14),
        window: None,
        seasons: Some(SeasonalLimits { evidence: 180.0, seasons: [season(30.0, 14), season(5.0, 14)] }),
    };
    let change = BaselineChange::Set(TaskType::new(task).unwrap(), night);
    stack.adapters.stats.apply_baseline_changes(&[change], "tailored").await.unwrap();
}

#[tokio::test]
async fn limits_status_and_explain_show_a_seasonal_types_limits_by_season_until_an_override_says_plain() {
    use overrun_core::limits::season::SeasonRule;
    let stack = Stack::new().await;
    seasonal_type(&stack, "report").await;
    let begun = now_ms() - 20 * 60_000;
    start(&stack, "report", "r1", begun).await;
    let season = SeasonRule::default().season_of(begun).as_str();
    let expected_limit = if season == "weekend" { "6m 00s" } else { "36m 00s" };

    let human = overrun(&stack, &["limits"]).assert().success().get_output().stdout.clone();
    let human = String::from_utf8(human).unwrap();
    for part in [
        "  weekday runs",
        "  weekend runs",
        "36m 00s",
        "6m 00s",
        "its weekday and weekend runs differ (evidence 180",
    ] {
        assert!(human.contains(part), "{part:?} in {human}");
    }
    let output =
        overrun(&stack, &["limits", "report", "--json"]).assert().success().get_output().stdout.clone();
    let limits = json_of(&output);
    assert_eq!(limits[0]["seasons"]["judged_by_season"], true);
    assert_eq!(limits[0]["seasons"]["weekend"]["expected_s"], 300.0);
    assert_eq!(limits[0]["seasons"]["weekday"]["warning_limit_s"], 2_160.0);

    let status = overrun(&stack, &["status"]).assert().success().get_output().stdout.clone();
    let status = String::from_utf8(status).unwrap();
    assert!(status.contains(&format!("{expected_limit} ({season})")), "{status}");
    let output = overrun(&stack, &["status", "--json"]).assert().success().get_output().stdout.clone();
    assert_eq!(json_of(&output)["running"][0]["season"], season);
    overrun(&stack, &["explain", "report", "r1"])
        .assert()
        .success()
        .stdout(contains(format!("judged by its type's {season} runs alone")))
        .stdout(contains(format!("succeeded {season} runs of the last")));

    overrun(&stack, &["override", "report", "--seasons", "plain"])
        .assert()
        .success()
        .stdout(contains("never judged by season"));
    let output =
        overrun(&stack, &["limits", "report", "--json"]).assert().success().get_output().stdout.clone();
    let limits = json_of(&output);
    assert_eq!(limits[0]["seasons"]["judged_by_season"], false, "{limits}");
    assert_eq!(limits[0]["override"]["seasons"], "plain");
    let output = overrun(&stack, &["status", "--json"]).assert().success().get_output().stdout.clone();
    let running = &json_of(&output)["running"][0];
    assert_eq!(
        (running["season"].clone(), running["warning_limit_s"].clone()),
        (Value::Null, Value::from(1_584.0))
    );
    overrun(&stack, &["override", "report", "--seasons", "weekly"])
        .assert()
        .code(2)
        .stderr(contains("plain or seasonal"));
}
