//! The tailored limit: per task type, the limit that best trades caught slowdowns against false
//! pages on the shape of its own window — the seed article's "tailor the loss function" made a
//! rule.
//!
//! For a candidate limit L, a run lasting D is seen past L by a check with probability
//! clip((D − L) / interval, 0, 1) (checks fall at a uniformly random phase of the run). A window's
//! duration d is taken as uncertain by ±[`SPREAD`] (the next run of a dozen is not bound to the
//! dozen's exact values), which widens that ramp to run from d·(1 − SPREAD) − interval to
//! d·(1 + SPREAD). Over the window's durations that gives
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
//!
//! The objective is piecewise linear in L with a kink at each ramp's two ends, so one sweep over
//! the sorted ends finds its best: O(b log b) for a window of b histogram bins. The sweep stops
//! once the slowdowns still seen past L are worth less than the best value found, since no larger
//! limit can then do better; on most windows that skips the ends of the ×2 and ×3 ramps.

/// How uncertain a window's duration is taken to be, as a share of it.
pub const SPREAD: f64 = 0.085;

/// The slowdowns a limit is meant to catch, equally likely.
pub const SLOWDOWNS: [f64; 3] = [1.5, 2.0, 3.0];

/// The backstop: a run past this many times the window's longest run always pages...
pub const BACKSTOP_FACTOR: f64 = 3.0;
/// ...and the backstop sits at least this many check intervals past the longest run.
pub const BACKSTOP_INTERVALS: f64 = 3.0;

/// Objective values below this are rounding, not caught slowdowns (shares of runs sum to 1).
const NOTHING: f64 = 1e-9;

/// One weighted ramp of the objective: `weight` (negative for healthy runs, priced) times the
/// share of it seen past L, 1 up to `low`, falling linearly to 0 at `high`.
#[derive(Debug, Clone, Copy)]
struct Ramp {
    low: f64,
    high: f64,
    weight: f64,
}

impl Ramp {
    fn of(duration: f64, weight: f64, interval: f64, spread: f64) -> Self {
        Self { low: duration * (1.0 - spread) - interval, high: duration * (1.0 + spread), weight }
    }
}

/// The objective's value just as the sweep passes L: Σ weight over ramps still fully seen, plus
/// Σ weight × (high − L) / (high − low) over ramps part seen. The same sums over the ramps of
/// positive weight (caught slowdowns) bound every value further on: no ramp is seen more at a
/// larger L, so the sweep can stop once that bound falls below the best value found.
#[derive(Debug, Clone, Copy, Default)]
struct Sweep {
    all: Sums,
    caught: Sums,
}

/// Running sums over a set of ramps, as the sweep passes L.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    full: f64,
    partial_at_zero: f64,
    partial_slope: f64,
}

impl Sums {
    fn enter(&mut self, ramp: &Ramp) {
        let slope = ramp.weight / (ramp.high - ramp.low);
        self.partial_at_zero += slope * ramp.high;
        self.partial_slope += slope;
    }

    fn leave(&mut self, ramp: &Ramp) {
        let slope = ramp.weight / (ramp.high - ramp.low);
        self.partial_at_zero -= slope * ramp.high;
        self.partial_slope -= slope;
    }

    fn value_at(&self, limit: f64) -> f64 {
        self.full + self.partial_at_zero - limit * self.partial_slope
    }

    fn scaled(&self, scale: f64) -> Self {
        Self {
            full: self.full * scale,
            partial_at_zero: self.partial_at_zero * scale,
            partial_slope: self.partial_slope * scale,
        }
    }
}

impl Sweep {
    fn enter(&mut self, ramp: &Ramp) {
        self.all.enter(ramp);
        if ramp.weight > 0.0 {
            self.caught.enter(ramp);
        }
    }

    fn leave(&mut self, ramp: &Ramp) {
        self.all.leave(ramp);
        if ramp.weight > 0.0 {
            self.caught.leave(ramp);
        }
    }

