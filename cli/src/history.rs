//! Reading a history row by row, with line numbers and the bad-row policy.
//!
//! The hot loop of a replay. Whole buffers are scanned once for commas and newlines (SIMD, via
//! memchr) so a plain row is split without a per-byte loop or a copy; a buffer with a quote in
//! it, a line split across two buffers, a header or an odd row go through the general parser.

use std::io::BufRead;

use crate::error::CliError;
use crate::input::{InputError, Source};
use crate::rows::{BadRow, ColumnOrder, Line, Row, RowProblem, parse_line, parse_text_fields};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
/// A history without a single row (empty, or only a header) is an error: an empty report would
/// look like a history where nothing overran.
pub fn for_each_row(
    source: &Source,
    options: &ReadOptions,
    bad: &mut BadRows,
    mut consume: impl FnMut(Row<'_>) -> Result<Flow, RowProblem>,
) -> Result<Flow, CliError> {
    let (mut reader, progress) = source.open(options.show_progress)?;
    let mut rows: u64 = 0;
    let counting = |row: Row<'_>| {
        rows += 1;
        consume(row)
    };
    let mut lines = Lines {
        source,
        skip_bad_rows: options.skip_bad_rows,
        bad,
        consume: counting,
        number: 0,
        order: ColumnOrder::default(),
    };
    let flow = lines.read_all(&mut reader);
    let skipped = lines.bad.count;
    progress.finish_and_clear();
    let flow = flow?;
    if rows == 0 && skipped == 0 {
        return Err(CliError::invalid(format!(
            "{} holds no runs: it is empty or has only a header",
            source.name()
        )));
    }
    Ok(flow)
}

/// Every run of a history, in memory (for commands that replay it several times).
pub fn read_all_runs(source: &Source, options: &ReadOptions) -> Result<Vec<overrun_core::Run>, CliError> {
    let mut runs = Vec::new();
    for_each_row(source, options, &mut BadRows::default(), |row| {
        runs.push(row.to_run()?);
        Ok(Flow::Continue)
    })?;
    Ok(runs)
}

struct Lines<'a, F> {
    source: &'a Source,
    skip_bad_rows: bool,
    bad: &'a mut BadRows,
    consume: F,
    /// Number of the last line handled.
    number: u64,
    /// Where the header put each column.
    order: ColumnOrder,
}

