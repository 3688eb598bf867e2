//! The `overrun` binary at a terminal: progress bars drawn under a pseudo-terminal must not
//! hang or garble what the command prints.

mod terminal;

use tempfile::TempDir;
use terminal::{shell_quoted, stored_gzip_history, under_terminal};

/// About 5 MiB: above the 4 MiB from which a progress bar is drawn.
const ROWS: u64 = 90_000;

fn write_history(dir: &TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    assert!(bytes.len() > 4 * 1024 * 1024, "the file must be large enough to draw a progress bar");
    path
}

#[test]
fn replay_of_a_large_gzip_history_finishes_at_a_terminal_with_its_progress_bar() {
    let dir = TempDir::new().unwrap();
    let history = write_history(&dir, "big.csv.gz", &stored_gzip_history(ROWS, 1_700_000_000));
    let report = dir.path().join("report.txt");
    let binary = assert_cmd::cargo::cargo_bin("overrun");
    let (status, screen) = under_terminal(&format!(
        "{} replay {} > {}",
        shell_quoted(&binary),
        shell_quoted(&history),
        shell_quoted(&report)
    ));
    assert!(status.success(), "replay under a terminal failed or hung ({status}); screen: {screen}");
    assert!(screen.contains("MiB"), "a progress bar was drawn on the terminal: {screen:?}");
    let printed = std::fs::read_to_string(&report).unwrap();
    assert!(
        printed.contains(&format!("runs        {ROWS} ({ROWS} succeeded) of 40 task types")),
        "{printed}"
    );
}

#[test]
fn replay_prints_its_report_to_the_terminal_after_clearing_the_progress_bar() {
    let dir = TempDir::new().unwrap();
    let history = write_history(&dir, "big.csv.gz", &stored_gzip_history(ROWS, 1_700_000_000));
    let binary = assert_cmd::cargo::cargo_bin("overrun");
    let (status, screen) =
        under_terminal(&format!("{} replay {}", shell_quoted(&binary), shell_quoted(&history)));
    assert!(status.success(), "replay under a terminal failed or hung ({status})");
    assert!(
        screen.contains(&format!("runs        {ROWS} ({ROWS} succeeded)")),
        "the report reached the terminal: {screen:?}"
    );
}

#[test]
fn replay_of_a_large_gzip_history_from_standard_input_finishes_at_a_terminal() {
    let dir = TempDir::new().unwrap();
    let history = write_history(&dir, "big.csv.gz", &stored_gzip_history(ROWS, 1_700_000_000));
    let binary = assert_cmd::cargo::cargo_bin("overrun");
    let (status, screen) = under_terminal(&format!(
        "{} replay - < {} > /dev/null",
        shell_quoted(&binary),
        shell_quoted(&history)
    ));
    assert!(
        status.success(),
        "replay of standard input under a terminal failed or hung ({status}): {screen}"
    );
}

#[test]
fn tune_counts_its_replays_on_a_terminal_and_prints_no_bar_when_piped() {
    let trace =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/julia_buildkite_jobs.csv.gz");
    let binary = assert_cmd::cargo::cargo_bin("overrun");
    let command = format!("{} tune {} --budget 1", shell_quoted(&binary), shell_quoted(&trace));
    let (status, screen) = under_terminal(&command);
    assert!(status.success(), "tune under a terminal failed or hung ({status}); screen: {screen}");
    assert!(screen.contains("replays, k = "), "the bar counts replays: {screen:?}");
    assert!(screen.contains("Recommended: k = "), "{screen:?}");
    let piped = assert_cmd::Command::new(&binary)
        .args(["tune"])
        .arg(&trace)
        .args(["--budget", "1"])
        .output()
        .unwrap();
    assert!(piped.status.success());
    assert!(
        !String::from_utf8_lossy(&piped.stderr).contains("replays"),
        "no bar when stderr is not a terminal"
    );
}
