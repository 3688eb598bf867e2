//! Reading a history row by row, with line numbers and the bad-row policy.

use std::io::BufRead;

use crate::error::CliError;
use crate::input::{InputError, Source};
use crate::rows::{BadRow, Line, Row, RowProblem, parse_line};

/// How many skipped rows are described, not just counted.
const REASONS_KEPT: usize = 5;

#[derive(Debug, Default)]
pub struct BadRows {
    pub count: u64,
    pub first: Vec<BadRow>,
}

impl BadRows {
    fn note(&mut self, row: BadRow) {
        self.count += 1;
        if self.first.len() < REASONS_KEPT {
            self.first.push(row);
        }
    }
}

/// What a row consumer tells the reader.
pub enum Flow {
    Continue,
    /// Stop reading: the consumer cannot take this row where it stands (unsorted input).
    Stop,
}

pub struct ReadOptions {
    pub skip_bad_rows: bool,
    pub show_progress: bool,
}

/// Calls `consume` for every row of `source`. A bad row, whether the parser or the consumer finds
/// it, ends the read with an error naming its line, or is counted in `bad` with `skip_bad_rows`.
pub fn for_each_row(
    source: &Source,
    options: &ReadOptions,
    bad: &mut BadRows,
    mut consume: impl FnMut(Row<'_>) -> Result<Flow, RowProblem>,
) -> Result<Flow, CliError> {
    let (mut reader, progress) = source.open(options.show_progress)?;
    let mut buffer = Vec::with_capacity(512);
    let mut line_number: u64 = 0;
    loop {
        buffer.clear();
        let read = reader
            .read_until(b'\n', &mut buffer)
            .map_err(|error| InputError::Read { name: source.name(), source: error })?;
        if read == 0 {
            break;
        }
        line_number += 1;
        let line = buffer.strip_suffix(b"\n").unwrap_or(&buffer);
        let outcome = match parse_line(line, line_number == 1) {
            Ok(Line::Row(row)) => consume(row),
            Ok(Line::Header | Line::Blank) => Ok(Flow::Continue),
            Err(problem) => Err(problem),
        };
        match outcome {
            Ok(Flow::Continue) => {}
            Ok(Flow::Stop) => {
                progress.finish_and_clear();
                return Ok(Flow::Stop);
            }
            Err(problem) => {
                let row = BadRow { line: line_number, problem };
                if options.skip_bad_rows {
                    bad.note(row);
                } else {
                    progress.finish_and_clear();
                    return Err(CliError::BadRow { name: source.name(), row });
                }
            }
        }
    }
    progress.finish_and_clear();
    Ok(Flow::Continue)
}
