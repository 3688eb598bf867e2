//! Learning a task type's schedule from its own start times, with no configuration.
//!
//! The method (docs/DETECTION.md, "Missed starts"): for each candidate period — every clock
//! period that divides a day from 5 minutes to 24 hours, and the type's median gap between starts
//! when it divides none (a `rate(90 minutes)`, every other day) — the starts' phases within the
//! period are clustered on the circle; each cluster is a slot, due at its earliest phase (the
//! minute a scheduler fires; its starts come at or after it). A period fits when every slot had a
//! start at enough of its due times on the days it runs (a weekday is a day it runs when most of
//! its due times had a start), and the slots explain nearly every start (the rest: re-runs by
//! hand). Of the periods that fit, the one with the fewest slots a day wins, then the shortest.
//! The grace is the largest lateness seen plus a quarter of it, never less than one check.
//! A type whose starts fit no period — commit-triggered CI, ad-hoc jobs — is unscheduled.
//!
//! A schedule is trusted only from a week of history. A schedule that changes is re-learned from
//! shorter windows (the last 14, then 7 days) when the whole look-back no longer fits, and a slot
//! whose last two due times went without a start while the type kept starting at other times is
//! dropped at once; a gap in everything (a holiday, an outage) drops nothing.

use crate::schedule::{MINUTE_MS, Schedule, Weekdays};
use crate::time::{EpochMs, MS_PER_DAY};

/// What the learner needs to decide.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LearnSettings {
    /// How far back starts are read: the longest window tried.
    pub look_back_ms: i64,
    /// The shortest span of starts a schedule is trusted from.
    pub min_span_ms: i64,
    /// The fewest due times with a start, per slot.
    pub min_hits_per_slot: u32,
    /// The share of a slot's due times, on the days it runs, that had a start.
    pub min_coverage: f64,
    /// The share of the starts the schedule must explain.
    pub min_explained: f64,
    /// The checker's interval: the grace is never shorter.
    pub tick_ms: i64,
}

impl LearnSettings {
    /// The defaults, for a checker that runs every `tick_ms`.
    pub fn checked_every(tick_ms: i64) -> Self {
        Self { tick_ms, ..Self::default() }
    }
}

impl Default for LearnSettings {
    fn default() -> Self {
        Self {
            look_back_ms: 28 * MS_PER_DAY,
            min_span_ms: 6 * MS_PER_DAY,
            min_hits_per_slot: 5,
            min_coverage: 0.8,
            min_explained: 0.9,
            tick_ms: 10 * MINUTE_MS,
        }
    }
}

/// What the learner decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Learned {
    Scheduled(Schedule),
    Unscheduled(Unscheduled),
}

/// Why a type has no schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unscheduled {
    TooFewStarts {
        starts: usize,
    },
    /// Its starts span less than the shortest history a schedule is trusted from.
    TooShortHistory {
        span_ms: i64,
    },
    /// Its starts fit no period.
    Irregular,
}

/// Clock periods that divide a day, in minutes.
const CLOCK_PERIODS_MIN: [i64; 13] = [5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440];

/// The schedule `starts` (any order) show at `now`, or why they show none.
pub fn learn(starts: &[EpochMs], now: EpochMs, settings: &LearnSettings) -> Learned {
    learn_fresh(starts, now, settings, Windows::ShorterAfterAChange, true)
}

/// The schedule `starts` show at `now`, given the one learned the night before (`previous`):
/// what the nightly job and the replay run. A schedule that still holds — its due times of the
/// last two days met as often as a slot must be, every start of the last day in one of its
/// slots — is kept as it is (the common night costs a day's starts, and writes nothing); one that
/// no longer holds is learned afresh, a type with none when [`worth_fitting`] says so, and only a
/// type that had one follows a daylight-saving change.
pub fn learn_after(
    previous: Option<&Schedule>,
    starts: &[EpochMs],
    now: EpochMs,
    settings: &LearnSettings,
) -> Learned {
    match previous {
        Some(schedule) if still_holds(schedule, starts, now, settings) => {
            Learned::Scheduled(schedule.clone())
        }
        None => match worth_fitting(starts, now) {
            Fitting::Not => Learned::Unscheduled(Unscheduled::Irregular),
            Fitting::WholeLookBack => learn_fresh(starts, now, settings, Windows::WholeLookBack, false),
            Fitting::Full => learn_fresh(starts, now, settings, Windows::ShorterAfterAChange, false),
        },
        Some(_) => learn_fresh(starts, now, settings, Windows::ShorterAfterAChange, true),
    }
}

