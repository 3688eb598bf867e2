//! Opening a history: a file or standard input, plain or gzip (by content, not by name), with a
//! progress bar on a terminal.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

use flate2::bufread::MultiGzDecoder;
use indicatif::ProgressBar;
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
    /// An import that found no complete run: a history with no run is refused by every command.
    #[error("{name} holds no complete run ({summary}): nothing written{hint}")]
    NoCompleteRun { name: String, summary: String, hint: &'static str },
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
        let read_error = |source| InputError::Read { name: self.name(), source };
        match self {
            Source::File(path) => {
                let file =
                    File::open(path).map_err(|source| InputError::Open { path: path.clone(), source })?;
                let size = file.metadata().map(|m| m.len()).unwrap_or(0);
                let progress = progress_bar(show_progress, size);
                let mut buffered = BufReader::with_capacity(READ_BUFFER, progress.wrap_read(file));
                let reader: Box<dyn BufRead> = if is_gzip(&mut buffered).map_err(read_error)? {
                    Box::new(ThreadedGunzip::spawn(buffered))
                } else {
                    Box::new(buffered)
                };
                Ok((reader, progress))
            }
            Source::Stdin(bytes) => {
                let progress = progress_bar(show_progress, bytes.len() as u64);
                let mut buffered =
                    BufReader::with_capacity(READ_BUFFER, progress.wrap_read(bytes.as_slice()));
                let reader: Box<dyn BufRead> = if is_gzip(&mut buffered).map_err(read_error)? {
                    Box::new(BufReader::with_capacity(
                        READ_BUFFER,
                        ExplainGzipErrors(MultiGzDecoder::new(buffered)),
                    ))
                } else {
                    Box::new(buffered)
                };
                Ok((reader, progress))
            }
        }
    }
}

/// Says that a decompression error means a broken or truncated gzip file: the decoder's own
/// words ("incomplete deflate stream") do not.
struct ExplainGzipErrors<R>(R);

impl<R: Read> Read for ExplainGzipErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|error| {
            io::Error::new(error.kind(), format!("corrupt or truncated gzip data ({error})"))
        })
    }
}

fn is_gzip(reader: &mut impl BufRead) -> io::Result<bool> {
    Ok(reader.fill_buf()?.starts_with(&GZIP_MAGIC))
}

fn progress_bar(wanted: bool, size: u64) -> ProgressBar {
    crate::progress::terminal_bar(
        wanted && size >= PROGRESS_MIN_BYTES,
        size,
        "{spinner} {bytes}/{total_bytes} [{bar:30}] {eta}",
    )
}

/// Decompresses on a second thread, handing over filled buffers, so that inflating and parsing
/// overlap on a two-core machine. Buffers go back to the decompressor for reuse, so memory stays
/// at a few buffers whatever the size of the file.
struct ThreadedGunzip {
    filled: Receiver<io::Result<Vec<u8>>>,
    empty: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    position: usize,
    done: bool,
}

/// Buffers in flight: one being parsed, one being filled, one waiting.
const BUFFERS_IN_FLIGHT: usize = 3;

impl ThreadedGunzip {
    fn spawn(compressed: impl BufRead + Send + 'static) -> Self {
        let (filled_tx, filled) = sync_channel::<io::Result<Vec<u8>>>(BUFFERS_IN_FLIGHT);
        let (empty, empty_rx) = sync_channel::<Vec<u8>>(BUFFERS_IN_FLIGHT);
        thread::spawn(move || {
            let mut decoder = ExplainGzipErrors(MultiGzDecoder::new(compressed));
            loop {
                let mut buffer = empty_rx.try_recv().unwrap_or_else(|_| Vec::with_capacity(READ_BUFFER));
                buffer.resize(READ_BUFFER, 0);
                let filled = fill(&mut decoder, &mut buffer).map(|length| {
                    buffer.truncate(length);
                    buffer
                });
                let finished = matches!(&filled, Ok(b) if b.is_empty()) || filled.is_err();
                // A closed channel means the reader stopped early: nothing left to do.
                if filled_tx.send(filled).is_err() || finished {
                    return;
                }
            }
        });
        Self { filled, empty, current: Vec::new(), position: 0, done: false }
    }
}

/// Reads until `buffer` is full or the stream ends; returns the length read.
fn fill(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut length = 0;
    while length < buffer.len() {
        match reader.read(&mut buffer[length..]) {
            Ok(0) => break,
            Ok(n) => length += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(length)
}

impl Read for ThreadedGunzip {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ThreadedGunzip {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.position == self.current.len() && !self.done {
            let next = self.filled.recv().map_err(|_| io::Error::other("decompression thread stopped"))??;
            self.done = next.is_empty();
            let spent = std::mem::replace(&mut self.current, next);
            self.position = 0;
            // The decompressor may have finished already; then the buffer is simply dropped.
            let _ = self.empty.try_send(spent);
        }
        Ok(&self.current[self.position..])
    }

    fn consume(&mut self, amount: usize) {
        self.position = (self.position + amount).min(self.current.len());
    }
}
