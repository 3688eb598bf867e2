//! Where a method's curve stands against a reference point (the seed method at its default), in
//! the two terms issue-style targets use: its recall at the reference's false-alert rate, and its
//! false alerts at the reference's recall, each interpolated linearly between the two settings
//! (k values) that bracket the reference.

/// One setting's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    pub false_alerts_per_1000: f64,
    /// 0 to 1.
    pub recall: f64,
}

/// A value read off a curve between two of its settings (indices into the curve given).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interpolated {
    pub value: f64,
    pub between: (usize, usize),
}

/// How a curve compares with a reference point; `None` where no two settings bracket it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// The curve's recall at the reference's false-alert rate, over the reference's recall.
    pub recall_ratio_at_reference_false_rate: Option<Interpolated>,
    /// The curve's false alerts at the reference's recall, over the reference's false alerts.
    pub false_ratio_at_reference_recall: Option<Interpolated>,
}

pub fn compare(curve: &[CurvePoint], reference: CurvePoint) -> Comparison {
    let recall_at =
        read_off(curve, |p| p.false_alerts_per_1000, |p| p.recall, reference.false_alerts_per_1000);
    let false_at = read_off(curve, |p| p.recall, |p| p.false_alerts_per_1000, reference.recall);
    Comparison {
        recall_ratio_at_reference_false_rate: recall_at
            .filter(|_| reference.recall > 0.0)
            .map(|found| Interpolated { value: found.value / reference.recall, ..found }),
        false_ratio_at_reference_recall: false_at
            .filter(|_| reference.false_alerts_per_1000 > 0.0)
            .map(|found| Interpolated { value: found.value / reference.false_alerts_per_1000, ..found }),
    }
}

/// `y` at `x = at` on the curve ordered by `x`: the first pair of neighbours whose `x` values
/// enclose `at`, linearly between them (a setting exactly at `at` gives its own `y`).
fn read_off(
    curve: &[CurvePoint],
    x: impl Fn(&CurvePoint) -> f64,
    y: impl Fn(&CurvePoint) -> f64,
    at: f64,
) -> Option<Interpolated> {
    let mut order: Vec<usize> = (0..curve.len()).collect();
    order.sort_by(|&a, &b| x(&curve[a]).total_cmp(&x(&curve[b])));
    if let Some(&exact) = order.iter().find(|&&i| x(&curve[i]) == at) {
        return Some(Interpolated { value: y(&curve[exact]), between: (exact, exact) });
    }
    order.windows(2).find_map(|pair| {
        let (low, high) = (&curve[pair[0]], &curve[pair[1]]);
        let (x0, x1) = (x(low), x(high));
        (x0 < at && at < x1).then(|| {
            let t = (at - x0) / (x1 - x0);
            Interpolated { value: y(low) + t * (y(high) - y(low)), between: (pair[0], pair[1]) }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(false_alerts_per_1000: f64, recall: f64) -> CurvePoint {
        CurvePoint { false_alerts_per_1000, recall }
    }

    #[test]
    fn a_curve_is_read_between_the_two_settings_that_bracket_the_reference() {
        // Three settings of a method, as from k = 5, 2 and 1.
        let curve = [point(10.0, 0.30), point(20.0, 0.50), point(30.0, 0.60)];
        let seed = point(25.0, 0.40);
        let comparison = compare(&curve, seed);
        let recall = comparison.recall_ratio_at_reference_false_rate.unwrap();
        assert!((recall.value - 0.55 / 0.40).abs() < 1e-12, "{recall:?}");
        assert_eq!(recall.between, (1, 2));
        let false_alerts = comparison.false_ratio_at_reference_recall.unwrap();
        assert!((false_alerts.value - 15.0 / 25.0).abs() < 1e-12, "{false_alerts:?}");
        assert_eq!(false_alerts.between, (0, 1));
    }

    #[test]
    fn a_reference_outside_the_settings_given_is_not_extrapolated_and_an_exact_one_is_read_off() {
        let curve = [point(10.0, 0.30), point(20.0, 0.50)];
        let outside = compare(&curve, point(40.0, 0.70));
        assert_eq!(outside.recall_ratio_at_reference_false_rate, None);
        assert_eq!(outside.false_ratio_at_reference_recall, None);
        let exact = compare(&curve, point(20.0, 0.25));
        assert_eq!(
            exact.recall_ratio_at_reference_false_rate,
            Some(Interpolated { value: 2.0, between: (1, 1) })
        );
    }
}