/// How near a day-earlier start a start must come to look like a clock's.
const A_DAY_EARLIER_WITHIN_MS: i64 = 30 * MINUTE_MS;

/// How a type with no schedule is fitted tonight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fitting {
    Not,
    /// Over its whole look-back only (a weekly look at a type that does not look like a clock).
    WholeLookBack,
    /// Over its look-back, then its recent past (a schedule that changed).
    Full,
}

/// Which windows a fresh fit tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Windows {
    WholeLookBack,
    ShorterAfterAChange,
}

/// Whether a type with no schedule is fitted tonight: in full when its last day's starts look
/// like a clock's — at least four in five within half an hour of a start a day earlier, as every
/// schedule whose period divides a day shows from its second day on (a new one, or one that
/// changed) — and over its whole look-back on Mondays (UTC), for the other kinds (every 100
/// minutes, weekly). Most types are irregular and stay so; fitting each of them every night in
/// full was nearly all of the learner's cost.
fn worth_fitting(starts: &[EpochMs], now: EpochMs) -> Fitting {
    if looks_like_a_clock(starts, now) {
        Fitting::Full
    } else if Weekdays::weekday_of(now) == 0 {
        Fitting::WholeLookBack
    } else {
        Fitting::Not
    }
}

fn looks_like_a_clock(starts: &[EpochMs], now: EpochMs) -> bool {
    let day =
        &starts[starts.partition_point(|&t| t <= now - MS_PER_DAY)..starts.partition_point(|&t| t <= now)];
    let a_day_earlier = |t: EpochMs| {
        let earliest = t - MS_PER_DAY - A_DAY_EARLIER_WITHIN_MS;
        starts
            .get(starts.partition_point(|&s| s < earliest))
            .is_some_and(|&s| s <= t - MS_PER_DAY + A_DAY_EARLIER_WITHIN_MS)
    };
    let regular = day.iter().filter(|&&t| a_day_earlier(t)).count();
    !day.is_empty() && regular * 5 >= day.len() * 4
}

/// Whether `schedule` still explains `starts` (sorted) at `now`: every start of the last day in
/// one of its slots, and its due times of the last two days met as often as a slot must be.
fn still_holds(schedule: &Schedule, starts: &[EpochMs], now: EpochMs, settings: &LearnSettings) -> bool {
    let day =
        &starts[starts.partition_point(|&t| t <= now - MS_PER_DAY)..starts.partition_point(|&t| t <= now)];
    let due = super::slots::due_times(schedule, now - 2 * MS_PER_DAY, now - schedule.grace_ms);
    let met = due.iter().filter(|&&at| super::slots::is_met(schedule, starts, at)).count();
    day.iter().all(|&t| lands_in(schedule, t)) && met as f64 >= settings.min_coverage * due.len() as f64
}

fn learn_fresh(
    starts: &[EpochMs],
    now: EpochMs,
    settings: &LearnSettings,
    windows: Windows,
    had_one: bool,
) -> Learned {
    let mut recent: Vec<EpochMs> =
        starts.iter().copied().filter(|&t| t <= now && t > now - settings.look_back_ms).collect();
    recent.sort_unstable();
    recent.dedup();
    if recent.len() < settings.min_hits_per_slot as usize {
        return Learned::Unscheduled(Unscheduled::TooFewStarts { starts: recent.len() });
    }
    let span = recent[recent.len() - 1] - recent[0];
    if span < settings.min_span_ms {
        return Learned::Unscheduled(Unscheduled::TooShortHistory { span_ms: span });
    }
    let found = match windows {
        Windows::ShorterAfterAChange => fit_some_window(&recent, now, settings),
        Windows::WholeLookBack => best_fit(&recent, now, settings),
    };
    let found = if had_one { follow_clock_change(&recent, now, settings, found) } else { found };
    match found {
        Some(schedule) => Learned::Scheduled(schedule),
        None => Learned::Unscheduled(Unscheduled::Irregular),
    }
}

/// The best fit of the whole look-back, or, after a change of schedule (which neither the old
/// nor the new schedule fits over the whole look-back), of the recent past alone.
fn fit_some_window(recent: &[EpochMs], now: EpochMs, settings: &LearnSettings) -> Option<Schedule> {
    let mut window = settings.look_back_ms;
    loop {
        let first = recent.partition_point(|&t| t <= now - window);
        let in_window = &recent[first..];
        let fits = in_window.len() >= settings.min_hits_per_slot as usize
            && in_window[in_window.len() - 1] - in_window[0] >= settings.min_span_ms;
        if fits && let Some(schedule) = best_fit(in_window, now, settings) {
            return Some(schedule);
        }
        let shorter = (window / 2).max(settings.min_span_ms + MS_PER_DAY);
        if shorter >= window {
            return None;
        }
        window = shorter;
    }
}

