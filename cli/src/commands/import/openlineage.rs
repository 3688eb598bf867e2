//! `overrun import openlineage FILE`: an OpenLineage JSON-lines export (one run event per line,
//! as Marquez exports and the file transport write them; gzip or plain; `-` for standard input).

use std::io::{BufRead, Write};

use crate::error::CliError;
use crate::input::{InputError, Source};
use overrun_sources::CheckedJson;
use overrun_sources::webhooks::openlineage::parse_run_event;

use super::{ImportSummary, RunAssembler, write_csv};

/// Bad lines reported one by one; past this, only counted.
const REPORTED_BAD_LINES: usize = 20;

/// Reads `source` into the history CSV; `qualifier` (`--qualifier`) names every task type
/// `NAMESPACE/NAME@qualifier`.
pub fn run(
    source: &Source,
    qualifier: Option<overrun_core::Qualifier>,
    out: &mut dyn Write,
    errors: &mut dyn Write,
) -> Result<ImportSummary, CliError> {
    let (reader, progress) = source.open(true)?;
    let mut assembler = RunAssembler::qualified(qualifier);
    for (index, line) in reader.lines().enumerate() {
        let line =
            line.map_err(|source_error| InputError::Read { name: source.name(), source: source_error })?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed = CheckedJson::from_slice(line.as_bytes())
            .map_err(|e| format!("not JSON ({e})"))
            .and_then(|checked| checked.into_value().map_err(|e| e.to_string()))
            .and_then(|event| parse_run_event(&event, None).map_err(|e| e.to_string()));
        match parsed {
            Ok(event) => assembler.add(event),
            Err(problem) => {
                assembler.malformed();
                if assembler.malformed_count() <= REPORTED_BAD_LINES {
                    let _ = writeln!(errors, "{}:{}: {problem}", source.name(), index + 1);
                }
            }
        }
    }
    progress.finish_and_clear();
    let (rows, summary) = assembler.finish();
    if rows.is_empty() {
        return Err(InputError::NoCompleteRun {
            name: source.name(),
            summary: summary.to_string(),
            hint: "; an OpenLineage export has one run event per line, a START and a COMPLETE or FAIL for each run",
        }
        .into());
    }
    write_csv(out, &rows).map_err(CliError::Output)?;
    Ok(summary)
}
