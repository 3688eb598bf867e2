//! The tailored limit: per task type, the limit that best trades caught slowdowns against false
//! pages on the shape of its own window — the seed article's "tailor the loss function" made a
//! rule.
//!
//! For a candidate limit L, a run lasting D is seen past L by a check with probability
//! clip((D − L) / interval, 0, 1) (checks fall at a uniformly random phase of the run). Over the
//! window's durations, smoothed by a log-normal kernel, that gives
//! - the share of healthy runs paged, and
//! - the share of runs that would be caught if they were slowed down ×1.5, ×2 or ×3 (only runs at
//!   least one interval long: a shorter run can start and finish between two checks),
//!
//! and the limit is the L that maximises caught − price × paged, never below the mean. A steady
//! task type gets a limit just past its slowest runs; a type whose healthy runs already spread
//! over ×3 gets a wide one, because a tight one would page for nothing more often than it catches
//! anything. No limit lies past the backstop, three times the window's longest run and at least
//! three intervals past it; a type whose runs are all shorter than an interval (no slowdown of
//! theirs is caught by any limit) gets the backstop, so a hung run still pages.

/// Relative width (σ of ln) of the kernel each duration is smoothed by: a window of a dozen runs
/// does not say that the next one cannot be 5 % longer than the longest.
pub const KERNEL_WIDTH: f64 = 0.05;

/// The slowdowns a limit is meant to catch, equally likely.
pub const SLOWDOWNS: [f64; 3] = [1.5, 2.0, 3.0];

/// The backstop: a run past this many times the window's longest run always pages...
pub const BACKSTOP_FACTOR: f64 = 3.0;
/// ...and the backstop sits at least this many check intervals past the longest run.
pub const BACKSTOP_INTERVALS: f64 = 3.0;

/// Standard normal quantiles at (i + ½)/9: nine equally weighted points of the kernel.
const KERNEL_POINTS: [f64; 9] =
    [-1.593_219, -0.967_422, -0.589_456, -0.282_216, 0.0, 0.282_216, 0.589_456, 0.967_422, 1.593_219];

/// Weighted durations, sorted, with prefix sums so that the expected share of them seen past a
/// limit takes two binary searches.
struct Durations {
    values: Vec<f64>,
    /// weight_before[i] = Σ weights of values[..i]
    weight_before: Vec<f64>,
    /// weighted_before[i] = Σ weight × value of values[..i]
    weighted_before: Vec<f64>,
}

impl Durations {
    fn new(mut points: Vec<(f64, f64)>) -> Self {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut weight_before = Vec::with_capacity(points.len() + 1);
        let mut weighted_before = Vec::with_capacity(points.len() + 1);
        let (mut w, mut wx) = (0.0, 0.0);
        weight_before.push(w);
        weighted_before.push(wx);
        for &(value, weight) in &points {
            w += weight;
            wx += weight * value;
            weight_before.push(w);
            weighted_before.push(wx);
        }
        Self { values: points.into_iter().map(|(v, _)| v).collect(), weight_before, weighted_before }
    }

    /// Σ weight × clip((value − limit) / interval, 0, 1).
    fn seen_past(&self, limit: f64, interval: f64) -> f64 {
        let partial_from = self.values.partition_point(|&v| v <= limit);
        let full_from = self.values.partition_point(|&v| v < limit + interval);
        let total = self.weight_before[self.values.len()];
        let full = total - self.weight_before[full_from];
        let partial_weight = self.weight_before[full_from] - self.weight_before[partial_from];
        let partial_weighted = self.weighted_before[full_from] - self.weighted_before[partial_from];
        full + (partial_weighted - limit * partial_weight) / interval
    }
}

