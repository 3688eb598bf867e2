//! Progress bars: drawn on standard error when it is a terminal and the caller wants one,
//! hidden otherwise (pipes, CI logs, `--no-progress`).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps in `template`'s words, or a hidden one.
pub fn terminal_bar(wanted: bool, len: u64, template: &str) -> ProgressBar {
    if !(wanted && std::io::stderr().is_terminal()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
