//! Rows of the history CSV: `task_type,run_id,start_epoch_s,end_epoch_s,status`. Times are
//! epoch seconds or RFC 3339 timestamps (what database and API exports give); a file of the
//! latter may name its columns `task_type,run_id,start,end,status`.
//!
//! A hand-written parser because it is the hot loop of a replay: unquoted rows (nearly all) are
//! split in place without allocating; rows with RFC 4180 quotes take a slower path.

use std::borrow::Cow;
use std::fmt;

use overrun_core::evaluation::replay::RunInput;
use overrun_core::{EpochMs, RunStatus};
use thiserror::Error;

pub const HEADER: &str = "task_type,run_id,start_epoch_s,end_epoch_s,status";
/// The same columns, named for timestamps rather than epoch seconds.
pub const HEADER_FOR_TIMESTAMPS: &str = "task_type,run_id,start,end,status";
const COLUMNS: [&str; 5] = ["task_type", "run_id", "start_epoch_s", "end_epoch_s", "status"];
/// 9999-12-31T23:59:59Z: anything later is a unit mistake (milliseconds given as seconds).
const MAX_EPOCH_S: u64 = 253_402_300_799;

/// One parsed row, borrowing from the line where it can.
#[derive(Debug, PartialEq)]
pub struct Row<'a> {
    pub task_type: Cow<'a, str>,
    pub run_id: Cow<'a, str>,
    pub start: EpochMs,
    pub end: Option<EpochMs>,
    pub status: RunStatus,
}

impl Row<'_> {
    /// The validated, owned run (for commands that keep runs in memory).
    pub fn to_run(&self) -> Result<overrun_core::Run, RowProblem> {
        use overrun_core::{Run, RunId, TaskType};
        Ok(Run::new(
            TaskType::new(&self.task_type)?,
            RunId::new(&self.run_id)?,
            self.start,
            self.end,
            self.status,
        )?)
    }
}