/// How many of the latest starts are tried as the first after a clock change.
const CLOCK_CHANGE_CUTS: usize = 12;

/// Cron jobs are often written in local time: at a daylight-saving change every slot moves by an
/// hour in UTC. When the schedule found misses due times of the last two days (or none is found
/// any more) while one fitted the history before the last three days, the history before each
/// of the latest starts is moved by an hour either way and fitted again: the same slots moved by
/// the hour, met by every start since (and none at the old times, due twice since), is the
/// schedule — from the night after the change for a type due twice a day or more, two nights
/// for a daily one. Types with more
/// than 12 slots a day are left as they are (an hour's move hides in their own period or is
/// re-learned from the recent week).
fn follow_clock_change(
    starts: &[EpochMs],
    now: EpochMs,
    settings: &LearnSettings,
    found: Option<Schedule>,
) -> Option<Schedule> {
    let recently = now - 2 * MS_PER_DAY;
    let misses = |schedule: &Schedule| !super::slots::missed(schedule, starts, recently, now).is_empty();
    match &found {
        Some(schedule) if !misses(schedule) || schedule.slots_per_day() > 12.0 => return found,
        _ => {}
    }
    let before = now - 3 * MS_PER_DAY;
    let older = &starts[..starts.partition_point(|&t| t < before)];
    let Some(was) = fit_some_window(older, before, settings) else { return found };
    let first_cut =
        starts.partition_point(|&t| t < before).max(starts.len().saturating_sub(CLOCK_CHANGE_CUTS));
    for shift in [HOUR_MS, -HOUR_MS] {
        // The same slots, an hour later or earlier.
        let mut moved_offsets: Vec<i64> =
            was.offsets_ms.iter().map(|o| (o + shift).rem_euclid(was.period_ms)).collect();
        moved_offsets.sort_unstable();
        for cut in first_cut..starts.len() {
            let mut moved: Vec<EpochMs> =
                starts[..cut].iter().map(|t| t + shift).chain(starts[cut..].iter().copied()).collect();
            moved.sort_unstable();
            moved.dedup();
            // Since the change, every start came at a moved slot and none at an old one, every
            // due time of the moved slots had its start, and the old slots were due at least
            // twice (one start an hour late is a late start, not a change of clocks).
            let since_change = &starts[cut..];
            let old_due = super::slots::due_times(&was, starts[cut] - was.early_ms, now - was.grace_ms);
            if old_due.len() >= 2
                && let Some(candidate) = best_fit(&moved, now, settings)
                && candidate.period_ms == was.period_ms
                && candidate.offsets_ms == moved_offsets
                && since_change.iter().all(|&t| lands_in(&candidate, t) && !lands_in(&was, t))
                && super::slots::missed(&candidate, starts, starts[cut] - HOUR_MS, now).is_empty()
            {
                return Some(candidate);
            }
        }
    }
    found
}

const HOUR_MS: i64 = 3_600_000;

/// Whether a start at `t` falls in one of `schedule`'s slots (from early to grace).
fn lands_in(schedule: &Schedule, t: EpochMs) -> bool {
    let due = super::slots::due_times(schedule, t - schedule.grace_ms, t + schedule.early_ms);
    due.iter().any(|&d| t >= d - schedule.early_ms && t <= d + schedule.grace_ms)
}

/// The best-fitting schedule of `starts` (sorted, distinct), if any period fits.
/// Clock periods are tried first (cron schedules are clock times); the median gap between starts
/// only when none fits. Of the fits, the fewest slots a day win, then the smaller lateness (two
/// slots at 02:00 and 14:30 rather than one every 12 h that is up to 30 min late), then the
/// shorter period.
fn best_fit(starts: &[EpochMs], now: EpochMs, settings: &LearnSettings) -> Option<Schedule> {
    let best = |periods: &mut dyn Iterator<Item = i64>| {
        periods.filter_map(|period| fit(period, starts, now, settings)).min_by(|a, b| {
            a.slots_per_day()
                .total_cmp(&b.slots_per_day())
                .then(a.largest_lateness_ms.cmp(&b.largest_lateness_ms))
                .then(a.period_ms.cmp(&b.period_ms))
        })
    };
    if let Some(schedule) = best(&mut CLOCK_PERIODS_MIN.iter().map(|m| m * MINUTE_MS)) {
        return Some(schedule);
    }
    let gap = median_gap(starts)?;
    let gap = (gap + MINUTE_MS / 2) / MINUTE_MS * MINUTE_MS;
    if !(5 * MINUTE_MS..=7 * MS_PER_DAY).contains(&gap) {
        return None;
    }
    best(&mut std::iter::once(gap))
}

