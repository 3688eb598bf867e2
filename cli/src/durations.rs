//! Durations given on the command line (`--since 15d`, `--grace 20m`, `--limit 1h30m`), read
//! by `humantime` and refused in the command's own words.

use std::time::Duration;

/// A duration flag's value that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not a duration: write a number and a unit, such as 45s, 90m, 1h30m, 36h or 15d")]
pub struct NotADuration {
    given: String,
}

pub fn parse_duration(text: &str) -> Result<Duration, NotADuration> {
    let trimmed = text.trim();
    humantime::parse_duration(trimmed).map_err(|_| NotADuration { given: trimmed.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_is_read_and_anything_else_refused_with_examples_not_the_librarys_unit_list() {
        assert_eq!(parse_duration(" 1h30m "), Ok(Duration::from_secs(5_400)));
        let told = parse_duration("ten minutes").unwrap_err().to_string();
        assert_eq!(
            told,
            "\"ten minutes\" is not a duration: write a number and a unit, such as 45s, 90m, 1h30m, 36h or 15d"
        );
        assert!(parse_duration("15").is_err(), "a unit is needed");
    }
}
