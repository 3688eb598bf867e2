//! `overrun backtest --against-seed`: each method's curve (its settings across k) read at the
//! seed method's own point, the way detection targets are stated: recall at the seed's
//! false-alert rate, false alerts at the seed's recall.

use std::io::Write;

use overrun_core::evaluation::backtest::Score;
use overrun_core::evaluation::compare::{Comparison, CurvePoint, Interpolated, compare};
use serde::Serialize;

use crate::commands::variant::Variant;

/// One curve: the settings whose labels differ only in k.
pub struct CurveComparison<'a> {
    pub curve: &'a str,
    /// The k of each setting of the curve, in the order given.
    pub ks: Vec<f64>,
    pub comparison: Comparison,
}

#[derive(Serialize)]
struct ComparisonLine<'a> {
    against: &'a str,
    setting: &'a str,
    recall_ratio_at_reference_false_rate: Option<f64>,
    false_ratio_at_reference_recall: Option<f64>,
}

fn point(score: &Score) -> CurvePoint {
    CurvePoint { false_alerts_per_1000: score.false_alerts_per_1000_healthy, recall: score.overall_recall() }
}

/// Every curve but the reference's own point (`variants[reference]`), compared with it.
pub fn comparisons<'a>(
    variants: &'a [Variant],
    scores: &[(String, Score)],
    reference: usize,
) -> Vec<CurveComparison<'a>> {
    let mut curves: Vec<(&str, Vec<f64>, Vec<CurvePoint>)> = Vec::new();
    for (index, (variant, (_, score))) in variants.iter().zip(scores).enumerate() {
        if index == reference {
            continue;
        }
        match curves.iter_mut().find(|(curve, _, _)| *curve == variant.curve) {
            Some((_, ks, points)) => {
                ks.push(variant.k);
                points.push(point(score));
            }
            None => curves.push((&variant.curve, vec![variant.k], vec![point(score)])),
        }
    }
    let reference = point(&scores[reference].1);
    curves
        .into_iter()
        .map(|(curve, ks, points)| CurveComparison { comparison: compare(&points, reference), curve, ks })
        .collect()
}

pub fn write_table(
    out: &mut impl Write,
    variants: &[Variant],
    scores: &[(String, Score)],
    reference: usize,
) -> std::io::Result<()> {
    let curves = comparisons(variants, scores, reference);
    let (label, score) = &scores[reference];
    writeln!(out)?;
    writeln!(
        out,
        "Against {label} ({:.2} false/1k, {:.1}% recall), read between neighbouring k:",
        score.false_alerts_per_1000_healthy,
        100.0 * score.overall_recall()
    )?;
    let width = curves.iter().map(|c| c.curve.chars().count()).max().unwrap_or(0);
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
            curve.curve,
            read(curve.comparison.recall_ratio_at_reference_false_rate, "recall"),
            read(curve.comparison.false_ratio_at_reference_recall, "false alerts"),
        )?;
    }
    Ok(())
}

pub fn write_json(
    out: &mut impl Write,
    variants: &[Variant],
    scores: &[(String, Score)],
    reference: usize,
) -> std::io::Result<()> {
    for curve in &comparisons(variants, scores, reference) {
        let line = ComparisonLine {
            against: &scores[reference].0,
            setting: curve.curve,
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