    fn add_full(&mut self, ramp: &Ramp) {
        self.all.full += ramp.weight;
        if ramp.weight > 0.0 {
            self.caught.full += ramp.weight;
        }
    }

    fn remove_full(&mut self, ramp: &Ramp) {
        self.all.full -= ramp.weight;
        if ramp.weight > 0.0 {
            self.caught.full -= ramp.weight;
        }
    }

    fn value_at(&self, limit: f64) -> f64 {
        self.all.value_at(limit)
    }

    /// No limit at or past `limit` has a value above this.
    fn bound_from(&self, limit: f64) -> f64 {
        self.caught.value_at(limit)
    }

    /// Passes kink `kink` of `ramp` (see [`place`]).
    fn pass(&mut self, ramp: &Ramp, kink: usize) {
        if kink % 2 == 1 {
            self.remove_full(ramp);
            self.enter(ramp);
        } else {
            self.leave(ramp);
        }
    }

    fn scaled(&self, scale: f64) -> Self {
        Self { all: self.all.scaled(scale), caught: self.caught.scaled(scale) }
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
    let weighted = histogram.into_iter().map(|(value, count)| (value, count as f64));
    tailored_limit_weighted(weighted, mean_ms, price, interval_ms, SPREAD)
}

/// The tailored limit of durations given with weights (any positive scale: each counts for its
/// weight's share of the total), so some runs can count for more than others (recent runs, say),
/// each taken as uncertain by ±`spread` ([`SPREAD`] for a window; 0 takes durations as exact,
/// which is right only when they are the very runs to be checked, as for the hindsight reference
/// of [`crate::evaluation::hindsight`]).
pub fn tailored_limit_weighted(
    weighted: impl IntoIterator<Item = (f64, f64)>,
    mean_ms: f64,
    price: f64,
    interval_ms: f64,
    spread: f64,
) -> Option<f64> {
    Some(PreparedWindow::new(weighted, mean_ms, price, interval_ms, spread)?.limit())
}

/// No limit lies past three times the longest run, nor less than three intervals past it.
fn backstop(longest: f64, mean_ms: f64, interval_ms: f64) -> f64 {
    (BACKSTOP_FACTOR * longest).max(longest + BACKSTOP_INTERVALS * interval_ms).max(mean_ms)
}

/// The ramps of weighted durations, each weight times `share` (one over the total): each
/// duration's healthy ramp (priced), and, for those at least one interval long, one ramp per
/// slowdown.
fn push_ramps(
    ramps: &mut Vec<Ramp>,
    weighted: impl Iterator<Item = (f64, f64)> + Clone,
    share: f64,
    price: f64,
    interval_ms: f64,
    spread: f64,
) {
    ramps.extend(
        weighted.clone().map(|(value, weight)| Ramp::of(value, -price * weight * share, interval_ms, spread)),
    );
    for factor in SLOWDOWNS {
        ramps.extend(weighted.clone().filter(|&(value, _)| value >= interval_ms).map(|(value, weight)| {
            Ramp::of(factor * value, weight * share / SLOWDOWNS.len() as f64, interval_ms, spread)
        }));
    }
}

/// The sweep starts at the mean (no limit lies below it): a ramp is then fully seen, part seen
/// or past, and only its ends beyond the mean are kinks to pass. A kink is the ramp's index,
/// doubled, plus one when the ramp enters its sloped part there.
fn place(ramp: &Ramp, index: usize, mean_ms: f64, sweep: &mut Sweep, kinks: &mut Vec<(f64, usize)>) {
    if ramp.high <= mean_ms {
        return;
    }
    if ramp.low <= mean_ms {
        sweep.enter(ramp);
    } else {
        sweep.add_full(ramp);
        kinks.push((ramp.low, 2 * index + 1));
    }
    kinks.push((ramp.high, 2 * index));
}

/// The best limit seen so far.
struct Best {
    value: f64,
    limit: f64,
    backstop: f64,
}

impl Best {
    fn new(backstop: f64) -> Self {
        Self { value: 0.0, limit: backstop, backstop }
    }

