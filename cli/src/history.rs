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
        open: OpenRecord::default(),
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
    /// A record whose quoted field holds a newline, while its lines come in.
    open: OpenRecord,
}

/// The most lines one record may span: a quote left open by mistake must not swallow the file.
const MAX_RECORD_LINES: u64 = 32;

/// The lines of a record with a quoted newline (RFC 4180), put together until its quotes close.
#[derive(Default)]
struct OpenRecord {
    text: Vec<u8>,
    first_line: u64,
    lines: u64,
    /// Quotes seen so far: odd while a quoted field is open (`""` inside one counts two).
    quotes: usize,
}

fn quotes_in(line: &[u8]) -> usize {
    memchr::memchr_iter(b'"', line).count()
}

/// One record, which starts on line `number`; `fields` when the hot loop already split it.
#[inline]
fn parse<'a>(
    line: &'a [u8],
    fields: Option<[&'a str; 5]>,
    number: u64,
    order: ColumnOrder,
) -> Result<Line<'a>, RowProblem> {
    match fields {
        Some(fields) if number > 1 => parse_text_fields(order.arrange(fields)).map(Line::Row),
        _ => parse_line(line, number == 1, order),
    }
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
                if !partial.is_empty() && self.line(&partial, None)? == Flow::Stop {
                    return Ok(Flow::Stop);
                }
                return self.give_up_open_record();
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
            Ok(text) if memchr::memchr(b'"', block).is_none() && self.open.lines == 0 => text,
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
    #[inline]
    fn line(&mut self, line: &[u8], fields: Option<[&str; 5]>) -> Result<Flow, CliError> {
        self.number += 1;
        if self.open.lines > 0 {
            return self.continue_record(line);
        }
        // Only a line whose quoted field runs past its end can start a record spanning lines: the
        // parser says so, and no other line pays for looking.
        match parse(line, fields, self.number, self.order) {
            Err(RowProblem::UnterminatedQuote) => self.continue_record(line),
            parsed => self.deliver(parsed, self.number),
        }
    }

    /// A line of a record whose quoted field spans lines: parsed once its quotes close. Rare: kept
    /// out of the hot loop's code.
    #[cold]
    #[inline(never)]
    fn continue_record(&mut self, line: &[u8]) -> Result<Flow, CliError> {
        if self.open.lines == 0 {
            self.open.first_line = self.number;
        } else {
            self.open.text.push(b'\n');
        }
        self.open.text.extend_from_slice(line);
        self.open.lines += 1;
        self.open.quotes += quotes_in(line);
        if self.open.quotes % 2 == 0 {
            let record = std::mem::take(&mut self.open);
            return self.deliver(parse(&record.text, None, record.first_line, self.order), record.first_line);
        }
        if self.open.lines >= MAX_RECORD_LINES {
            return self.give_up_open_record();
        }
        Ok(Flow::Continue)
    }

    /// A quote that never closes (at the end of the input, or after too many lines): its first
    /// line is bad, and the lines after it are read again each on its own.
    #[cold]
    #[inline(never)]
    fn give_up_open_record(&mut self) -> Result<Flow, CliError> {
        if self.open.lines == 0 {
            return Ok(Flow::Continue);
        }
        let record = std::mem::take(&mut self.open);
        let mut lines = record.text.split(|&b| b == b'\n');
        let first = lines.next().unwrap_or_default();
        if self.deliver(parse(first, None, record.first_line, self.order), record.first_line)? == Flow::Stop {
            return Ok(Flow::Stop);
        }
        for (number, line) in (record.first_line + 1..).zip(lines) {
            if self.deliver(parse(line, None, number, self.order), number)? == Flow::Stop {
                return Ok(Flow::Stop);
            }
        }
        Ok(Flow::Continue)
    }

    /// A parsed record, which starts on line `number`: to the consumer, or a bad row.
    #[inline]
    fn deliver(&mut self, parsed: Result<Line<'_>, RowProblem>, number: u64) -> Result<Flow, CliError> {
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
                let row = BadRow { line: number, problem };
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

    #[test]
    fn a_quoted_field_may_span_lines_and_is_one_record_on_its_first_line_wherever_buffers_split() {
        // Every 997th row's run id holds a newline inside quotes: one record over two lines,
        // refused (a name holds no control character) on its first line; the line numbers of
        // every row after it stay right, across read buffers.
        let mut csv = String::from("task_type,run_id,start_epoch_s,end_epoch_s,status\n");
        let mut line = 1;
        let mut expected_bad = Vec::new();
        for i in 0..30_000 {
            line += 1;
            if i % 997 == 0 {
                csv += &format!("etl,\"run\n{i}\",1000,2000,succeeded\n");
                expected_bad.push(line);
                line += 1;
            } else {
                csv += &format!("etl,run-{i},1000,2000,succeeded\n");
            }
        }
        csv += "etl,run-x,2000,1000,succeeded\n"; // bad on its own line
        expected_bad.push(line + 1);
        let mut bad = BadRows::default();
        let source = Source::Stdin(csv.into_bytes());
        let options = ReadOptions { skip_bad_rows: true, show_progress: false };
        let mut rows = 0;
        let mut lines_of_bad = Vec::new();
        for_each_row(&source, &options, &mut bad, |row| {
            row.to_run()?;
            rows += 1;
            Ok(Flow::Continue)
        })
        .unwrap();
        assert_eq!(rows, 30_000 - 31);
        assert_eq!(bad.count, 32);
        lines_of_bad.extend(bad.first.iter().map(|b| b.line));
        assert_eq!(lines_of_bad, expected_bad[..REASONS_KEPT]);
        assert!(bad.first[0].problem.to_string().contains("control character"), "{}", bad.first[0].problem);
    }

    #[test]
    fn a_quote_that_never_closes_is_one_bad_line_and_the_rows_after_it_are_read() {
        let mut csv =
            String::from("task_type,run_id,start_epoch_s,end_epoch_s,status\n\"etl,r0,1,2,succeeded\n");
        for i in 1..=50 {
            csv += &format!("etl,r{i},1,2,succeeded\n");
        }
        let (rows, bad) = read(csv.clone().into_bytes(), true).unwrap();
        assert_eq!((rows.len(), bad.count), (50, 1));
        assert_eq!(bad.first[0].line, 2);
        assert!(bad.first[0].problem.to_string().contains("unterminated"));
        // At the very end of the input, too.
        let (rows, bad) = read(b"t,r,1,2,succeeded\n\"t,r2,1,2,succeeded\n".to_vec(), true).unwrap();
        assert_eq!((rows.len(), bad.count, bad.first[0].line), (1, 1, 2));
    }
}