fn median_gap(starts: &[EpochMs]) -> Option<i64> {
    let mut gaps: Vec<i64> = starts.windows(2).map(|pair| pair[1] - pair[0]).collect();
    if gaps.is_empty() {
        return None;
    }
    let middle = gaps.len() / 2;
    Some(*gaps.select_nth_unstable(middle).1)
}

/// One slot while fitting: its due offset, and each start's due time and lateness.
struct Slot {
    offset: i64,
    /// (due time, lateness) of each of its starts, by start.
    members: Vec<(EpochMs, i64)>,
}

impl Slot {
    fn hits(&self) -> Vec<EpochMs> {
        let mut due: Vec<EpochMs> = self.members.iter().map(|&(due, _)| due).collect();
        due.dedup();
        due
    }
}

/// The schedule with period `period` that `starts` (sorted) show, if it fits.
fn fit(period: i64, starts: &[EpochMs], now: EpochMs, settings: &LearnSettings) -> Option<Schedule> {
    if cannot_fit(period, split_of(period), starts, settings.min_explained) {
        return None;
    }
    fit_clusters(period, starts, now, settings)
}

/// [`fit`] past its shortcut: the starts' clusters, each tried as a slot.
fn fit_clusters(period: i64, starts: &[EpochMs], now: EpochMs, settings: &LearnSettings) -> Option<Schedule> {
    let mut slots = cluster(period, starts)?;
    let total = starts.len();
    // Clusters too thin to be slots are starts out of schedule (re-runs, ad-hoc runs).
    slots.retain(|slot| slot.hits().len() >= settings.min_hits_per_slot as usize);
    let daily = MS_PER_DAY % period == 0;
    let from = starts[0];
    let hits: Vec<Vec<EpochMs>> = slots.iter().map(Slot::hits).collect();
    // A due time explains one start: more starts in one slot are re-runs or a busy type's
    // stream, not a schedule.
    let mut explained = 0;
    let mut kept: Vec<(usize, Weekdays, u32)> = Vec::new();
    for (index, slot) in slots.iter().enumerate() {
        let largest = slot.members.iter().map(|&(_, late)| late).max().unwrap_or(0);
        let until = now - largest - settings.tick_ms;
        let expected = slot_due_times(period, slot.offset, from, until);
        let days = if daily { days_run(&expected, &hits[index]) } else { Some(Weekdays::EVERY_DAY) };
        let Some(days) = days else { continue };
        let expected: Vec<EpochMs> =
            expected.into_iter().filter(|&due| !daily || days.includes(due)).collect();
        // The type ran since (any start of it outside this slot, a new slot's included).
        let others_ran_since = |after: EpochMs| {
            let own: &[(EpochMs, i64)] = &slot.members;
            starts[starts.partition_point(|&t| t <= after)..]
                .iter()
                .any(|&t| !own.iter().any(|&(due, late)| due + late == t))
        };
        if was_dropped(&expected, &hits[index], others_ran_since) {
            explained += hits[index].len();
            continue;
        }
        let on_time = expected.iter().filter(|due| hits[index].binary_search(due).is_ok()).count();
        if expected.is_empty() || (on_time as f64) < settings.min_coverage * expected.len() as f64 {
            // Not a slot: a few starts that happen to fall together (late runs, re-runs).
            continue;
        }
        explained += hits[index].len();
        kept.push((index, days, on_time as u32));
    }
    if kept.is_empty() || (explained as f64) < settings.min_explained * total as f64 {
        return None;
    }
    let lateness: Vec<i64> =
        kept.iter().flat_map(|&(index, _, _)| slots[index].members.iter().map(|&(_, late)| late)).collect();
    let largest = lateness.iter().copied().max().unwrap_or(0);
    let grace = largest + (largest / 4).max(settings.tick_ms);
    let offsets: Vec<i64> = kept.iter().map(|&(index, _, _)| slots[index].offset).collect();
    let spacing = min_spacing(period, &offsets);
    if grace >= spacing {
        return None;
    }
    let mut weekdays = kept[0].1;
    for &(_, days, _) in &kept[1..] {
        weekdays = weekdays.union(days);
    }
    Some(Schedule {
        period_ms: period,
        offsets_ms: offsets,
        weekdays,
        grace_ms: grace,
        early_ms: (spacing / 4).min(5 * MINUTE_MS),
        typical_lateness_ms: median(&lateness),
        largest_lateness_ms: largest,
        evidence: kept.iter().map(|&(_, _, on_time)| on_time).sum(),
    })
}