    fn consider(&mut self, limit: f64, value: f64) {
        // Ties go to the larger limit: as many caught, no more pages. A value within rounding of
        // zero catches nothing.
        if value > NOTHING && value >= self.value && limit < self.backstop {
            self.value = value;
            self.limit = limit;
        }
    }

    /// Whether the sweep, now at `at` with `bound` on every value from there on, can find no
    /// better limit: it is past the backstop, or no later value can reach the best one (with a
    /// margin far above the rounding of the sums, so a later tie is not cut off).
    fn settled(&self, at: f64, bound: f64) -> bool {
        at >= self.backstop || bound < self.value - NOTHING
    }
}

/// A window's side of the tailored limit, prepared once per night and task type: its ramps, and
/// their ends beyond the mean sorted. Each run's own limit then adds the few ramps of its recent
/// runs and sweeps the two sorted lists merged, instead of sorting the window again per run. The
/// one sweep of the tailored objective: [`tailored_limit`] and [`tailored_limit_weighted`] are this
/// window alone.
#[derive(Debug, Clone)]
pub struct PreparedWindow {
    /// Weighted as a share of the window's runs (the window weighs 1 in all).
    ramps: Vec<Ramp>,
    /// (position, ramp index × 2, + 1 where the ramp enters its sloped part), sorted.
    kinks: Vec<(f64, usize)>,
    /// The sweep's state at the mean.
    at_mean: Sweep,
    /// How many of `ramps` are the healthy runs' (first, in ascending duration).
    healthy: usize,
    longest: f64,
    mean_ms: f64,
    price: f64,
    interval_ms: f64,
    spread: f64,
}

impl PreparedWindow {
    /// `weighted` the window's durations (ms) and their weights (counts, or any positive scale as
    /// [`tailored_limit_weighted`]); `None` for an empty window.
    pub fn new(
        weighted: impl IntoIterator<Item = (f64, f64)>,
        mean_ms: f64,
        price: f64,
        interval_ms: f64,
        spread: f64,
    ) -> Option<Self> {
        let mut weighted: Vec<(f64, f64)> =
            weighted.into_iter().filter(|&(_, weight)| weight > 0.0).collect();
        // Ascending, so the healthy ramps are too ([`Self::floor_with_extra`] walks them from the
        // top). Histograms come sorted already: the stable sort keeps them as they are.
        weighted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let total: f64 = weighted.iter().map(|&(_, weight)| weight).sum();
        let longest = weighted.iter().map(|&(value, _)| value).reduce(f64::max)?;
        let mut ramps = Vec::with_capacity(weighted.len() * (1 + SLOWDOWNS.len()));
        push_ramps(&mut ramps, weighted.iter().copied(), 1.0 / total, price, interval_ms, spread);
        let mut at_mean = Sweep::default();
        let mut kinks = Vec::with_capacity(ramps.len() * 2);
        for (i, ramp) in ramps.iter().enumerate() {
            place(ramp, i, mean_ms, &mut at_mean, &mut kinks);
        }
        kinks.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let healthy = weighted.len();
        Some(Self { ramps, kinks, at_mean, healthy, longest, mean_ms, price, interval_ms, spread })
    }

    /// A duration no limit of this window lies at or below when it weighs `window_weight` (of 1)
    /// together with any extra runs: [`Self::limit_with`] is never below the mean, and below the
    /// slowest durations that a share 1 / (price × `window_weight`) of the window's runs are fully
    /// seen past, the healthy runs paged cost at least as much as every slowdown could catch (1),
    /// so the objective is at most 0 there and no such limit is chosen. A run that cannot outlive
    /// it needs no own limit computed.
    pub fn floor_with_extra(&self, window_weight: f64) -> f64 {
        if !(self.price > 0.0 && window_weight > 0.0) {
            return self.mean_ms;
        }
        // A margin far above the rounding of the sweep's sums.
        let needed = (1.0 + 1e-6) / (self.price * window_weight);
        let mut seen_share = 0.0;
        for ramp in self.ramps[..self.healthy].iter().rev() {
            seen_share += -ramp.weight / self.price;
            if seen_share >= needed {
                return ramp.low.max(self.mean_ms);
            }
        }
        self.mean_ms
    }

