//! `overrun plot` as a user runs it: the image it writes and the errors it names.

mod common;

use predicates::str::contains;
use tempfile::TempDir;

use common::{bundled_trace, overrun};

const DAY: i64 = 86_400;
const DAY0: i64 = 20_000 * DAY;

/// Eight daily 10-minute runs of "etl", one two-hour run on day 8, and an unrelated task.
fn small_trace() -> String {
    let mut csv = String::from("task_type,run_id,start_epoch_s,end_epoch_s,status\n");
    for d in 0..8 {
        let start = DAY0 + d * DAY + 3_600;
        csv += &format!("etl,d{d},{start},{},succeeded\n", start + 600 + 10 * d);
        csv += &format!("other,o{d},{start},{},succeeded\n", start + 60);
    }
    let start = DAY0 + 8 * DAY + 3_600;
    csv += &format!("etl,slow,{start},{},succeeded\n", start + 7_200);
    csv
}

#[test]
fn svg_plot_draws_every_run_the_nightly_band_and_rings_the_alerted_run() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("etl.svg");
    overrun()
        .args(["plot", "-", "--task", "etl", "-o"])
        .arg(&out)
        .write_stdin(small_trace())
        .assert()
        .success()
        .stdout(contains("9 runs of etl, 4 nights with a baseline, 1 warning, 1 critical"));
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    // Nine runs plus five legend dots (two runs, three ringed); one ring around the slow run
    // and three in the legend (warning, critical, too short).
    assert_eq!(svg.matches("<circle").count(), 9 + 5 + 4, "{svg}");
    assert!(svg.contains(">failed or aborted run</text>") && svg.contains(">run start (UTC)</text>"));
    assert_eq!(svg.matches("class=\"alert\"").count(), 1 + 3);
    // Each run with a baseline and recent runs (the default) gets its own limit as a dash (and
    // the legend one).
    assert_eq!(svg.matches("class=\"own-limit\"").count(), 4 + 1, "{svg}");
    assert!(svg.contains("etl: 9 runs, 1 warning, 1 critical (tailored k = 6, recent 3@0.3)"), "{svg}");
}

#[test]
fn png_plot_of_the_bundled_trace_is_a_png_of_the_asked_size() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("macos.png");
    overrun()
        .args(["plot"])
        .arg(bundled_trace())
        .args(["--task", ":macos: test x86_64-apple-darwin", "--width", "800", "--height", "400", "-o"])
        .arg(&out)
        .assert()
        .success();
    let png = std::fs::read(&out).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (800, 400));
}

#[test]
fn an_unknown_task_names_the_nearest_or_else_the_busiest_and_a_wrong_extension_is_refused() {
    let dir = TempDir::new().unwrap();
    overrun()
        .args(["plot", "-", "--task", "etll", "-o"])
        .arg(dir.path().join("x.svg"))
        .write_stdin(small_trace())
        .assert()
        .code(2)
        .stderr(contains("no runs of task type \"etll\""))
        .stderr(contains("Did you mean \"etl\"?"));
    overrun()
        .args(["plot", "-", "--task", "zzzzzz", "-o"])
        .arg(dir.path().join("x.svg"))
        .write_stdin(small_trace())
        .assert()
        .code(2)
        .stderr(contains("\"etl\" (9 runs)"));
    overrun()
        .args(["plot", "-", "--task", "etl", "--width", "300", "-o"])
        .arg(dir.path().join("x.svg"))
        .write_stdin(small_trace())
        .assert()
        .code(2)
        .stderr(contains("--width must be 480 to 8000"));
    overrun()
        .args(["plot", "-", "--task", "etl", "-o"])
        .arg(dir.path().join("x.jpg"))
        .write_stdin(small_trace())
        .assert()
        .code(2)
        .stderr(contains("must end in .svg or .png"));
    assert!(!dir.path().join("x.svg").exists() && !dir.path().join("x.jpg").exists());
}

#[test]
fn a_task_name_in_any_script_is_drawn_in_the_png_not_replaced_by_question_marks() {
    let dir = TempDir::new().unwrap();
    let name = "nächtlicher-Export→Σλ";
    let csv = small_trace().replace("etl,", &format!("{name},"));
    let (greek, ascii) = (dir.path().join("greek.png"), dir.path().join("ascii.png"));
    for (task, csv, out) in [(name, csv, &greek), ("etl", small_trace(), &ascii)] {
        overrun()
            .args(["plot", "-", "--task", task, "--scale", "log", "-o"])
            .arg(out)
            .write_stdin(csv)
            .assert()
            .success();
    }
    // The same runs under another name: the images differ only where the title is drawn.
    assert_ne!(std::fs::read(&greek).unwrap(), std::fs::read(&ascii).unwrap());
}

#[test]
fn report_writes_one_self_contained_page_with_the_summary_every_type_and_a_plot_per_type() {
    let dir = TempDir::new().unwrap();
    let page = dir.path().join("report.html");
    overrun()
        .args(["report", "-", "-o"])
        .arg(&page)
        .write_stdin(small_trace())
        .assert()
        .success()
        .stdout(contains("17 runs of 2 task types, 2 alerts, 2 plots"));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(html.contains("<div class=\"cards\">") && html.contains("<h2>Noisiest task types</h2>"));
    assert!(html.contains("<h2>Latest alerts</h2>"), "the alerts as a table");
    assert_eq!(html.matches("<section id=\"type-").count(), 2);
    // The type that alerted comes first and links to its plot.
    let etl = html.find("<a href=\"#type-0\">etl</a>").expect("etl linked first");
    assert!(etl < html.find("<a href=\"#type-1\">other</a>").unwrap());
    // Self-contained: nothing fetched from elsewhere.
    assert!(!html.contains("src=") && !html.contains("href=\"http"), "external references");

    overrun()
        .args(["report", "-", "--plots", "1", "-o"])
        .arg(&page)
        .write_stdin(small_trace())
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(html.matches("<section id=\"type-").count(), 1);
    assert!(html.contains("1 more task type not drawn"));
    overrun()
        .args(["report", "-", "-o"])
        .arg(dir.path().join("report.txt"))
        .write_stdin(small_trace())
        .assert()
        .code(2)
        .stderr(contains("must end in .html"));
}

