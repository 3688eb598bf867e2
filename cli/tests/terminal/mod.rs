//! Helpers for running the command under a pseudo-terminal.

use std::path::Path;

/// A history of `rows` succeeded runs, starting at epoch second `first_start`, gzip-compressed
/// without compression (stored blocks), so that the file is as large as its text: the progress
/// bar is drawn only for inputs of 4 MiB and more.
#[allow(dead_code)] // not every test binary that draws on a terminal needs a large history
pub fn stored_gzip_history(rows: u64, first_start: i64) -> Vec<u8> {
    use std::io::Write;
    let mut csv = String::from("task_type,run_id,start_epoch_s,end_epoch_s,status\n");
    for i in 0..rows {
        let start = first_start + i as i64 * 60;
        csv += &format!("task-{:02},run-{i:08},{start},{},succeeded\n", i % 40, start + 300 + (i % 7) as i64);
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    encoder.write_all(csv.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

/// Runs `command` (a shell command line) under a pseudo-terminal with `script`, as a person at a
/// terminal would, killed after two minutes so that a hang fails the test instead of the run.
/// Returns the exit status and everything the terminal showed.
pub fn under_terminal(command: &str) -> (std::process::ExitStatus, String) {
    let output = std::process::Command::new("timeout")
        .args(["--kill-after=5", "120", "script", "-qec", command, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the test needs `script` (util-linux) and `timeout` (coreutils)");
    (output.status, String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Quotes `path` for a POSIX shell command line.
pub fn shell_quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}