    /// The tailored limit of the window alone.
    pub fn limit(&self) -> f64 {
        // A window of positive weight alone always has a limit.
        self.limit_with(1.0, &[]).unwrap_or(self.mean_ms)
    }

    /// The tailored limit of the window weighted `window_weight` in all together with `extra`
    /// durations (ms) and their weights (any positive scale, as [`tailored_limit_weighted`]).
    pub fn limit_with(&self, window_weight: f64, extra: &[(f64, f64)]) -> Option<f64> {
        let extra: Vec<(f64, f64)> = extra.iter().copied().filter(|&(_, weight)| weight > 0.0).collect();
        let total = window_weight.max(0.0) + extra.iter().map(|&(_, weight)| weight).sum::<f64>();
        if total.is_nan() || total <= 0.0 {
            return None;
        }
        let scale = window_weight.max(0.0) / total;
        let longest = extra.iter().map(|&(value, _)| value).fold(self.longest, f64::max);
        let backstop = backstop(longest, self.mean_ms, self.interval_ms);

        let mut ramps = Vec::with_capacity(extra.len() * (1 + SLOWDOWNS.len()));
        push_ramps(&mut ramps, extra.iter().copied(), 1.0 / total, self.price, self.interval_ms, self.spread);
        let mut sweep = self.at_mean.scaled(scale);
        let mut kinks = Vec::with_capacity(ramps.len() * 2);
        for (i, ramp) in ramps.iter().enumerate() {
            place(ramp, i, self.mean_ms, &mut sweep, &mut kinks);
        }
        kinks.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));

        let mut best = Best::new(backstop);
        best.consider(self.mean_ms, sweep.value_at(self.mean_ms));
        let (mut window_kinks, mut extra_kinks) = (self.kinks.iter().peekable(), kinks.iter().peekable());
        loop {
            let from_window = match (window_kinks.peek(), extra_kinks.peek()) {
                (Some(w), Some(e)) => w.0 <= e.0,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let (at, ramp, kink) = if from_window {
                let Some(&(at, kink)) = window_kinks.next() else { break };
                let ramp = self.ramps[kink / 2];
                (at, Ramp { weight: ramp.weight * scale, ..ramp }, kink)
            } else {
                let Some(&(at, kink)) = extra_kinks.next() else { break };
                (at, ramps[kink / 2], kink)
            };
            sweep.pass(&ramp, kink);
            best.consider(at, sweep.value_at(at));
            if best.settled(at, sweep.bound_from(at)) {
                break;
            }
        }
        Some(best.limit)
    }
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
    fn the_limit_maximises_the_objective_over_a_fine_grid() {
        let window = [20.0, 35.0, 60.0, 62.0, 58.0, 61.0, 30.0, 64.0, 59.0, 60.0, 90.0];
        let mean = window.iter().sum::<f64>() / window.len() as f64 * MINUTE;
        let price = 5.0;
        // The objective written out directly, ramp by ramp.
        let objective = |limit: f64| {
            let seen = |d: f64| {
                let (low, high) = (d * (1.0 - SPREAD) - INTERVAL, d * (1.0 + SPREAD));
                ((high - limit) / (high - low)).clamp(0.0, 1.0)
            };
            let n = window.len() as f64;
            let paged: f64 = window.iter().map(|&d| seen(d * MINUTE)).sum::<f64>() / n;
            let caught: f64 = window
                .iter()
                .filter(|&&d| d * MINUTE >= INTERVAL)
                .map(|&d| SLOWDOWNS.iter().map(|f| seen(f * d * MINUTE)).sum::<f64>() / 3.0)
                .sum::<f64>()
                / n;
            caught - price * paged
        };
        let limit = limit_of(&window, price);
        let best_on_grid = (0..20_000)
            .map(|i| mean + f64::from(i) * 1_000.0)
            .filter(|&l| l < 270.0 * MINUTE)
            .map(objective)
            .fold(f64::MIN, f64::max);
        assert!(objective(limit) >= best_on_grid - 1e-9, "{} < {best_on_grid}", objective(limit));
    }

