//! `overrun backfill` and `overrun override` against the local AWS endpoint (moto), as a user
//! runs them.

use assert_cmd::Command;
use overrun_core::TaskType;
use overrun_core::ports::{BaselineStore, LimitStore, RunningRuns};
use overrun_integration_tests::authenticating_endpoint::AuthenticatingEndpoint;
use overrun_integration_tests::fault_proxy::{Fault, FaultProxy, Rule};
use overrun_integration_tests::{Stack, endpoint};

mod aws_cli;
mod terminal;
use aws_cli::{overrun, recent_history};
use predicates::str::contains;

#[tokio::test]
async fn backfill_loads_the_history_and_computes_baselines_and_loading_twice_counts_nothing_twice() {
    let stack = Stack::new().await;
    let history = recent_history();
    let mut first = overrun(&stack, &["backfill", "-"]);
    first.write_stdin(history.clone());
    first
        .assert()
        .success()
        .stdout(contains("loaded 8 of 9 runs"))
        .stdout(contains(
            "6 newly complete succeeded runs counted; 1 older than the 35-day retention skipped",
        ))
        .stdout(contains("baselines: 1 task type has one (1 written)"));

    let mut running = stack.adapters.runs.list_running().await.unwrap().items;
    assert_eq!(running.len(), 1);
    stack.adapters.runs.fill_details(&mut running).await.unwrap();
    assert_eq!(running[0].recent_ms, vec![601_000, 602_000, 603_000], "the three latest, loaded before it");
    let baselines = stack.adapters.stats.stored_baselines().await.unwrap().items;
    assert_eq!(baselines[0].0, TaskType::new("etl").unwrap());
    assert_eq!(baselines[0].1.baseline.n, 6);

    let mut second = overrun(&stack, &["backfill", "-", "--json"]);
    second.write_stdin(history);
    // Loading twice counts nothing twice: said in JSON this time.
    let output = second.assert().success().get_output().stdout.clone();
    let again: serde_json::Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(
        (&again["version"], &again["rows"], &again["counted"]),
        (&2.into(), &9.into(), &0.into()),
        "{again}"
    );
    assert_eq!(again["baselines"]["written"], 0, "{again}");
}

#[tokio::test]
async fn backfill_stops_at_a_bad_row_naming_its_line() {
    let stack = Stack::new().await;
    let mut command = overrun(&stack, &["backfill", "-"]);
    command.write_stdin("task_type,run_id,start_epoch_s,end_epoch_s,status\netl,r,5,1,succeeded\n");
    command
        .assert()
        .code(2)
        .stderr(contains("line 2: end 1970-01-01 00:00:01 UTC is 4s before start 1970-01-01 00:00:05 UTC"));
    assert!(stack.scan(&stack.config.runs_table).await.is_empty(), "nothing written");
}

#[tokio::test]
async fn override_sets_k_limit_and_mute_and_clear_removes_them() {
    let stack = Stack::new().await;
    let etl = TaskType::new("etl").unwrap();
    overrun(
        &stack,
        &["override", "etl", "--k", "3", "--limit", "1h30m", "--mute-until", "2030-01-01", "--create"],
    )
    .assert()
    .success()
    .stdout(contains("etl: override set: k = 3, fixed limit 1h 30m, muted until 2030-01-01 00:00 UTC"));
    let limits = stack.adapters.stats.task_limits(std::slice::from_ref(&etl)).await.unwrap().items;
    let o = limits[&etl].task_override.unwrap();
    assert_eq!((o.k(), o.limit_ms()), (Some(3.0), Some(5_400_000.0)));
    assert_eq!(o.mute_until(), Some(1_893_456_000_000));

    overrun(&stack, &["override", "etl", "--short-fraction", "0"])
        .assert()
        .success()
        .stdout(contains("etl: override set: no too-short notices"));
    let limits = stack.adapters.stats.task_limits(std::slice::from_ref(&etl)).await.unwrap().items;
    let o = limits[&etl].task_override.unwrap();
    assert_eq!(
        (o.short_fraction(), o.k(), o.mute_until()),
        (Some(0.0), None, None),
        "an override replaces the last"
    );

    overrun(&stack, &["override", "etl", "--clear"]).assert().success().stdout(contains("override cleared"));
    let limits = stack.adapters.stats.task_limits(std::slice::from_ref(&etl)).await.unwrap().items;
    assert!(limits.get(&etl).is_none_or(|l| l.task_override.is_none()));

    overrun(&stack, &["override", "etl", "--k", "-2"])
        .assert()
        .code(2)
        .stderr(contains("--k must be a finite number greater than 0"));
}

