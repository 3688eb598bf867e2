//! A command's output file, written whole or not at all: the rows go to a hidden file beside it,
//! renamed over it only when the command succeeds. A failed import leaves no half-written or
//! header-only file for a later `replay` to trip on, and an existing file stays as it was.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::CliError;

pub enum OutputFile {
    /// `-`: standard output.
    Stdout(BufWriter<io::Stdout>),
    File {
        writer: BufWriter<File>,
        partial: Partial,
        target: PathBuf,
    },
}

/// The hidden file being written; removed unless renamed into place.
pub struct Partial(PathBuf);

impl Drop for Partial {
    fn drop(&mut self) {
        // After a rename there is nothing left here to remove.
        let _ = std::fs::remove_file(&self.0);
    }
}

impl OutputFile {
    /// Standard output for `-`, else a hidden file beside `path`.
    pub fn create(path: &Path) -> Result<Self, CliError> {
        if path.as_os_str() == "-" {
            return Ok(OutputFile::Stdout(BufWriter::new(io::stdout())));
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let partial = path.with_file_name(format!(".{name}.partial-{}", std::process::id()));
        let file = File::create(&partial).map_err(CliError::Output)?;
        Ok(OutputFile::File {
            writer: BufWriter::new(file),
            partial: Partial(partial),
            target: path.to_owned(),
        })
    }

    pub fn writer(&mut self) -> &mut dyn Write {
        match self {
            OutputFile::Stdout(out) => out,
            OutputFile::File { writer, .. } => writer,
        }
    }

    /// Flushes the output and puts the file in place.
    pub fn commit(self) -> Result<(), CliError> {
        match self {
            OutputFile::Stdout(mut out) => out.flush().map_err(CliError::Output),
            OutputFile::File { writer, partial, target } => {
                let file = writer.into_inner().map_err(|e| CliError::Output(e.into_error()))?;
                file.sync_all().map_err(CliError::Output)?;
                std::fs::rename(&partial.0, &target).map_err(CliError::Output)
            }
        }
    }
}