/// One slot's due times in `[from, until]`, every day.
fn slot_due_times(period: i64, offset: i64, from: EpochMs, until: EpochMs) -> Vec<EpochMs> {
    let one = Schedule {
        period_ms: period,
        offsets_ms: vec![offset],
        weekdays: Weekdays::EVERY_DAY,
        grace_ms: 0,
        early_ms: 0,
        typical_lateness_ms: 0,
        largest_lateness_ms: 0,
        evidence: 0,
    };
    super::slots::due_times(&one, from, until)
}

/// The starts' slots in `period`: clusters of their phases on the circle, split at gaps wider
/// than a twelfth of the period (between 1 and 30 minutes). `None` when no gap splits them (the
/// phases cover the circle: no slot) or a cluster spans half the period.
fn cluster(period: i64, starts: &[EpochMs]) -> Option<Vec<Slot>> {
    let split = split_of(period);
    let mut phased: Vec<(i64, EpochMs)> = starts.iter().map(|&t| (t.rem_euclid(period), t)).collect();
    phased.sort_unstable();
    let n = phased.len();
    let gap_after = |i: usize| {
        let next = if i + 1 == n { phased[0].0 + period } else { phased[i + 1].0 };
        next - phased[i].0
    };
    // Begin just after a splitting gap, so that a cluster across the period's start stays whole.
    let boundary = (0..n).find(|&i| gap_after(i) > split)?;
    let mut slots = Vec::new();
    let mut current: Vec<(i64, EpochMs)> = Vec::new();
    for step in 1..=n {
        let i = (boundary + step) % n;
        current.push(phased[i]);
        if gap_after(i) > split {
            slots.push(slot_of(period, &current)?);
            current.clear();
        }
    }
    slots.sort_by_key(|slot| slot.offset);
    Some(slots)
}

/// Whether no schedule of `period` can fit `starts` (sorted), found in one pass without sorting
/// (most types are irregular, and the learner tries every period every night). Phases are put in
/// cells of half a split: a gap wider than a split holds a whole empty cell, so the clusters are
/// at most the runs of empty cells (none: the phases cover the circle, no slot), and a slot
/// explains at most one start per period in the span — too few clusters cannot explain
/// `min_explained` of the starts.
fn cannot_fit(period: i64, split: i64, starts: &[EpochMs], min_explained: f64) -> bool {
    let width = (split / 2).max(1);
    // The last cell is narrower when the period is not a whole number of cells.
    let cells = usize::try_from((period + width - 1) / width).unwrap_or(usize::MAX);
    if cells > 4_096 || starts.is_empty() {
        return false;
    }
    // A bit a cell, on the stack: this runs for every period, every window, every night.
    let mut seen = [0u64; 64];
    for &t in starts {
        let cell = (t.rem_euclid(period) / width) as usize;
        seen[cell / 64] |= 1 << (cell % 64);
    }
    let occupied = |cell: usize| seen[cell / 64] & (1 << (cell % 64)) != 0;
    let empty_runs = (0..cells).filter(|&i| !occupied(i) && occupied((i + cells - 1) % cells)).count();
    let periods_spanned = (starts[starts.len() - 1] - starts[0]) / period + 2;
    let explainable = (empty_runs as i64 * periods_spanned) as f64;
    explainable < min_explained * starts.len() as f64
}

/// The gap between phases that separates two slots: a twelfth of the period, 1 to 30 minutes.
fn split_of(period: i64) -> i64 {
    (period / 12).clamp(MINUTE_MS, 30 * MINUTE_MS)
}

/// A cluster's slot: due at its first phase, to the minute.
fn slot_of(period: i64, cluster: &[(i64, EpochMs)]) -> Option<Slot> {
    let first = cluster[0].0;
    let offset = first / MINUTE_MS * MINUTE_MS;
    let mut members: Vec<(EpochMs, i64)> = cluster
        .iter()
        .map(|&(_, t)| {
            let due = t - (t - offset).rem_euclid(period);
            (due, t - due)
        })
        .collect();
    if members.iter().any(|&(_, late)| late * 2 > period) {
        return None;
    }
    members.sort_unstable();
    Some(Slot { offset, members })
}

/// The shortest time between two slots' due times (the period itself for one slot).
fn min_spacing(period: i64, offsets: &[i64]) -> i64 {
    let wrap = offsets[0] + period - offsets[offsets.len() - 1];
    offsets.windows(2).map(|pair| pair[1] - pair[0]).chain([wrap]).min().unwrap_or(period).max(1)
}

