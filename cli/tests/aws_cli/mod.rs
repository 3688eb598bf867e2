//! The `overrun` command pointed at the local AWS endpoint (moto) and one test's tables.

use std::time::{SystemTime, UNIX_EPOCH};

use assert_cmd::Command;
use overrun_integration_tests::{Stack, endpoint};

/// The command with `args`, the local endpoint, and the tables from the environment (as a
/// deployed operator would export them).
pub fn overrun(stack: &Stack, args: &[&str]) -> Command {
    let mut command = Command::cargo_bin("overrun").unwrap();
    command
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("OVERRUN_RUNS_TABLE", &stack.config.runs_table)
        .env("OVERRUN_STATS_TABLE", &stack.config.stats_table)
        .args(args)
        .args(["--endpoint-url", &endpoint()]);
    command
}

/// Six days of "etl" runs of 601..606 s ending before today, a failed one, one running since a
/// minute ago, and one far older than the retention.
pub fn recent_history() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let midnight = now - now.rem_euclid(86_400);
    let mut csv = String::from("task_type,run_id,start_epoch_s,end_epoch_s,status\n");
    for day in 1..=6 {
        let start = midnight - day * 86_400 + 3_600;
        csv += &format!("etl,etl-{day},{start},{},succeeded\n", start + 600 + day);
    }
    csv += &format!("etl,etl-failed,{},{},failed\n", midnight - 86_400, midnight - 80_000);
    csv += &format!("etl,etl-now,{},,running\n", now - 60);
    csv += "etl,ancient,1000,1600,succeeded\n";
    csv
}