impl<'a> From<&'a Row<'_>> for RunInput<'a> {
    fn from(row: &'a Row<'_>) -> Self {
        RunInput {
            task_type: &row.task_type,
            run_id: &row.run_id,
            start: row.start,
            end: row.end,
            status: row.status,
        }
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum RowProblem {
    #[error("expected 5 columns ({HEADER}), found {0}")]
    ColumnCount(usize),
    #[error("{column} is not valid UTF-8")]
    BadUtf8 { column: &'static str },
    #[error(
        "{column} {value:?} is neither epoch seconds nor an RFC 3339 timestamp (like 2025-01-31T12:00:00Z)"
    )]
    NotATime { column: &'static str, value: String },
    #[error("{column}: {reason}")]
    BadTimestamp { column: &'static str, reason: overrun_core::time::TimestampError },
    #[error("{column} {value:?} is negative")]
    Negative { column: &'static str, value: String },
    #[error("{column} {value:?} is past the year 9999 (milliseconds given as seconds?)")]
    TooLarge { column: &'static str, value: String },
    #[error("{column} is empty")]
    MissingTime { column: &'static str },
    #[error("unterminated quoted field")]
    UnterminatedQuote,
    #[error(
        "header {found:?} does not name the five columns of {HEADER:?} (or {HEADER_FOR_TIMESTAMPS:?}), each once, in any order"
    )]
    UnexpectedHeader { found: String },
    #[error(transparent)]
    Invalid(#[from] overrun_core::ModelError),
    #[error(
        "task type {task_type:?} already ends with @{qualifier}: leave out --qualifier (the history was imported with it)"
    )]
    QualifiedTwice { task_type: String, qualifier: String },
}

/// A problem with one line of the input.
#[derive(Debug, Error, PartialEq)]
pub struct BadRow {
    pub line: u64,
    pub problem: RowProblem,
}

impl fmt::Display for BadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

/// What a line of the file is.
#[derive(Debug, PartialEq)]
pub enum Line<'a> {
    /// The header, and where each column stands in the file.
    Header(ColumnOrder),
    Blank,
    Row(Row<'a>),
}

/// Where each of the five columns (task type, run id, start, end, status, in that order) stands
/// in the file: a header may name them in any order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnOrder([usize; 5]);

impl Default for ColumnOrder {
    fn default() -> Self {
        Self([0, 1, 2, 3, 4])
    }
}

impl ColumnOrder {
    pub fn is_standard(&self) -> bool {
        *self == Self::default()
    }

    /// The file's fields, in the standard order.
    pub fn arrange<T: Default>(&self, mut fields: [T; 5]) -> [T; 5] {
        if self.is_standard() {
            return fields;
        }
        self.0.map(|position| std::mem::take(&mut fields[position]))
    }

    /// The order a header line gives, when it is one: each of the five names once, in any order
    /// (`start_epoch_s` or `start`, `end_epoch_s` or `end`).
    fn of_header(line: &[u8]) -> Option<Result<Self, RowProblem>> {
        let text = std::str::from_utf8(line).ok()?;
        let names: Vec<&str> = text.split(',').map(str::trim).collect();
        let column = |name: &str| match name {
            "task_type" => Some(0),
            "run_id" => Some(1),
            "start_epoch_s" | "start" => Some(2),
            "end_epoch_s" | "end" => Some(3),
            "status" => Some(4),
            _ => None,
        };
        // A first line that names no column at all is data.
        if !names.iter().any(|name| column(name).is_some()) {
            return None;
        }
        let unexpected = || RowProblem::UnexpectedHeader { found: text.to_owned() };
        let mut order = [usize::MAX; 5];
        if names.len() != 5 {
            return Some(Err(unexpected()));
        }
        for (position, name) in names.iter().enumerate() {
            match column(name) {
                Some(index) if order[index] == usize::MAX => order[index] = position,
                _ => return Some(Err(unexpected())),
            }
        }
        Some(Ok(Self(order)))
    }
}

/// Parses one line (without its newline). `first` says whether it is the file's first line, the
/// only place a header may stand; `order` is where the header put each column.
pub fn parse_line(line: &[u8], first: bool, order: ColumnOrder) -> Result<Line<'_>, RowProblem> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = if first { line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line) } else { line };
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(Line::Blank);
    }
    if first && let Some(header) = ColumnOrder::of_header(line) {
        return header.map(Line::Header);
    }
    let fields = if memchr::memchr(b'"', line).is_some() { split_quoted(line)? } else { split_plain(line)? };
    parse_fields(order.arrange(fields)).map(Line::Row)
}

/// Turns the five fields of a row into a [`Row`].
pub fn parse_fields<'a>(fields: [Cow<'a, [u8]>; 5]) -> Result<Row<'a>, RowProblem> {
    let [task_type, run_id, start, end, status] = fields;
    let (start, end, status) = parse_times_and_status(&start, &end, &status)?;
    // Task type and run id are validated by whoever takes the row (the replayer, `Run::new`), once.
    Ok(Row { task_type: text(COLUMNS[0], task_type)?, run_id: text(COLUMNS[1], run_id)?, start, end, status })
}

/// The fast path of a replay: a plain line already split into five fields of text known to be
/// UTF-8.
pub fn parse_text_fields(fields: [&str; 5]) -> Result<Row<'_>, RowProblem> {
    let [task_type, run_id, start, end, status] = fields;
    let (start, end, status) = parse_times_and_status(start.as_bytes(), end.as_bytes(), status.as_bytes())?;
    Ok(Row { task_type: Cow::Borrowed(task_type), run_id: Cow::Borrowed(run_id), start, end, status })
}

fn parse_times_and_status(
    start: &[u8],
    end: &[u8],
    status: &[u8],
) -> Result<(EpochMs, Option<EpochMs>, RunStatus), RowProblem> {
    let start = parse_time(COLUMNS[2], start)?.ok_or(RowProblem::MissingTime { column: COLUMNS[2] })?;
    let end = parse_time(COLUMNS[3], end)?;
    let status = parse_status(status)?;
    overrun_core::model::check_times(start, end, status)?;
    Ok((start, end, status))
}