/// The weekdays on which most of a slot's due times (`expected`, every day) had a start
/// (`hits`); `None` when there are none. A weekday the history has no due time on counts as run
/// only when every weekday it shows is.
fn days_run(expected: &[EpochMs], hits: &[EpochMs]) -> Option<Weekdays> {
    let mut due = [0u32; 7];
    let mut hit = [0u32; 7];
    for &at in expected {
        due[Weekdays::weekday_of(at) as usize] += 1;
        if hits.binary_search(&at).is_ok() {
            hit[Weekdays::weekday_of(at) as usize] += 1;
        }
    }
    let runs = |d: usize| due[d] > 0 && hit[d] * 2 >= due[d];
    let every_seen_day_runs = (0..7).filter(|&d| due[d] > 0).all(runs);
    let bits = (0..7)
        .filter(|&d| if due[d] == 0 { every_seen_day_runs } else { runs(d) })
        .fold(0u8, |bits, d| bits | (1 << d));
    Weekdays::from_bits(bits)
}

/// A slot the type stopped running: its last two due times had no start, while the type ran
/// since the first of them (so this is not a gap in everything: a holiday, an outage).
fn was_dropped(expected: &[EpochMs], hits: &[EpochMs], others_ran_since: impl Fn(EpochMs) -> bool) -> bool {
    let [.., before_last, last] = expected else { return false };
    let missed = |due: &EpochMs| hits.binary_search(due).is_err();
    missed(before_last) && missed(last) && others_ran_since(*before_last)
}