impl<F: FnMut(Row<'_>) -> Result<Flow, RowProblem>> Lines<'_, F> {
    fn read_all(&mut self, reader: &mut dyn BufRead) -> Result<Flow, CliError> {
        // A line that straddles two buffers is put together here.
        let mut partial: Vec<u8> = Vec::new();
        loop {
            let chunk = reader
                .fill_buf()
                .map_err(|error| InputError::Read { name: self.source.name(), source: error })?;
            if chunk.is_empty() {
                return if partial.is_empty() { Ok(Flow::Continue) } else { self.line(&partial, None) };
            }
            let length = chunk.len();
            let Some(last_newline) = memchr::memrchr(b'\n', chunk) else {
                partial.extend_from_slice(chunk);
                reader.consume(length);
                continue;
            };
            let mut complete = &chunk[..=last_newline];
            if !partial.is_empty() {
                let first_end = memchr::memchr(b'\n', complete).unwrap_or(last_newline);
                partial.extend_from_slice(&complete[..first_end]);
                if self.line(&partial, None)? == Flow::Stop {
                    return Ok(Flow::Stop);
                }
                partial.clear();
                complete = &complete[first_end + 1..];
            }
            if self.lines(complete)? == Flow::Stop {
                return Ok(Flow::Stop);
            }
            partial.extend_from_slice(&chunk[last_newline + 1..]);
            reader.consume(length);
        }
    }

    /// Every line of `block`, which ends with a newline.
    fn lines(&mut self, block: &[u8]) -> Result<Flow, CliError> {
        // One UTF-8 check for the whole block instead of two per row; a block that fails (or has
        // quotes) goes line by line so the error names its line.
        let text = match std::str::from_utf8(block) {
            Ok(text) if memchr::memchr(b'"', block).is_none() => text,
            _ => return self.lines_one_by_one(block),
        };
        let mut start = 0;
        let mut commas = [0usize; 4];
        let mut count = 0;
        for at in memchr::memchr2_iter(b',', b'\n', block) {
            if block[at] == b',' {
                if count < commas.len() {
                    commas[count] = at;
                }
                count += 1;
                continue;
            }
            // Commas and newlines are ASCII, so every cut is on a character boundary.
            let fields = (count == 4).then(|| {
                [
                    &text[start..commas[0]],
                    &text[commas[0] + 1..commas[1]],
                    &text[commas[1] + 1..commas[2]],
                    &text[commas[2] + 1..commas[3]],
                    &text[commas[3] + 1..at],
                ]
            });
            if self.line(&block[start..at], fields)? == Flow::Stop {
                return Ok(Flow::Stop);
            }
            start = at + 1;
            count = 0;
        }
        Ok(Flow::Continue)
    }

    fn lines_one_by_one(&mut self, block: &[u8]) -> Result<Flow, CliError> {
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', block) {
            if self.line(&block[start..end], None)? == Flow::Stop {
                return Ok(Flow::Stop);
            }
            start = end + 1;
        }
        Ok(Flow::Continue)
    }

    /// One line, without its newline; `fields` when it is already split into exactly five.
    fn line(&mut self, line: &[u8], fields: Option<[&str; 5]>) -> Result<Flow, CliError> {
        self.number += 1;
        let parsed = match fields {
            Some(fields) if self.number > 1 => parse_text_fields(self.order.arrange(fields)).map(Line::Row),
            _ => parse_line(line, self.number == 1, self.order),
        };
        let outcome = match parsed {
            Ok(Line::Row(row)) => (self.consume)(row),
            Ok(Line::Header(order)) => {
                self.order = order;
                Ok(Flow::Continue)
            }
            Ok(Line::Blank) => Ok(Flow::Continue),
            Err(problem) => Err(problem),
        };
        match outcome {
            Ok(flow) => Ok(flow),
            Err(problem) => {
                let row = BadRow { line: self.number, problem };
                if self.skip_bad_rows {
                    self.bad.note(row);
                    Ok(Flow::Continue)
                } else {
                    Err(CliError::BadRow { name: self.source.name(), row })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::HEADER;

    type Owned = (String, String, i64, Option<i64>);

    fn big_input() -> Vec<u8> {
        let mut csv = format!("{HEADER}\r\n");
        for i in 0..30_000 {
            // Varying lengths move line ends across buffer boundaries; some rows are quoted.
            let task = if i % 997 == 0 {
                format!("\"t, {}\"", "x".repeat(i % 13))
            } else {
                format!("t{}", "y".repeat(i % 17))
            };
            csv += &format!("{task},run-{i},{},{},succeeded\n", 1_000 + i, 2_000 + i);
        }
        csv += "last,run-end,5,6,failed"; // no final newline
        csv.into_bytes()
    }

    fn read(bytes: Vec<u8>, skip_bad_rows: bool) -> Result<(Vec<Owned>, BadRows), CliError> {
        let source = Source::Stdin(bytes);
        let mut rows = Vec::new();
        let mut bad = BadRows::default();
        let options = ReadOptions { skip_bad_rows, show_progress: false };
        for_each_row(&source, &options, &mut bad, |row| {
            rows.push((row.task_type.into_owned(), row.run_id.into_owned(), row.start, row.end));
            Ok(Flow::Continue)
        })?;
        Ok((rows, bad))
    }

    #[test]
    fn buffered_scanning_reads_every_row_as_the_line_parser_does() {
        let bytes = big_input();
        assert!(bytes.len() > 2 * 256 * 1024, "spans several read buffers");
        let expected: Vec<Owned> = bytes
            .split(|&b| b == b'\n')
            .enumerate()
            .filter_map(|(i, line)| match parse_line(line, i == 0, ColumnOrder::default()).unwrap() {
                Line::Row(row) => {
                    Some((row.task_type.into_owned(), row.run_id.into_owned(), row.start, row.end))
                }
                _ => None,
            })
            .collect();
        let (rows, bad) = read(bytes, false).unwrap();
        assert_eq!(bad.count, 0);
        assert_eq!(rows.len(), 30_001);
        assert_eq!(rows, expected);
    }

    #[test]
    fn a_bad_row_deep_in_the_input_is_reported_with_its_line_number() {
        let mut bytes = big_input();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let offset = text.find("run-20000,").unwrap();
        bytes[offset + "run-20000,".len()] = b'x'; // 21000 → x1000
        match read(bytes.clone(), false) {
            Err(CliError::BadRow { row, .. }) => assert_eq!(row.line, 20_002),
            other => panic!("{:?}", other.map(|(rows, _)| rows.len())),
        }
        let (rows, bad) = read(bytes, true).unwrap();
        assert_eq!(rows.len(), 30_000);
        assert_eq!(bad.count, 1);
        assert_eq!(bad.first[0].line, 20_002);
    }
}