#[test]
fn report_draws_a_scheduled_types_due_slots_and_starts_with_its_missed_start_ringed() {
    let dir = TempDir::new().unwrap();
    let page = dir.path().join("report.html");
    // Daily at 02:00 UTC for four weeks from 2025-01-01, the 20th day's run never started.
    let mut csv = String::from("task_type,run_id,start_epoch_s,end_epoch_s,status\n");
    for day in (0..28).filter(|&d| d != 20) {
        let start = 1_735_689_600 + day * 86_400 + 7_200 + day % 5;
        csv.push_str(&format!("nightly,n{day},{start},{},succeeded\n", start + 300));
    }
    overrun().args(["report", "-", "-o"]).arg(&page).write_stdin(csv).assert().success();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<h2>Schedules</h2>"), "no schedule section");
    let section = &html[html.find("<section id=\"schedule-0\">").expect("the nightly type's slots")..];
    assert!(section.contains("nightly: daily at 02:00 UTC, 1 missed start reported"), "{}", &section[..400]);
    assert_eq!(section.matches("class=\"alert\"").count(), 1, "the missed due time ringed once");
}

/// Every command that replays takes the replay's own judging and reading options, so that it
/// can mirror a customised replay.
#[test]
fn report_plot_tune_and_backtest_take_the_replays_options_and_skip_bad_rows_as_it_does() {
    let dir = TempDir::new().unwrap();
    let with_bad_row = small_trace() + "etl,broken,not-a-time,,succeeded\n";
    let judged = ["--critical-factor", "1.5", "--short-fraction", "0.2", "--exclude-alerted"];
    let out = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let commands: Vec<Vec<String>> = vec![
        vec!["replay".into(), "-".into()],
        vec!["report".into(), "-".into(), "-o".into(), out("report.html")],
        vec!["plot".into(), "-".into(), "--task".into(), "etl".into(), "-o".into(), out("etl.svg")],
        vec!["tune".into(), "-".into(), "--budget".into(), "1".into(), "--no-progress".into()],
        vec!["backtest".into(), "-".into()],
    ];
    for command in commands {
        overrun()
            .args(&command)
            .args(judged)
            .write_stdin(with_bad_row.clone())
            .assert()
            .code(2)
            .stderr(contains("line 19"));
        overrun()
            .args(&command)
            .args(judged)
            .arg("--skip-bad-rows")
            .write_stdin(with_bad_row.clone())
            .assert()
            .success();
    }
    // The option takes effect: at 100× its limit the 2-hour run is no longer critical.
    overrun()
        .args(["plot", "-", "--task", "etl", "-o", &out("etl-2.svg"), "--critical-factor", "100"])
        .write_stdin(small_trace())
        .assert()
        .success()
        .stdout(contains("1 warning, 0 critical"));
}

/// Every command that prints takes --json: one document, in the vocabulary's version.
#[test]
fn report_plot_and_tune_print_one_json_document_with_json() {
    let dir = TempDir::new().unwrap();
    let out = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    for (args, field) in [
        (vec!["report".to_owned(), "-".into(), "-o".into(), out("r.html"), "--json".into()], "plots"),
        (
            vec![
                "plot".to_owned(),
                "-".into(),
                "--task".into(),
                "etl".into(),
                "-o".into(),
                out("p.svg"),
                "--json".into(),
            ],
            "nights_with_a_baseline",
        ),
        (
            vec!["tune".to_owned(), "-".into(), "--budget".into(), "1".into(), "--json".into()],
            "recommended_k",
        ),
    ] {
        let output = overrun().args(&args).write_stdin(small_trace()).output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        let text = String::from_utf8(output.stdout).unwrap();
        assert_eq!(text.lines().count(), 1, "{args:?}: {text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["version"], 2, "{args:?}: {value}");
        assert!(value.get(field).is_some(), "{args:?}: {field} in {value}");
    }
}

#[test]
fn report_and_plot_of_a_seasonal_history_name_the_season_of_each_limit_and_seasons_off_does_not() {
    let dir = TempDir::new().unwrap();
    let history = dir.path().join("seasonal.csv.gz");
    overrun()
        .args(["generate", "--runs", "3000", "--task-types", "3", "--days", "90", "--seed", "11"])
        .args(["--slow-fraction", "0.03", "--seasonal-share", "1", "--max-log-sigma", "0.1", "-o"])
        .arg(&history)
        .assert()
        .success();
    let page = dir.path().join("report.html");
    overrun().args(["report"]).arg(&history).arg("-o").arg(&page).assert().success();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("task types judged by season"), "the card");
    assert!(html.contains("judged by its runs of the same season (weekends in UTC)"), "the settings");
    assert!(
        html.contains(" (weekday)</td>") || html.contains(" (weekend)</td>"),
        "an alert's limit names its season"
    );
    assert!(
        html.contains("weekday or weekend runs&#x27; on nights judged by season")
            || html.contains("weekday or weekend runs' on nights judged by season"),
        "the plot's legend"
    );
    overrun().args(["report", "--seasons", "off"]).arg(&history).arg("-o").arg(&page).assert().success();
    let plain = std::fs::read_to_string(&page).unwrap();
    assert!(!plain.contains("judged by season") && !plain.contains(" (weekend)</td>"));
}