/// The tailored limit of a window: `histogram` its durations (ms) as `(value, count)`, `mean_ms`
/// their mean, `price` how many caught slowdowns (as a share of the window's runs) one false page
/// (as the same share) is worth giving up, `interval_ms` the time between checks. `None` for an
/// empty window.
pub fn tailored_limit(
    histogram: impl IntoIterator<Item = (f64, u64)>,
    mean_ms: f64,
    price: f64,
    interval_ms: f64,
) -> Option<f64> {
    let histogram: Vec<(f64, u64)> = histogram.into_iter().filter(|&(_, count)| count > 0).collect();
    let total: u64 = histogram.iter().map(|&(_, count)| count).sum();
    let longest = histogram
        .iter()
        .map(|&(value, _)| value)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))?;
    let backstop = (BACKSTOP_FACTOR * longest).max(longest + BACKSTOP_INTERVALS * interval_ms).max(mean_ms);

    let kernel: Vec<f64> = KERNEL_POINTS.iter().map(|z| (KERNEL_WIDTH * z).exp()).collect();
    let healthy_weight = 1.0 / (total as f64 * kernel.len() as f64);
    let slowed_weight = healthy_weight / SLOWDOWNS.len() as f64;
    let mut healthy = Vec::with_capacity(histogram.len() * kernel.len());
    let mut slowed = Vec::new();
    for &(value, count) in &histogram {
        for &spread in &kernel {
            healthy.push((value * spread, count as f64 * healthy_weight));
            if value >= interval_ms {
                for factor in SLOWDOWNS {
                    slowed.push((factor * value * spread, count as f64 * slowed_weight));
                }
            }
        }
    }
    let healthy = Durations::new(healthy);
    let slowed = Durations::new(slowed);

    // The objective is piecewise linear in the limit, with kinks where a duration or a duration
    // minus one interval sits: its best is at one of them.
    let mut candidates: Vec<f64> = healthy
        .values
        .iter()
        .chain(&slowed.values)
        .flat_map(|&v| [v, v - interval_ms])
        .filter(|&l| l >= mean_ms && l < backstop)
        .collect();
    candidates.sort_by(f64::total_cmp);
    candidates.dedup();

    let mut best = (0.0, backstop);
    for limit in candidates {
        let value = slowed.seen_past(limit, interval_ms) - price * healthy.seen_past(limit, interval_ms);
        // Ties go to the larger limit: as many caught, no more pages.
        if value > 0.0 && value >= best.0 {
            best = (value, limit);
        }
    }
    Some(best.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: f64 = 60_000.0;
    const INTERVAL: f64 = 10.0 * MINUTE;

    fn limit_of(durations_min: &[f64], price: f64) -> f64 {
        let mean = durations_min.iter().sum::<f64>() / durations_min.len() as f64 * MINUTE;
        tailored_limit(durations_min.iter().map(|&d| (d * MINUTE, 1)), mean, price, INTERVAL).unwrap()
    }

    #[test]
    fn a_steady_hour_long_task_gets_a_limit_a_little_past_its_slowest_run() {
        let limit = limit_of(&[60.0, 61.0, 59.0, 60.5, 62.0, 60.0, 59.5, 61.0, 60.0, 60.0], 5.0) / MINUTE;
        assert!((62.0..80.0).contains(&limit), "limit {limit} min");
    }

    #[test]
    fn a_task_whose_healthy_runs_spread_widely_gets_a_wider_limit_than_a_steady_one() {
        let steady = limit_of(&[60.0; 12], 5.0);
        let spread =
            limit_of(&[20.0, 35.0, 60.0, 90.0, 120.0, 45.0, 70.0, 30.0, 100.0, 60.0, 80.0, 50.0], 5.0);
        assert!(spread > 120.0 * MINUTE && spread > steady * 1.5, "steady {steady}, spread {spread}");
    }

    #[test]
    fn a_higher_price_of_a_false_page_never_gives_a_tighter_limit() {
        let window = [20.0, 35.0, 60.0, 62.0, 58.0, 61.0, 30.0, 64.0, 59.0, 60.0, 90.0];
        let limits: Vec<f64> =
            [0.5, 1.0, 2.0, 5.0, 10.0, 50.0].iter().map(|&p| limit_of(&window, p)).collect();
        assert!(limits.windows(2).all(|w| w[0] <= w[1]), "{limits:?}");
    }

    #[test]
    fn short_runs_that_no_check_can_catch_get_the_backstop() {
        // Two-minute runs: no slowdown worth catching can be seen by a 10-minute check, so only a
        // hung run pages, three intervals past the longest.
        let limit = limit_of(&[2.0, 2.1, 1.9, 2.0, 2.2], 5.0) / MINUTE;
        assert!((limit - 32.2).abs() < 0.01, "limit {limit} min");
    }

    #[test]
    fn no_limit_lies_past_three_times_the_longest_run() {
        let window = [100.0, 400.0, 20.0, 900.0, 50.0];
        for price in [0.1, 5.0, 1_000.0] {
            let limit = limit_of(&window, price) / MINUTE;
            assert!(limit <= 2_700.0, "price {price}: limit {limit} min");
        }
        // A dear false page: past the longest run, where only slowed runs are seen.
        assert!(limit_of(&window, 1_000.0) > 900.0 * MINUTE);
    }

    #[test]
    fn the_limit_is_never_below_the_mean_and_an_empty_window_has_none() {
        let window = [10.0, 200.0, 15.0, 12.0, 11.0];
        let mean = window.iter().sum::<f64>() / 5.0 * MINUTE;
        assert!(limit_of(&window, 0.0) >= mean);
        assert_eq!(tailored_limit(std::iter::empty(), 0.0, 5.0, INTERVAL), None);
    }

    #[test]
    fn seen_past_matches_a_direct_sum() {
        let points = vec![(100.0, 0.5), (250.0, 0.25), (400.0, 0.25)];
        let durations = Durations::new(points.clone());
        for limit in [0.0, 99.0, 100.0, 150.0, 240.0, 399.0, 500.0] {
            let direct: f64 = points.iter().map(|&(v, w)| w * ((v - limit) / 200.0).clamp(0.0, 1.0)).sum();
            assert!((durations.seen_past(limit, 200.0) - direct).abs() < 1e-12, "at {limit}");
        }
    }
}
