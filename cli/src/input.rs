//! Opening a history: a file or standard input, plain or gzip (by content, not by name), with a
//! progress bar on a terminal.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;
use indicatif::{ProgressBar, ProgressStyle};
use thiserror::Error;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const READ_BUFFER: usize = 256 * 1024;
/// Inputs smaller than this finish before a progress bar would be worth drawing.
const PROGRESS_MIN_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, Error)]
pub enum InputError {
    #[error("cannot open {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot read standard input: {0}")]
    Stdin(io::Error),
    #[error("{name}: {source}")]
    Read { name: String, source: io::Error },
}

/// Where a history comes from. Standard input is read into memory once so that it can be read a
/// second time, like a file, when it turns out not to be sorted.
pub enum Source {
    File(PathBuf),
    Stdin(Vec<u8>),
}

impl Source {
    pub fn from_arg(arg: &Path) -> Result<Self, InputError> {
        if arg.as_os_str() == "-" {
            let mut bytes = Vec::new();
            io::stdin().lock().read_to_end(&mut bytes).map_err(InputError::Stdin)?;
            Ok(Source::Stdin(bytes))
        } else {
            // Fail now, with the path, rather than at the first read.
            File::open(arg).map_err(|source| InputError::Open { path: arg.to_owned(), source })?;
            Ok(Source::File(arg.to_owned()))
        }
    }

    pub fn name(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            Source::Stdin(_) => "standard input".to_owned(),
        }
    }

    /// A reader of the decompressed text, and a progress bar (hidden unless worth showing).
    pub fn open(&self, show_progress: bool) -> Result<(Box<dyn BufRead + '_>, ProgressBar), InputError> {
        let (raw, size): (Box<dyn Read>, u64) = match self {
            Source::File(path) => {
                let file = File::open(path).map_err(|source| InputError::Open { path: path.clone(), source })?;
                let size = file.metadata().map(|m| m.len()).unwrap_or(0);
                (Box::new(file), size)
            }
            Source::Stdin(bytes) => (Box::new(io::Cursor::new(bytes.as_slice())), bytes.len() as u64),
        };
        let progress = if show_progress && size >= PROGRESS_MIN_BYTES && io::stderr().is_terminal() {
            let bar = ProgressBar::new(size);
            if let Ok(style) = ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} [{bar:30}] {eta}") {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        } else {
            ProgressBar::hidden()
        };
        let mut buffered = BufReader::with_capacity(READ_BUFFER, progress.wrap_read(raw));
        let head = buffered.fill_buf().map_err(|source| InputError::Read { name: self.name(), source })?;
        let reader: Box<dyn BufRead> = if head.starts_with(&GZIP_MAGIC) {
            Box::new(BufReader::with_capacity(READ_BUFFER, MultiGzDecoder::new(buffered)))
        } else {
            Box::new(buffered)
        };
        Ok((reader, progress))
    }
}
