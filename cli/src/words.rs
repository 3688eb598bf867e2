//! Counts in words: "1 run", "2 runs" — never "1 runs".

/// `n` and `noun`, in the plural unless `n` is one (every noun the command counts takes an `s`).
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(count(1u64, "task type"), "1 task type");
        assert_eq!(count(0u64, "run"), "0 runs");
        assert_eq!(count(2u32, "warning"), "2 warnings");
    }
}
