//! `overrun backtest --against-seed`: each method's curve (its settings across k) read at the
//! seed method's own point, the way detection targets are stated: recall at the seed's
//! false-alert rate, false alerts at the seed's recall.

use std::io::Write;

use overrun_core::backtest::Score;
use overrun_core::compare::{Comparison, CurvePoint, Interpolated, compare};
use serde::Serialize;

/// The reference every curve is read against: the seed method at its default.
pub const REFERENCE_LABEL: &str = "seed k=2";

/// One curve: the settings whose labels differ only in k.
pub struct CurveComparison {
    pub setting: String,
    /// The k of each setting of the curve, in the order given.
    pub ks: Vec<String>,
    pub comparison: Comparison,
}

#[derive(Serialize)]
struct ComparisonLine<'a> {
    against: &'a str,
    setting: &'a str,
    recall_ratio_at_reference_false_rate: Option<f64>,
    false_ratio_at_reference_recall: Option<f64>,
}

/// A label without its `k=…` word: `tailored k=5 cohorts` is on the curve `tailored cohorts`.
fn curve_of(label: &str) -> (String, String) {
    let (ks, rest): (Vec<&str>, Vec<&str>) = label.split(' ').partition(|word| word.starts_with("k="));
    (rest.join(" "), ks.first().map_or_else(String::new, |k| k.trim_start_matches("k=").to_owned()))
}

/// Every curve but the reference's own point, compared with the reference; `None` without the
/// reference among the scores.
pub fn comparisons(scores: &[(String, Score)]) -> Option<(CurvePoint, Vec<CurveComparison>)> {
    let point = |score: &Score| CurvePoint {
        false_alerts_per_1000: score.false_alerts_per_1000_healthy,
        recall: score.overall_recall(),
    };
    let reference = scores.iter().find(|(label, _)| label == REFERENCE_LABEL).map(|(_, s)| point(s))?;
    let mut curves: Vec<(String, Vec<String>, Vec<CurvePoint>)> = Vec::new();
    for (label, score) in scores.iter().filter(|(label, _)| label != REFERENCE_LABEL) {
        let (setting, k) = curve_of(label);
        match curves.iter_mut().find(|(name, _, _)| *name == setting) {
            Some((_, ks, points)) => {
                ks.push(k);
                points.push(point(score));
            }
            None => curves.push((setting, vec![k], vec![point(score)])),
        }
    }
    let compared = curves
        .into_iter()
        .map(|(setting, ks, points)| CurveComparison { comparison: compare(&points, reference), setting, ks })
        .collect();
    Some((reference, compared))
}

pub fn write_table(out: &mut impl Write, scores: &[(String, Score)]) -> std::io::Result<()> {
    let Some((reference, curves)) = comparisons(scores) else { return Ok(()) };
    writeln!(out)?;
    writeln!(
        out,
        "Against {REFERENCE_LABEL} ({:.2} false/1k, {:.1}% recall), read between neighbouring k:",
        reference.false_alerts_per_1000,
        100.0 * reference.recall
    )?;
    let width = curves.iter().map(|c| c.setting.chars().count()).max().unwrap_or(0);
    for curve in &curves {
        let read = |found: Option<Interpolated>, what: &str| match found {
            Some(Interpolated { value, between: (a, b) }) if a == b => {
                format!("{what} {value:.2}× (k={})", curve.ks[a])
            }
            Some(Interpolated { value, between: (a, b) }) => {
                format!("{what} {value:.2}× (k={} to {})", curve.ks[a], curve.ks[b])
            }
            None => format!("{what}: outside the k given"),
        };
        writeln!(
            out,
            "  {:<width$}  {} at its false-alert rate; {} at its recall",
            curve.setting,
            read(curve.comparison.recall_ratio_at_reference_false_rate, "recall"),
            read(curve.comparison.false_ratio_at_reference_recall, "false alerts"),
        )?;
    }
    Ok(())
}

pub fn write_json(out: &mut impl Write, scores: &[(String, Score)]) -> std::io::Result<()> {
    let Some((_, curves)) = comparisons(scores) else { return Ok(()) };
    for curve in &curves {
        let line = ComparisonLine {
            against: REFERENCE_LABEL,
            setting: &curve.setting,
            recall_ratio_at_reference_false_rate: curve
                .comparison
                .recall_ratio_at_reference_false_rate
                .map(|found| found.value),
            false_ratio_at_reference_recall: curve
                .comparison
                .false_ratio_at_reference_recall
                .map(|f| f.value),
        };
        serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::from)?;
        writeln!(out)?;
    }
    Ok(())
}