fn split_plain(line: &[u8]) -> Result<[Cow<'_, [u8]>; 5], RowProblem> {
    let mut fields: [Cow<'_, [u8]>; 5] = Default::default();
    let mut count = 0;
    for field in line.split(|&b| b == b',') {
        if count < 5 {
            fields[count] = Cow::Borrowed(field);
        }
        count += 1;
    }
    if count == 5 { Ok(fields) } else { Err(RowProblem::ColumnCount(count)) }
}

fn split_quoted(line: &[u8]) -> Result<[Cow<'_, [u8]>; 5], RowProblem> {
    let mut parsed: Vec<Vec<u8>> = vec![Vec::new()];
    let mut in_quotes = false;
    let mut i = 0;
    while i < line.len() {
        let byte = line[i];
        let field = parsed.last_mut().ok_or(RowProblem::ColumnCount(0))?;
        match (in_quotes, byte) {
            (true, b'"') if line.get(i + 1) == Some(&b'"') => {
                field.push(b'"');
                i += 1;
            }
            (true, b'"') => in_quotes = false,
            (false, b'"') => in_quotes = true,
            (false, b',') => parsed.push(Vec::new()),
            (_, other) => field.push(other),
        }
        i += 1;
    }
    if in_quotes {
        return Err(RowProblem::UnterminatedQuote);
    }
    let count = parsed.len();
    let fields: [Vec<u8>; 5] = parsed.try_into().map_err(|_| RowProblem::ColumnCount(count))?;
    Ok(fields.map(Cow::Owned))
}

fn parse_status(field: &[u8]) -> Result<RunStatus, RowProblem> {
    match field {
        b"succeeded" => Ok(RunStatus::Succeeded),
        b"failed" => Ok(RunStatus::Failed),
        other => Ok(utf8(COLUMNS[4], other)?.trim().parse()?),
    }
}

fn utf8<'a>(column: &'static str, bytes: &'a [u8]) -> Result<&'a str, RowProblem> {
    std::str::from_utf8(bytes).map_err(|_| RowProblem::BadUtf8 { column })
}

fn text<'a>(column: &'static str, field: Cow<'a, [u8]>) -> Result<Cow<'a, str>, RowProblem> {
    match field {
        Cow::Borrowed(bytes) => utf8(column, bytes).map(Cow::Borrowed),
        Cow::Owned(bytes) => {
            String::from_utf8(bytes).map(Cow::Owned).map_err(|_| RowProblem::BadUtf8 { column })
        }
    }
}

/// Epoch seconds, optionally with a fraction (kept to the millisecond), or an RFC 3339 timestamp.
/// Empty or `-` is no time.
fn parse_time(column: &'static str, field: &[u8]) -> Result<Option<EpochMs>, RowProblem> {
    let field = field.trim_ascii();
    if field.is_empty() || field == b"-" {
        return Ok(None);
    }
    // Fast path: whole seconds, as nearly every history has them.
    if field.len() <= 11 {
        let mut seconds: i64 = 0;
        let mut digits_only = true;
        for &byte in field {
            let digit = byte.wrapping_sub(b'0');
            digits_only &= digit < 10;
            seconds = seconds * 10 + i64::from(digit);
        }
        if digits_only && seconds as u64 <= MAX_EPOCH_S {
            return Ok(Some(seconds * 1_000));
        }
    }
    let shown = || String::from_utf8_lossy(field).into_owned();
    if field.get(4) == Some(&b'-') {
        let text = std::str::from_utf8(field).map_err(|_| RowProblem::BadUtf8 { column })?;
        return match overrun_core::time::parse_timestamp(text) {
            Ok(ms) if ms < 0 => Err(RowProblem::Negative { column, value: shown() }),
            Ok(ms) => Ok(Some(ms)),
            Err(reason) => Err(RowProblem::BadTimestamp { column, reason }),
        };
    }
    if field[0] == b'-' {
        return Err(RowProblem::Negative { column, value: shown() });
    }
    let (whole, fraction) = match memchr::memchr(b'.', field) {
        Some(dot) => (&field[..dot], &field[dot + 1..]),
        None => (field, &b""[..]),
    };
    let all_digits = |part: &[u8]| part.iter().all(u8::is_ascii_digit);
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return Err(RowProblem::NotATime { column, value: shown() });
    }
    let mut seconds: u64 = 0;
    for &digit in whole {
        seconds = seconds.saturating_mul(10).saturating_add(u64::from(digit - b'0'));
    }
    if seconds > MAX_EPOCH_S {
        return Err(RowProblem::TooLarge { column, value: shown() });
    }
    let mut millis: u64 = 0;
    for position in 0..3 {
        millis = millis * 10 + fraction.get(position).map_or(0, |&d| u64::from(d - b'0'));
    }
    // Both parts are bounded above, so the sum fits an i64 with room to spare.
    Ok(Some((seconds * 1_000 + millis) as EpochMs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: &str) -> Row<'_> {
        match parse_line(line.as_bytes(), false, ColumnOrder::default()) {
            Ok(Line::Row(row)) => row,
            other => panic!("{other:?}"),
        }
    }

    fn problem(line: &str) -> String {
        parse_line(line.as_bytes(), false, ColumnOrder::default()).unwrap_err().to_string()
    }

    #[test]
    fn plain_row_parses_to_milliseconds() {
        let r = row("etl,r1,1700000000,1700000600.25,succeeded");
        assert_eq!(r.task_type, "etl");
        assert_eq!(r.run_id, "r1");
        assert_eq!(r.start, 1_700_000_000_000);
        assert_eq!(r.end, Some(1_700_000_600_250));
        assert_eq!(r.status, RunStatus::Succeeded);
    }

    #[test]
    fn quoted_task_type_with_comma_and_escaped_quote_parses() {
        let r = row(r#""Unlock secrets, launch ""pipelines""",b1,10,20,failed"#);
        assert_eq!(r.task_type, r#"Unlock secrets, launch "pipelines""#);
    }

    #[test]
    fn crlf_and_header_and_blank_lines_are_recognised() {
        let standard = ColumnOrder::default();
        assert_eq!(parse_line(format!("{HEADER}\r").as_bytes(), true, standard), Ok(Line::Header(standard)));
        assert_eq!(parse_line(b"  ", false, standard), Ok(Line::Blank));
        assert_eq!(row("t,r,1,2,succeeded\r").status, RunStatus::Succeeded);
    }

    #[test]
    fn rfc3339_and_postgres_timestamps_parse_to_the_same_milliseconds_as_epoch_seconds() {
        let epoch = row("etl,r1,1738324800,1738325400.25,succeeded");
        for line in [
            "etl,r1,2025-01-31T12:00:00Z,2025-01-31T12:10:00.250Z,succeeded",
            "etl,r1,2025-01-31T13:00:00+01:00,2025-01-31T12:10:00.25Z,succeeded",
            "etl,r1,2025-01-31 12:00:00+00,2025-01-31 07:10:00.250000-05,succeeded",
        ] {
            assert_eq!(row(line), epoch, "{line}");
        }
        assert_eq!(
            parse_line(format!("{HEADER_FOR_TIMESTAMPS}\r").as_bytes(), true, ColumnOrder::default()),
            Ok(Line::Header(ColumnOrder::default()))
        );
    }

    #[test]
    fn running_row_has_no_end() {
        assert_eq!(row("t,r,1,,running").end, None);
        assert_eq!(row("t,r,1,-,running").end, None);
    }

    #[test]
    fn each_bad_field_is_named() {
        assert_eq!(
            problem("t,r,1,2"),
            "expected 5 columns (task_type,run_id,start_epoch_s,end_epoch_s,status), found 4"
        );
        assert_eq!(
            problem("t,r,1,2,succeeded,x"),
            "expected 5 columns (task_type,run_id,start_epoch_s,end_epoch_s,status), found 6"
        );
        assert_eq!(
            problem("t,r,soon,2,succeeded"),
            "start_epoch_s \"soon\" is neither epoch seconds nor an RFC 3339 timestamp (like 2025-01-31T12:00:00Z)"
        );
        assert_eq!(problem("t,r,1,-5,succeeded"), "end_epoch_s \"-5\" is negative");
        assert!(problem("t,r,1,1e5,succeeded").starts_with("end_epoch_s \"1e5\" is neither epoch seconds"));
        assert!(
            problem("t,r,2025-13-01T00:00:00Z,,running")
                .starts_with("start_epoch_s: \"2025-13-01T00:00:00Z\" is not a real date or time")
        );
        assert!(
            problem("t,r,2025-01-31 12:00:00,,running")
                == "start_epoch_s: \"2025-01-31 12:00:00\" has no time zone: add Z for UTC or an offset such as +01:00",
            "a timestamp needs its zone"
        );
        assert!(problem("t,r,2025-01-31 12:00:00+é,,running").contains("RFC 3339"), "multibyte text");
        assert!(problem("t,r,2025-02-30T12:00:00Z,,running").contains("not a real date"), "no rolling over");
        assert_eq!(row("t,r,2025-01-31T13:00:00+0100,,running").start, 1_738_324_800_000);
        assert_eq!(
            problem("t,r,1969-12-31T23:59:59Z,,running"),
            "start_epoch_s \"1969-12-31T23:59:59Z\" is negative"
        );
        assert_eq!(
            problem("t,r,1700000000000,1700000000001,succeeded"),
            "start_epoch_s \"1700000000000\" is past the year 9999 (milliseconds given as seconds?)"
        );
        assert_eq!(
            problem("t,r,20,10,succeeded"),
            "end 1970-01-01 00:00:10 UTC is 10s before start 1970-01-01 00:00:20 UTC"
        );
        assert_eq!(
            problem("t,r,1,2,done"),
            "unknown status \"done\" (expected succeeded, failed, aborted or running)"
        );
        assert_eq!(problem("t,r,,2,succeeded"), "start_epoch_s is empty");
        assert_eq!(problem("t,r,1,,succeeded"), "a succeeded run needs an end time");
        assert_eq!(problem("\"t,r,1,2,succeeded"), "unterminated quoted field");
        assert_eq!(
            parse_line(b"t\xff,r,1,2,succeeded", false, ColumnOrder::default()).unwrap_err().to_string(),
            "task_type is not valid UTF-8"
        );
        let standard = ColumnOrder::default();
        assert!(
            parse_line(b"task_type,run,start", true, standard).unwrap_err().to_string().starts_with("header")
        );
        assert!(
            parse_line(b"task_type,run_id,start,start,status", true, standard).is_err(),
            "a column twice"
        );
    }

    #[test]
    fn a_header_may_name_the_columns_in_any_order() {
        let Ok(Line::Header(order)) =
            parse_line(b"status,end_epoch_s,run_id,task_type,start_epoch_s", true, ColumnOrder::default())
        else {
            panic!("a header")
        };
        let Ok(Line::Row(row)) = parse_line(b"succeeded,1700000600,r1,etl,1700000000", false, order) else {
            panic!("a row")
        };
        assert_eq!((row.task_type.as_ref(), row.run_id.as_ref()), ("etl", "r1"));
        assert_eq!((row.start, row.end), (1_700_000_000_000, Some(1_700_000_600_000)));
        assert_eq!(order.arrange(["s", "e", "r", "t", "b"]), ["t", "r", "b", "e", "s"]);
    }

    #[test]
    fn bad_row_message_starts_with_the_line_number() {
        let bad = BadRow { line: 7, problem: RowProblem::ColumnCount(3) };
        assert!(bad.to_string().starts_with("line 7: expected 5 columns"));
    }
}
