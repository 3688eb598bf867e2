//! The `overrun` command's library: everything but argument parsing, so benchmarks and tests can
//! drive it directly.

pub mod aws_failure;
pub mod commands;
pub mod durations;
pub mod error;
pub mod history;
pub mod input;
pub mod output_file;
pub mod plot;
pub mod progress;
pub mod render;
pub mod rows;
pub mod suggest;
pub mod words;