#[tokio::test]
async fn override_refuses_a_misspelt_task_type_naming_the_nearest_and_lists_what_is_set() {
    let stack = Stack::new().await;
    overrun(&stack, &["override", "--list"]).assert().success().stdout(contains("no overrides"));
    overrun(&stack, &["override", "nightly-export", "--k", "3", "--create"]).assert().success();
    overrun(&stack, &["override", "hourly-sync", "--limit", "90m", "--create"]).assert().success();
    overrun(&stack, &["override", "nightly-exprot", "--k", "4"])
        .assert()
        .code(2)
        .stderr(contains("task type \"nightly-exprot\" has no baseline and no override"))
        .stderr(contains("Did you mean \"nightly-export\"?"));
    overrun(&stack, &["override", "nightly-export", "--mute-until", "2020-02-31"])
        .assert()
        .code(2)
        .stderr(contains("not a real date"));
    overrun(&stack, &["override", "nightly-export", "--mute-until", "2020-02-01"])
        .assert()
        .code(2)
        .stderr(contains("in the past"));
    overrun(&stack, &["override", "--list"])
        .assert()
        .success()
        .stdout("hourly-sync: fixed limit 1h 30m\nnightly-export: k = 3\n");
    let listed =
        overrun(&stack, &["override", "--list", "--json"]).assert().success().get_output().stdout.clone();
    let listed: serde_json::Value = serde_json::from_slice(&listed).unwrap();
    assert_eq!(listed[0]["task_type"], "hourly-sync", "{listed}");
    assert_eq!(listed[0]["override"]["limit_s"], 5_400.0, "{listed}");
    assert_eq!(listed[1]["override"]["k"], 3.0, "{listed}");
    let set = overrun(&stack, &["override", "hourly-sync", "--clear", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let set: serde_json::Value = serde_json::from_slice(&set).unwrap();
    assert_eq!(set, serde_json::json!({ "version": 2, "task_type": "hourly-sync", "override": null }));
}

#[tokio::test]
async fn backfill_of_a_large_gzip_history_finishes_at_a_terminal_with_its_progress_bar() {
    let stack = Stack::new().await;
    let dir = tempfile::TempDir::new().unwrap();
    // Runs from 2001: all older than the retention, so the whole file is read (with its
    // progress bar) and nothing is written.
    let history = dir.path().join("old.csv.gz");
    std::fs::write(&history, terminal::stored_gzip_history(90_000, 1_000_000_000)).unwrap();
    let binary = assert_cmd::cargo::cargo_bin("overrun");
    let (status, screen) = terminal::under_terminal(&format!(
        "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 \
         OVERRUN_RUNS_TABLE={} OVERRUN_STATS_TABLE={} {} backfill {} --endpoint-url {}",
        stack.config.runs_table,
        stack.config.stats_table,
        terminal::shell_quoted(&binary),
        terminal::shell_quoted(&history),
        endpoint()
    ));
    assert!(status.success(), "backfill under a terminal failed or hung ({status}): {screen}");
    assert!(screen.contains("MiB"), "a progress bar was drawn on the terminal: {screen:?}");
    assert!(screen.contains("90000 older than the 35-day retention"), "{screen}");
}

#[tokio::test]
async fn backfill_at_a_terminal_shows_the_loading_and_then_the_baselines_being_computed() {
    let stack = Stack::new().await;
    let dir = tempfile::TempDir::new().unwrap();
    // 300 daily-ish runs of ten minutes, shifted to end now: every one is written.
    let mut csv = String::from("task_type,run_id,start_epoch_s,end_epoch_s,status\n");
    for i in 0..300 {
        let start = 1_000_000_000 + i * 7_200;
        csv += &format!("etl,r{i},{start},{},succeeded\n", start + 600);
    }
    let history = dir.path().join("recent.csv");
    std::fs::write(&history, csv).unwrap();
    let binary = assert_cmd::cargo::cargo_bin("overrun");
    let (status, screen) = terminal::under_terminal(&format!(
        "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 \
         OVERRUN_RUNS_TABLE={} OVERRUN_STATS_TABLE={} {} backfill {} --shift-to-now --concurrency 2 --endpoint-url {}",
        stack.config.runs_table,
        stack.config.stats_table,
        terminal::shell_quoted(&binary),
        terminal::shell_quoted(&history),
        endpoint()
    ));
    assert!(status.success(), "backfill under a terminal failed or hung ({status}): {screen}");
    assert!(screen.contains("/300 runs"), "the loading bar was drawn: {screen:?}");
    assert!(screen.contains("computing tonight's baselines"), "{screen:?}");
    assert!(screen.contains("loaded 300 of 300 runs"), "{screen}");
}

#[tokio::test]
async fn create_tables_twice_leaves_the_existing_tables_as_they_are() {
    let stack = Stack::new().await;
    let runs = overrun_integration_tests::unique("runs");
    let stats = overrun_integration_tests::unique("stats");
    let create = |stack: &Stack| {
        let mut command = overrun(stack, &["create-tables"]);
        command.env("OVERRUN_RUNS_TABLE", &runs).env("OVERRUN_STATS_TABLE", &stats);
        command
    };
    let output = create(&stack).arg("--json").assert().success().get_output().stdout.clone();
    let created: serde_json::Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(created["version"], 2);
    assert_eq!(created["tables"][0], serde_json::json!({ "name": runs, "created": true }));
    create(&stack)
        .assert()
        .success()
        .stdout(contains(format!("table {runs}: already exists, left as it is")))
        .stdout(contains(format!("table {stats}: already exists, left as it is")));
}

/// The command's stderr, which must be one short line, and its exit code.
fn failure(command: &mut Command) -> (i32, String) {
    let output = command.output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.len() < 400, "short: {stderr}");
    (output.status.code().unwrap(), stderr)
}

#[tokio::test]
async fn aws_failures_are_one_line_naming_what_to_do_with_an_exit_code_per_cause() {
    let stack = Stack::new().await;
    let mut missing_table = overrun(&stack, &["override", "--list"]);
    missing_table.env("OVERRUN_STATS_TABLE", "no-such-table");
    let (code, message) = failure(&mut missing_table);
    assert_eq!(code, 4, "{message}");
    assert!(
        message.contains("table") && message.contains("no-such-table") && message.contains("does not exist"),
        "{message}"
    );
    assert!(message.contains("overrun create-tables"), "{message}");

    let mut unreachable = Command::cargo_bin("overrun").unwrap();
    unreachable
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("OVERRUN_STATS_TABLE", &stack.config.stats_table)
        .args(["override", "--list", "--endpoint-url", "http://127.0.0.1:9"]);
    let (code, message) = failure(&mut unreachable);
    assert_eq!(code, 3, "{message}");
    assert!(message.contains("cannot reach http://127.0.0.1:9"), "{message}");

    let mut no_credentials = overrun(&stack, &["override", "--list"]);
    no_credentials
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent/config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let (code, message) = failure(&mut no_credentials);
    assert_eq!(code, 5, "{message}");
    assert!(message.contains("no AWS credentials"), "{message}");

    let mut no_scheme = Command::cargo_bin("overrun").unwrap();
    no_scheme.env("OVERRUN_STATS_TABLE", &stack.config.stats_table).args([
        "override",
        "--list",
        "--endpoint-url",
        "localhost:5055",
    ]);
    no_scheme.assert().code(2).stderr(contains("try --endpoint-url http://localhost:5055"));
}

#[test]
fn an_unknown_key_is_refused_and_a_user_without_rights_denied_each_with_its_own_exit_code() {
    let endpoint = AuthenticatingEndpoint::start();
    let command = |key: &str, secret: &str| {
        let mut command = Command::cargo_bin("overrun").unwrap();
        command
            .env("AWS_ACCESS_KEY_ID", key)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_REGION", "us-east-1")
            .env("OVERRUN_RUNS_TABLE", "overrun-runs")
            .env("OVERRUN_STATS_TABLE", "overrun-stats")
            .args(["limits", "--endpoint-url", &endpoint.url]);
        command
    };
    let (code, message) = failure(&mut command("AKIAIOSFODNN7EXAMPLE", "not-a-secret"));
    assert_eq!(code, 6, "{message}");
    assert!(message.contains("refused the credentials (InvalidClientTokenId)"), "{message}");
    assert!(message.contains(&endpoint.url), "{message}");

    let (key, secret) = &endpoint.user_key;
    let (code, message) = failure(&mut command(key, secret));
    assert_eq!(code, 7, "{message}");
    assert!(message.contains("access denied"), "{message}");
    assert!(message.contains("grant dynamodb:Query"), "{message}");
    assert!(!message.contains('{'), "no debug text: {message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_that_keeps_throttling_is_told_as_throttled_and_any_other_refusal_by_its_code() {
    let stack = Stack::new().await;
    let proxy = FaultProxy::start(&endpoint()).await;
    // `override --list` through the proxy: its one Query meets whatever fault is set.
    let listed_through_proxy = || {
        let mut command = Command::cargo_bin("overrun").unwrap();
        command.env("OVERRUN_STATS_TABLE", &stack.config.stats_table).args([
            "override",
            "--list",
            "--endpoint-url",
            &proxy.url,
        ]);
        tokio::task::spawn_blocking(move || failure(&mut command))
    };
    proxy.add(Rule::new("Query", Fault::Throttle).times(usize::MAX));
    let (code, message) = listed_through_proxy().await.unwrap();
    assert_eq!(code, 9, "{message}");
    assert!(message.contains("kept throttling Query"), "{message}");
    assert!(proxy.count("Query", Fault::Throttle, &[]) > 1, "retried before giving up");

    // Any other refusal: exit code 1, the service's own error code named, no debug text.
    proxy.heal();
    proxy.add(Rule::new("Query", Fault::ServerError).times(usize::MAX));
    let (code, message) = listed_through_proxy().await.unwrap();
    assert_eq!(code, 1, "{message}");
    assert!(message.contains("AWS refused Query at") && message.contains("InternalServerError"), "{message}");
    assert!(!message.contains('{'), "{message}");
}

#[tokio::test]
async fn swapped_table_names_are_told_as_swapped_by_every_command_with_their_own_exit_code() {
    let stack = Stack::new().await;
    for args in [
        &["status"][..],
        &["limits"],
        &["alerts"],
        &["override", "--list"],
        &["explain", "etl", "run-1"],
        &["explain", "etl"],
        &["close", "etl", "run-1", "--status", "failed", "--end", "now"],
        &["schedule", "list"],
    ] {
        let mut swapped = overrun(&stack, args);
        swapped
            .env("OVERRUN_RUNS_TABLE", &stack.config.stats_table)
            .env("OVERRUN_STATS_TABLE", &stack.config.runs_table);
        let (code, message) = failure(&mut swapped);
        assert_eq!(code, 8, "{args:?}: {message}");
        assert!(message.contains("swapped?"), "{args:?}: {message}");
        assert!(!message.contains('{'), "{args:?}: no debug text: {message}");
    }
}

#[tokio::test]
async fn backfill_shifted_to_now_loads_an_old_history_and_since_keeps_only_its_last_days() {
    let stack = Stack::new().await;
    // Ten daily runs in 2001: all far older than the retention.
    let mut csv = String::from("task_type,run_id,start_epoch_s,end_epoch_s,status\n");
    for day in 0..10 {
        let start = 1_000_000_000 + day * 86_400;
        csv += &format!("etl,old-{day},{start},{},succeeded\n", start + 600);
    }
    let mut plain = overrun(&stack, &["backfill", "-", "--no-baselines"]);
    plain.write_stdin(csv.clone());
    plain
        .assert()
        .success()
        .stdout(contains("loaded 0 of 10 runs"))
        .stdout(contains("10 older than the 35-day retention"))
        .stdout(contains("nothing loaded: every run ended more than 35 days ago; --shift-to-now loads"));
    let mut shifted =
        overrun(&stack, &["backfill", "-", "--shift-to-now", "--since", "3d 1h", "--no-baselines"]);
    shifted.write_stdin(csv);
    shifted
        .assert()
        .success()
        .stdout(contains("so that its last run ends now"))
        .stdout(contains("loaded 4 of 10 runs"))
        .stdout(contains("6 runs before --since left out"));
    assert_eq!(stack.scan(&stack.config.runs_table).await.len(), 4);
}

#[tokio::test]
async fn an_openlineage_import_piped_into_backfill_loads_its_runs() {
    let stack = Stack::new().await;
    // Six days of Airflow task runs ending before today, as OpenLineage events, one per line.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let midnight = now - now.rem_euclid(86_400);
    let rfc3339 = |s: i64| {
        time::OffsetDateTime::from_unix_timestamp(s)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let mut export = String::new();
    for day in 1..=6 {
        let start = midnight - day * 86_400 + 3_600;
        for (kind, at) in [("START", start), ("COMPLETE", start + 600 + day)] {
            let event = serde_json::json!({"eventType": kind, "eventTime": rfc3339(at),
                "run": {"runId": format!("0192f3a4-0000-7d8e-9f01-00000000000{day}")},
                "job": {"namespace": "prod-airflow", "name": "orders_daily.load_orders"},
                "producer": "https://github.com/apache/airflow/tree/providers-openlineage/1.14.0",
                "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"});
            export += &format!("{event}\n");
        }
    }
    let imported = Command::cargo_bin("overrun")
        .unwrap()
        .args(["import", "openlineage", "-"])
        .write_stdin(export)
        .output()
        .unwrap();
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    let mut backfill = overrun(&stack, &["backfill", "-"]);
    backfill.write_stdin(imported.stdout);
    backfill
        .assert()
        .success()
        .stdout(contains("loaded 6 of 6 runs"))
        .stdout(contains("baselines: 1 task type has one (1 written)"));
    let baselines = stack.adapters.stats.stored_baselines().await.unwrap().items;
    assert_eq!(baselines[0].0, TaskType::new("prod-airflow/orders_daily.load_orders").unwrap());
}

#[tokio::test]
async fn a_history_from_another_account_loads_under_its_qualified_type_and_its_runs_keep_where_they_ran() {
    let stack = Stack::new().await;
    let mut backfill = overrun(
        &stack,
        &["backfill", "-", "--qualifier", "210987654321", "--from", "210987654321.us-east-1"],
    );
    backfill.write_stdin(recent_history());
    backfill.assert().success().stdout(contains("loaded 8 of 9 runs"));
    let items = stack.scan(&stack.config.runs_table).await;
    let keys: Vec<(String, String)> = items
        .iter()
        .filter_map(|item| {
            Some((item.get("task_type")?.as_s().ok()?.clone(), item.get("run_id")?.as_s().ok()?.clone()))
        })
        .collect();
    assert_eq!(keys.len(), 8, "{keys:?}");
    assert!(
        keys.iter()
            .all(|(task, run)| task == "etl@210987654321" && run.starts_with("210987654321.us-east-1\u{1E}")),
        "{keys:?}"
    );
    let baselines = stack.adapters.stats.stored_baselines().await.unwrap().items;
    assert_eq!(baselines[0].0, TaskType::new("etl@210987654321").unwrap());

    // The running run says where it ran, in text and JSON, and is found by --from only.
    overrun(&stack, &["status"])
        .assert()
        .success()
        .stdout(contains("etl-now (account 210987654321, us-east-1)"));
    let status = overrun(&stack, &["status", "--json"]).output().unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let running = &status["running"][0];
    assert_eq!(
        (&running["account"], &running["region"]),
        (&"210987654321".into(), &"us-east-1".into()),
        "{status}"
    );
    let explained = overrun(
        &stack,
        &["explain", "etl@210987654321", "etl-now", "--from", "210987654321.us-east-1", "--json"],
    )
    .output()
    .unwrap();
    assert!(explained.status.success(), "{}", String::from_utf8_lossy(&explained.stderr));
    let explained: serde_json::Value = serde_json::from_slice(&explained.stdout).unwrap();
    assert_eq!(explained["account"], "210987654321");
    overrun(&stack, &["explain", "etl@210987654321", "etl-now"]).assert().failure();
    // A qualifier or origin that could collide is refused before anything is read.
    overrun(&stack, &["backfill", "-", "--qualifier", "a@b"])
        .assert()
        .code(2)
        .stderr(contains("is not a qualifier"));
    let mut twice = overrun(&stack, &["backfill", "-", "--qualifier", "210987654321"]);
    twice
        .write_stdin("task_type,run_id,start_epoch_s,end_epoch_s,status\netl@210987654321,r,5,6,succeeded\n");
    twice.assert().code(2).stderr(contains("already ends with @210987654321"));
    overrun(&stack, &["backfill", "-", "--from", "12345.us-east-1"])
        .assert()
        .code(2)
        .stderr(contains("is not an origin"));
}

#[tokio::test]
async fn explain_of_a_home_run_whose_id_reads_as_an_origin_finds_it_and_not_that_origins_run() {
    let stack = Stack::new().await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() - 60;
    let history =
        |id: &str| format!("task_type,run_id,start_epoch_s,end_epoch_s,status\netl,{id},{now},,running\n");
    let mut home = overrun(&stack, &["backfill", "-", "--no-baselines"]);
    home.write_stdin(history("210987654321.us-east-1")).assert().success();
    // The other account's run sorts between the home id's first attempt and its later ones.
    let mut foreign =
        overrun(&stack, &["backfill", "-", "--no-baselines", "--from", "210987654321.us-east-1"]);
    foreign.write_stdin(history("x")).assert().success();
    let explained =
        overrun(&stack, &["explain", "etl", "210987654321.us-east-1", "--json"]).output().unwrap();
    assert!(explained.status.success(), "{}", String::from_utf8_lossy(&explained.stderr));
    let explained: serde_json::Value = serde_json::from_slice(&explained.stdout).unwrap();
    assert_eq!(
        (&explained["run_id"], &explained["from"], &explained["attempts"]),
        (&"210987654321.us-east-1".into(), &serde_json::Value::Null, &1.into()),
        "{explained}"
    );
}