fn median(values: &[i64]) -> i64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        /// The shortcut refuses only periods the full fit refuses too.
        #[test]
        fn a_period_found_hopeless_is_one_the_full_fit_refuses(
            period_index in 0usize..CLOCK_PERIODS_MIN.len(),
            mut starts in proptest::collection::vec(0i64..20 * MS_PER_DAY, 5..300),
            regular in 0usize..3,
        ) {
            let period = CLOCK_PERIODS_MIN[period_index] * MINUTE_MS;
            // Some cases on a clock, so that fits happen at all.
            if regular > 0 {
                starts = (0..starts.len() as i64).map(|i| MONDAY + i * period + (starts[i as usize] % 60_000)).collect();
            }
            starts.sort_unstable();
            starts.dedup();
            let settings = LearnSettings::default();
            let now = starts[starts.len() - 1] + MS_PER_DAY;
            if cannot_fit(period, split_of(period), &starts, settings.min_explained) {
                prop_assert!(fit_clusters(period, &starts, now, &settings).is_none());
            }
        }
    }

    use super::*;
    use crate::time::MS_PER_HOUR;

    /// 2024-01-01 (a Monday), 00:00 UTC.
    const MONDAY: EpochMs = 19_723 * MS_PER_DAY;
    const NOW: EpochMs = MONDAY + 28 * MS_PER_DAY;

    /// A small deterministic generator: uniform in [0, 1).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }

        /// A lateness up to `max_minutes`, most of them short.
        fn lateness(&mut self, max_minutes: f64) -> i64 {
            (self.next().powi(3) * max_minutes * MINUTE_MS as f64) as i64
        }
    }

    /// Starts due at `offsets` (ms into each day) on `days` over the four weeks before NOW, each
    /// late by up to `max_late_min` minutes.
    fn daily_starts(offsets: &[i64], days: Weekdays, max_late_min: f64, seed: u64) -> Vec<EpochMs> {
        let mut rng = Lcg(seed);
        let mut starts = Vec::new();
        for day in 0..28 {
            let midnight = MONDAY + day * MS_PER_DAY;
            if !days.includes(midnight) {
                continue;
            }
            for &offset in offsets {
                let start = midnight + offset + rng.lateness(max_late_min);
                if start < NOW {
                    starts.push(start);
                }
            }
        }
        starts
    }

    fn learned(starts: &[EpochMs]) -> Schedule {
        match learn(starts, NOW, &LearnSettings::default()) {
            Learned::Scheduled(schedule) => schedule,
            other => panic!("expected a schedule, got {other:?}"),
        }
    }

    #[test]
    fn a_daily_job_is_learned_at_its_time_with_a_grace_above_its_usual_lateness() {
        let schedule =
            learned(&daily_starts(&[2 * MS_PER_HOUR + 10 * MINUTE_MS], Weekdays::EVERY_DAY, 25.0, 1));
        assert_eq!(
            (schedule.period_ms, schedule.offsets_ms.as_slice()),
            (MS_PER_DAY, &[130 * MINUTE_MS][..])
        );
        assert_eq!(schedule.weekdays, Weekdays::EVERY_DAY);
        assert!(schedule.grace_ms >= schedule.largest_lateness_ms + 10 * MINUTE_MS, "{schedule:?}");
        assert!(schedule.grace_ms <= 40 * MINUTE_MS, "{schedule:?}");
        assert_eq!(schedule.to_string(), "daily at 02:10 UTC");
    }

    #[test]
    fn a_weekday_job_and_a_monday_job_are_learned_with_their_days() {
        let weekdays = learned(&daily_starts(&[6 * MS_PER_HOUR], Weekdays::MONDAY_TO_FRIDAY, 3.0, 2));
        assert_eq!(weekdays.weekdays, Weekdays::MONDAY_TO_FRIDAY);
        assert_eq!(weekdays.to_string(), "Mon–Fri at 06:00 UTC");
        let mondays = Weekdays::from_bits(1).unwrap();
        let weekly =
            learn(&daily_starts(&[6 * MS_PER_HOUR], mondays, 3.0, 3), NOW, &LearnSettings::default());
        // Four Mondays are too few due times to trust (five are needed).
        assert!(matches!(weekly, Learned::Unscheduled(_)), "{weekly:?}");
        let longer = LearnSettings { look_back_ms: 42 * MS_PER_DAY, ..LearnSettings::default() };
        let mut six_mondays = daily_starts(&[6 * MS_PER_HOUR], mondays, 3.0, 3);
        six_mondays
            .extend([MONDAY - 7 * MS_PER_DAY + 6 * MS_PER_HOUR, MONDAY - 14 * MS_PER_DAY + 6 * MS_PER_HOUR]);
        let Learned::Scheduled(weekly) = learn(&six_mondays, NOW, &longer) else { panic!() };
        assert_eq!(weekly.to_string(), "Mondays at 06:00 UTC");
    }

    #[test]
    fn every_three_hours_at_a_quarter_past_is_one_slot_every_three_hours() {
        let offsets: Vec<i64> = (0..8).map(|i| i * 3 * MS_PER_HOUR + 15 * MINUTE_MS).collect();
        let schedule = learned(&daily_starts(&offsets, Weekdays::EVERY_DAY, 4.0, 4));
        assert_eq!(
            (schedule.period_ms, schedule.offsets_ms.as_slice()),
            (3 * MS_PER_HOUR, &[15 * MINUTE_MS][..])
        );
        assert_eq!(schedule.to_string(), "every 3 h at :15 from 00:15 UTC");
    }

    #[test]
    fn twice_a_day_at_uneven_times_is_two_daily_slots() {
        let schedule = learned(&daily_starts(
            &[2 * MS_PER_HOUR, 14 * MS_PER_HOUR + 30 * MINUTE_MS],
            Weekdays::EVERY_DAY,
            5.0,
            5,
        ));
        assert_eq!(schedule.period_ms, MS_PER_DAY);
        assert_eq!(schedule.offsets_ms, vec![2 * MS_PER_HOUR, 14 * MS_PER_HOUR + 30 * MINUTE_MS]);
        assert_eq!(schedule.to_string(), "daily at 02:00, 14:30 UTC");
    }

    #[test]
    fn a_rate_that_divides_no_day_is_learned_from_the_gap_between_starts() {
        let mut rng = Lcg(6);
        let starts: Vec<EpochMs> = (0..400)
            .map(|i| MONDAY + 7 * MINUTE_MS + i * 100 * MINUTE_MS + rng.lateness(1.0))
            .filter(|&t| t < NOW)
            .collect();
        let schedule = learned(&starts);
        assert_eq!(schedule.period_ms, 100 * MINUTE_MS);
        assert_eq!(schedule.to_string(), "every 100 min");
    }

    #[test]
    fn starts_at_random_times_are_unscheduled() {
        let mut rng = Lcg(7);
        let starts: Vec<EpochMs> =
            (0..300).map(|_| MONDAY + (rng.next() * 28.0 * MS_PER_DAY as f64) as i64).collect();
        assert_eq!(
            learn(&starts, NOW, &LearnSettings::default()),
            Learned::Unscheduled(Unscheduled::Irregular)
        );
        // Commit-triggered CI: bursts in working hours on weekdays.
        let mut ci = Vec::new();
        for day in 0..28 {
            let midnight = MONDAY + day * MS_PER_DAY;
            if Weekdays::MONDAY_TO_FRIDAY.includes(midnight) {
                for _ in 0..(3.0 + rng.next() * 12.0) as usize {
                    ci.push(midnight + 8 * MS_PER_HOUR + (rng.next() * 10.0 * MS_PER_HOUR as f64) as i64);
                }
            }
        }
        assert_eq!(learn(&ci, NOW, &LearnSettings::default()), Learned::Unscheduled(Unscheduled::Irregular));
    }

    #[test]
    fn a_few_days_of_history_or_a_few_starts_are_not_trusted() {
        let recent: Vec<EpochMs> = (0..4).map(|d| NOW - d * MS_PER_DAY - 22 * MS_PER_HOUR).collect();
        assert_eq!(
            learn(&recent, NOW, &LearnSettings::default()),
            Learned::Unscheduled(Unscheduled::TooFewStarts { starts: 4 })
        );
        let hourly: Vec<EpochMs> = (1..=72).map(|h| NOW - h * MS_PER_HOUR).collect();
        assert!(matches!(
            learn(&hourly, NOW, &LearnSettings::default()),
            Learned::Unscheduled(Unscheduled::TooShortHistory { .. })
        ));
    }

    #[test]
    fn re_runs_by_hand_and_a_holiday_gap_do_not_change_what_is_learned() {
        let mut starts = daily_starts(&[3 * MS_PER_HOUR], Weekdays::EVERY_DAY, 10.0, 8);
        // A four-day break in the middle, and two re-runs by hand in the afternoon.
        starts.retain(|&t| !(MONDAY + 12 * MS_PER_DAY..MONDAY + 16 * MS_PER_DAY).contains(&t));
        starts.extend([
            MONDAY + 5 * MS_PER_DAY + 15 * MS_PER_HOUR,
            MONDAY + 20 * MS_PER_DAY + 16 * MS_PER_HOUR,
        ]);
        let schedule = learned(&starts);
        assert_eq!(
            (schedule.period_ms, schedule.offsets_ms.as_slice()),
            (MS_PER_DAY, &[3 * MS_PER_HOUR][..])
        );
    }

    #[test]
    fn a_schedule_that_drops_a_slot_is_relearned_within_days() {
        let offsets = [2 * MS_PER_HOUR, 10 * MS_PER_HOUR, 18 * MS_PER_HOUR];
        let mut starts = daily_starts(&offsets, Weekdays::EVERY_DAY, 5.0, 9);
        // Three runs a day become two three days before now: 18:00 stops.
        let change = NOW - 3 * MS_PER_DAY;
        starts.retain(|&t| t < change || t.rem_euclid(MS_PER_DAY) < 17 * MS_PER_HOUR);
        // Once the two others have run after its second miss, it is dropped.
        starts.push(NOW + 2 * MS_PER_HOUR);
        let Learned::Scheduled(schedule) = learn(&starts, NOW + 3 * MS_PER_HOUR, &LearnSettings::default())
        else {
            panic!()
        };
        assert_eq!(schedule.offsets_ms, vec![2 * MS_PER_HOUR, 10 * MS_PER_HOUR]);
        // The day after the change, the last slot has missed only once: still expected.
        let day_after = learn(&starts, change + MS_PER_DAY, &LearnSettings::default());
        let Learned::Scheduled(day_after) = day_after else { panic!("{day_after:?}") };
        assert_eq!(day_after.slots_per_day(), 3.0, "{day_after}");
    }

    #[test]
    fn a_local_time_cron_job_is_followed_across_a_daylight_saving_change_within_a_day() {
        // 01:05 and 16:05 UTC until the clocks change, then an hour later in UTC.
        let change = NOW - 2 * MS_PER_DAY + 12 * MS_PER_HOUR;
        let mut starts =
            daily_starts(&[65 * MINUTE_MS, 16 * MS_PER_HOUR + 5 * MINUTE_MS], Weekdays::EVERY_DAY, 0.2, 11);
        for start in &mut starts {
            if *start >= change {
                *start += MS_PER_HOUR;
            }
        }
        let schedule = learned(&starts);
        assert_eq!(
            schedule.offsets_ms,
            vec![125 * MINUTE_MS, 17 * MS_PER_HOUR + 5 * MINUTE_MS],
            "{schedule:?}"
        );
        assert!(
            super::super::slots::missed(&schedule, &starts, change, NOW).is_empty(),
            "nothing missed since"
        );
    }

    #[test]
    fn a_job_that_moves_to_another_time_is_relearned_from_the_recent_week() {
        let mut starts = daily_starts(&[2 * MS_PER_HOUR], Weekdays::EVERY_DAY, 5.0, 10);
        let change = NOW - 8 * MS_PER_DAY;
        starts.retain(|&t| t < change);
        starts.extend((0..8).map(|d| change + d * MS_PER_DAY + 5 * MS_PER_HOUR));
        let schedule = learned(&starts);
        assert_eq!(schedule.offsets_ms, vec![5 * MS_PER_HOUR]);
    }
}