    /// The objective of weighted durations at `limit`, written out ramp by ramp.
    fn weighted_objective(weighted: &[(f64, f64)], price: f64, limit: f64) -> f64 {
        let seen = |d: f64| {
            let (low, high) = (d * (1.0 - SPREAD) - INTERVAL, d * (1.0 + SPREAD));
            ((high - limit) / (high - low)).clamp(0.0, 1.0)
        };
        let total: f64 = weighted.iter().map(|&(_, w)| w).sum();
        let paged: f64 = weighted.iter().map(|&(d, w)| w * seen(d)).sum::<f64>() / total;
        let caught: f64 = weighted
            .iter()
            .filter(|&&(d, _)| d >= INTERVAL)
            .map(|&(d, w)| w * SLOWDOWNS.iter().map(|f| seen(f * d)).sum::<f64>() / 3.0)
            .sum::<f64>()
            / total;
        caught - price * paged
    }

    /// A seeded stream of numbers below a bound, for random cases.
    fn draws(seed: u64) -> impl FnMut(u64) -> u64 {
        let mut random = crate::evaluation::rng::SplitMix64::new(seed);
        move |below| random.below(below)
    }

    /// The window of durations and counts, prepared.
    fn prepared_counts(window: &[(f64, u64)], mean: f64, price: f64) -> PreparedWindow {
        let weighted = window.iter().map(|&(value, count)| (value, count as f64));
        PreparedWindow::new(weighted, mean, price, INTERVAL, SPREAD).unwrap()
    }

    /// The window's mean, and its durations weighing `window_weight` in all together with `extra`.
    fn weighed_together(
        window: &[(f64, u64)],
        window_weight: f64,
        extra: &[(f64, f64)],
    ) -> (f64, Vec<(f64, f64)>) {
        let total: u64 = window.iter().map(|&(_, c)| c).sum();
        let mean = window.iter().map(|&(v, c)| v * c as f64).sum::<f64>() / total as f64;
        let weighted = window
            .iter()
            .map(|&(v, c)| (v, c as f64 * window_weight / total as f64))
            .chain(extra.iter().copied())
            .collect();
        (mean, weighted)
    }

    #[test]
    fn a_prepared_window_with_extra_runs_finds_a_limit_as_good_as_the_plain_weighted_sweep() {
        let mut next = draws(11);
        for case in 0..300 {
            let bins = 1 + next(40) as usize;
            let window: Vec<(f64, u64)> =
                (0..bins).map(|_| ((30 + next(7_200)) as f64 * 1_000.0, 1 + next(6))).collect();
            let extra: Vec<(f64, f64)> = (0..next(5))
                .map(|_| ((30 + next(9_000)) as f64 * 1_000.0, 0.1 * (1 + next(3)) as f64))
                .collect();
            let window_weight = 0.3 + 0.1 * next(7) as f64;
            let price = [0.5, 2.0, 6.0, 20.0][next(4) as usize];
            let (mean, weighted) = weighed_together(&window, window_weight, &extra);
            let direct =
                tailored_limit_weighted(weighted.iter().copied(), mean, price, INTERVAL, SPREAD).unwrap();
            let prepared = prepared_counts(&window, mean, price).limit_with(window_weight, &extra).unwrap();
            let (at_direct, at_prepared) = (
                weighted_objective(&weighted, price, direct),
                weighted_objective(&weighted, price, prepared),
            );
            assert!(
                (at_direct - at_prepared).abs() < 1e-9,
                "case {case}: {direct} gives {at_direct}, {prepared} gives {at_prepared}"
            );
            if extra.is_empty() {
                let plain = tailored_limit(window.iter().copied(), mean, price, INTERVAL).unwrap();
                let at_plain = weighted_objective(&weighted, price, plain);
                assert!((at_plain - at_prepared).abs() < 1e-9, "case {case}: {plain} gives {at_plain}");
            }
        }
    }

