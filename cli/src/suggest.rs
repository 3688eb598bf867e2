//! "Did you mean …?": the known names nearest a misspelt one.

/// Up to three of `known` that look like `name` (normalised Damerau–Levenshtein similarity of
/// at least 0.5, most alike first), joined for a message; `None` when none does.
pub fn nearest_names(name: &str, known: &[&str]) -> Option<String> {
    let mut scored: Vec<(f64, &str)> = known
        .iter()
        .map(|candidate| (strsim::normalized_damerau_levenshtein(name, candidate), *candidate))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    let nearest: Vec<&str> =
        scored.iter().filter(|(score, _)| *score >= 0.5).take(3).map(|(_, n)| *n).collect();
    // Quoted: task types hold spaces, colons and commas (":linux: test, x86_64").
    (!nearest.is_empty()).then(|| nearest.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_names_come_first_and_unrelated_ones_not_at_all() {
        let known = ["nightly-export", "hourly-sync", "nightly-import"];
        assert_eq!(
            nearest_names("nightly-exprot", &known).as_deref(),
            Some("\"nightly-export\", \"nightly-import\"")
        );
        assert_eq!(nearest_names("zzz", &known), None);
    }
}
