//! Helpers shared by the command-line tests.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The `overrun` binary of this build.
pub fn overrun() -> Command {
    Command::cargo_bin("overrun").unwrap()
}

/// The bundled real trace (8,640 Julia CI jobs).
pub fn bundled_trace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/julia_buildkite_jobs.csv.gz")
}