    #[test]
    fn the_sweep_stops_early_only_where_no_later_limit_could_be_better() {
        let mut next = draws(29);
        for case in 0..400 {
            // Two or three modes far apart, so the objective has local maxima to stop at.
            let modes: Vec<f64> = (0..2 + next(2)).map(|_| (5 + next(400)) as f64 * MINUTE).collect();
            let window: Vec<(f64, u64)> = (0..1 + next(30))
                .map(|_| {
                    let mode = modes[next(modes.len() as u64) as usize];
                    (mode * (0.9 + 0.002 * next(100) as f64), 1 + next(8))
                })
                .collect();
            let extra: Vec<(f64, f64)> =
                (0..next(4)).map(|_| ((1 + next(600)) as f64 * MINUTE, 0.1)).collect();
            let window_weight = 1.0 - 0.1 * extra.len() as f64;
            let price = [0.2, 1.0, 3.0, 6.0, 15.0, 60.0][next(6) as usize];
            let (mean, weighted) = weighed_together(&window, window_weight, &extra);
            let longest = weighted.iter().map(|&(v, _)| v).fold(0.0, f64::max);
            // Every place the objective can peak: the mean and each ramp's ends, short of the
            // backstop.
            let best_anywhere = std::iter::once(mean)
                .chain(weighted.iter().flat_map(|&(d, _)| {
                    [1.0]
                        .iter()
                        .chain(SLOWDOWNS.iter())
                        .flat_map(move |&f| [f * d * (1.0 - SPREAD) - INTERVAL, f * d * (1.0 + SPREAD)])
                }))
                .filter(|&l| l >= mean && l < backstop(longest, mean, INTERVAL))
                .map(|l| weighted_objective(&weighted, price, l))
                .fold(0.0, f64::max);
            let prepared = prepared_counts(&window, mean, price).limit_with(window_weight, &extra).unwrap();
            let direct =
                tailored_limit_weighted(weighted.iter().copied(), mean, price, INTERVAL, SPREAD).unwrap();
            for limit in [prepared, direct] {
                let at_limit = weighted_objective(&weighted, price, limit);
                assert!(
                    best_anywhere < NOTHING || at_limit >= best_anywhere - 1e-9,
                    "case {case}: {limit} gives {at_limit}, the best is {best_anywhere}"
                );
            }
        }
    }

    #[test]
    fn no_own_limit_lies_below_the_floor_of_its_window() {
        let mut next = draws(41);
        let mut above_the_mean = 0;
        for case in 0..600 {
            let window: Vec<(f64, f64)> = (0..1 + next(40))
                .map(|_| ((30 + next(7_200)) as f64 * 1_000.0, (1 + next(6)) as f64))
                .collect();
            let recent_weight = [0.1, 0.3, 0.6][next(3) as usize];
            let count = 1 + next(3);
            let extra: Vec<(f64, f64)> = (0..count)
                .map(|_| ((30 + next(20_000)) as f64 * 1_000.0, recent_weight / count as f64))
                .collect();
            let total: f64 = window.iter().map(|&(_, c)| c).sum();
            let mean = window.iter().map(|&(v, c)| v * c).sum::<f64>() / total;
            let price = [0.5, 2.0, 6.0, 20.0][next(4) as usize];
            let prepared =
                PreparedWindow::new(window.iter().copied(), mean, price, INTERVAL, SPREAD).unwrap();
            let floor = prepared.floor_with_extra(1.0 - recent_weight);
            let limit = prepared.limit_with(1.0 - recent_weight, &extra).unwrap();
            assert!(limit >= floor, "case {case}: limit {limit} below the floor {floor}");
            if floor > mean {
                above_the_mean += 1;
            }
        }
        assert!(above_the_mean > 100, "the floor rose above the mean in only {above_the_mean} cases");
    }
}
