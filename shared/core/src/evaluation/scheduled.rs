//! A seeded generator of scheduled task types' starts, with the truth behind them: each type's
//! due times, which runs were deleted (never started) and how late the others came. For the
//! missed-start evaluation ([`super::missed`]) and its tests.
//!
//! The kinds are the schedules people run: cron jobs that fire within seconds (hourly, daily,
//! every 3 h at a quarter past, twice a day at uneven times, every 15 minutes), weekday-only jobs,
//! GitHub-style scheduled workflows that start 5 minutes to two hours late (heavy-tailed), jobs
//! whose schedule changes mid-history (three runs a day becoming two; a move to another hour),
//! jobs with an outage of a few days, and unscheduled types (commit-triggered bursts in working
//! hours, and runs at random times) that must never be told a start was missed.

use crate::evaluation::rng::SplitMix64;
use crate::schedule::{MINUTE_MS, Weekdays};
use crate::time::{EpochMs, MS_PER_DAY, MS_PER_HOUR};

/// What happened at one due time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Started at this time, as late as its scheduler made it.
    Started(EpochMs),
    /// Started at this time, delayed on purpose past the type's anchor grace (before its next
    /// due time): a late start to be caught, then resolved.
    Delayed(EpochMs),
    /// Never started: deleted, or an outage.
    Missing,
}

/// One type of the trace.
#[derive(Debug, Clone)]
pub struct TypeTrace {
    pub name: String,
    /// Its true due times, each with what happened (empty for unscheduled types).
    pub due: Vec<(EpochMs, Due)>,
    /// Every start, sorted (due ones and any others).
    pub starts: Vec<EpochMs>,
    /// The 99th percentile of its starts' lateness after their due time: the grace a careful
    /// operator would configure by hand.
    pub anchor_grace_ms: i64,
    /// Its due times are a quarter of its period or more apart from its lateness (hourly and daily
    /// cron jobs): the targets hold these to the higher recall.
    pub tight: bool,
    pub scheduled: bool,
}

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct ScheduledSpec {
    pub seed: u64,
    /// The trace's first day (days since the epoch; a day starts at 00:00 UTC).
    pub first_day: i64,
    pub days: i64,
    /// Copies of each kind (each with its own times and draws).
    pub per_kind: usize,
    /// Share of due runs deleted: each is a missed start to be caught.
    pub drop: f64,
    /// Share of due runs delayed past the anchor's grace, to a random time before the next due
    /// time: each is a late start to be caught.
    pub delay: f64,
}

/// How late a kind's starts come.
#[derive(Clone, Copy)]
enum Lateness {
    /// Cron on a healthy host: under `max_s` seconds.
    Cron { max_s: f64 },
    /// GitHub's scheduler: 5 min plus a heavy tail up to two hours.
    Queue,
}

impl Lateness {
    fn draw(self, rng: &mut SplitMix64) -> i64 {
        match self {
            Lateness::Cron { max_s } => (rng.unit() * max_s * 1_000.0) as i64,
            Lateness::Queue => {
                let minutes = 5.0 + 10.0 * (-(1.0 - rng.unit()).ln()).min(11.5);
                (minutes * MINUTE_MS as f64) as i64
            }
        }
    }
}

struct Kind {
    name: &'static str,
    /// Offsets within a day of its due times (before any change).
    offsets: Vec<i64>,
    days: Weekdays,
    lateness: Lateness,
    /// (day index, offsets after): the schedule changes then.
    change: Option<(i64, Vec<i64>)>,
    /// (first day, last day) of an outage: no starts.
    outage: Option<(i64, i64)>,
}

impl Kind {
    /// A start can be delayed past a careful grace and still come before the next due time
    /// (half an hour apart or more, and not a queue that is already up to two hours late).
    fn delayable(&self) -> bool {
        kind_period(&self.offsets) >= 40 * MINUTE_MS && matches!(self.lateness, Lateness::Cron { .. })
    }
}

fn kinds(rng: &mut SplitMix64, days: i64) -> Vec<Kind> {
    let minute = |rng: &mut SplitMix64| (rng.below(60) as i64) * MINUTE_MS;
    let hour = |rng: &mut SplitMix64| (rng.below(24) as i64) * MS_PER_HOUR;
    let cron = Lateness::Cron { max_s: 20.0 };
    let every = |period_min: i64, at: i64| {
        (0..(1440 / period_min)).map(|i| at + i * period_min * MINUTE_MS).collect()
    };
    let daily_at = hour(rng) + minute(rng);
    let quarter = minute(rng) % (15 * MINUTE_MS);
    let three_hourly = (rng.below(180) as i64) * MINUTE_MS;
    let uneven = vec![
        hour(rng) % (12 * MS_PER_HOUR) + minute(rng),
        12 * MS_PER_HOUR + hour(rng) % (12 * MS_PER_HOUR) + minute(rng),
    ];
    let thrice: Vec<i64> =
        [2 * MS_PER_HOUR, 10 * MS_PER_HOUR, 18 * MS_PER_HOUR].iter().map(|o| o + minute(rng)).collect();
    let moved_from = hour(rng) % (12 * MS_PER_HOUR);
    let outage_start = days / 2 + rng.below(5) as i64;
    vec![
        Kind {
            name: "daily-cron",
            offsets: vec![daily_at],
            days: Weekdays::EVERY_DAY,
            lateness: cron,
            change: None,
            outage: None,
        },
        Kind {
            name: "hourly-cron",
            offsets: every(60, minute(rng)),
            days: Weekdays::EVERY_DAY,
            lateness: cron,
            change: None,
            outage: None,
        },
        Kind {
            name: "every-15-min",
            offsets: every(15, quarter),
            days: Weekdays::EVERY_DAY,
            lateness: Lateness::Cron { max_s: 5.0 },
            change: None,
            outage: None,
        },
        Kind {
            name: "every-3-h",
            offsets: every(180, three_hourly),
            days: Weekdays::EVERY_DAY,
            lateness: cron,
            change: None,
            outage: None,
        },
        Kind {
            name: "twice-daily",
            offsets: uneven,
            days: Weekdays::EVERY_DAY,
            lateness: cron,
            change: None,
            outage: None,
        },
        Kind {
            name: "weekday-daily",
            offsets: vec![hour(rng) + minute(rng)],
            days: Weekdays::MONDAY_TO_FRIDAY,
            lateness: cron,
            change: None,
            outage: None,
        },
        Kind {
            name: "github-daily",
            offsets: vec![hour(rng)],
            days: Weekdays::EVERY_DAY,
            lateness: Lateness::Queue,
            change: None,
            outage: None,
        },
        Kind {
            name: "github-6-hourly",
            offsets: every(360, minute(rng)),
            days: Weekdays::EVERY_DAY,
            lateness: Lateness::Queue,
            change: None,
            outage: None,
        },
        Kind {
            name: "three-then-two",
            offsets: thrice.clone(),
            days: Weekdays::EVERY_DAY,
            lateness: cron,
            change: Some((days / 2, thrice[..2].to_vec())),
            outage: None,
        },
        Kind {
            name: "moved",
            offsets: vec![moved_from],
            days: Weekdays::EVERY_DAY,
            lateness: cron,
            change: Some((days / 2, vec![moved_from + 9 * MS_PER_HOUR])),
            outage: None,
        },
        Kind {
            name: "outage",
            offsets: vec![daily_at],
            days: Weekdays::EVERY_DAY,
            lateness: cron,
            change: None,
            outage: Some((outage_start, outage_start + 2)),
        },
    ]
}

/// The trace `spec` asks for: every kind `per_kind` times, then as many unscheduled types.
pub fn generate(spec: &ScheduledSpec) -> Vec<TypeTrace> {
    let mut rng = SplitMix64::new(spec.seed);
    let mut traces = Vec::new();
    for copy in 0..spec.per_kind {
        for kind in kinds(&mut rng, spec.days) {
            traces.push(scheduled(&kind, copy, spec, &mut rng));
        }
        traces.push(commit_triggered(copy, spec, &mut rng));
        traces.push(random_times(copy, spec, &mut rng));
    }
    traces
}

fn scheduled(kind: &Kind, copy: usize, spec: &ScheduledSpec, rng: &mut SplitMix64) -> TypeTrace {
    let mut due = Vec::new();
    let mut lateness = Vec::new();
    for day in 0..spec.days {
        let midnight = (spec.first_day + day) * MS_PER_DAY;
        if !kind.days.includes(midnight) {
            continue;
        }
        let offsets = match &kind.change {
            Some((from, after)) if day >= *from => after,
            _ => &kind.offsets,
        };
        let out = kind.outage.is_some_and(|(first, last)| (first..=last).contains(&day));
        for &offset in offsets {
            let at = midnight + offset;
            let late = kind.lateness.draw(rng);
            lateness.push(late);
            let draw = rng.unit();
            let what = if out || draw < spec.drop {
                Due::Missing
            } else if draw < spec.drop + spec.delay && kind.delayable() {
                // Placed once the anchor's grace is known, below.
                Due::Delayed(rng.unit().to_bits() as i64)
            } else {
                Due::Started(at + late)
            };
            due.push((at, what));
        }
    }
    lateness.sort_unstable();
    let anchor = lateness.get(lateness.len() * 99 / 100).copied().unwrap_or(0);
    let period = kind_period(&kind.offsets);
    for (at, what) in &mut due {
        if let Due::Delayed(bits) = *what {
            // Between the anchor's grace and the next due time, leaving a tick either side.
            let share = f64::from_bits(bits as u64);
            let earliest = anchor + 20 * MINUTE_MS;
            let latest = (period - 10 * MINUTE_MS).max(earliest + MINUTE_MS);
            *what = Due::Delayed(*at + earliest + (share * (latest - earliest) as f64) as i64);
        }
    }
    // The slots a change removed are not due after it (nothing is owed there); the trace's due
    // times are the schedule in force each day.
    let mut starts: Vec<EpochMs> = due
        .iter()
        .filter_map(|&(_, what)| match what {
            Due::Started(t) | Due::Delayed(t) => Some(t),
            Due::Missing => None,
        })
        .collect();
    starts.sort_unstable();
    TypeTrace {
        name: format!("{}-{copy}", kind.name),
        due,
        starts,
        anchor_grace_ms: anchor,
        tight: lateness.last().copied().unwrap_or(0) * 4 < period,
        scheduled: true,
    }
}

/// The smallest spacing of a day's offsets (a day for one).
fn kind_period(offsets: &[i64]) -> i64 {
    let mut sorted = offsets.to_vec();
    sorted.sort_unstable();
    let wrap = sorted[0] + MS_PER_DAY - sorted[sorted.len() - 1];
    sorted.windows(2).map(|p| p[1] - p[0]).chain([wrap]).min().unwrap_or(MS_PER_DAY).max(1)
}

fn commit_triggered(copy: usize, spec: &ScheduledSpec, rng: &mut SplitMix64) -> TypeTrace {
    let mut starts = Vec::new();
    for day in 0..spec.days {
        let midnight = (spec.first_day + day) * MS_PER_DAY;
        if !Weekdays::MONDAY_TO_FRIDAY.includes(midnight) {
            continue;
        }
        for _ in 0..(2 + rng.below(14)) {
            starts.push(midnight + 7 * MS_PER_HOUR + (rng.unit() * 11.0 * MS_PER_HOUR as f64) as i64);
        }
    }
    starts.sort_unstable();
    TypeTrace {
        name: format!("ci-{copy}"),
        due: Vec::new(),
        starts,
        anchor_grace_ms: 0,
        tight: false,
        scheduled: false,
    }
}

fn random_times(copy: usize, spec: &ScheduledSpec, rng: &mut SplitMix64) -> TypeTrace {
    let span = spec.days * MS_PER_DAY;
    let count = spec.days * (1 + rng.below(6) as i64);
    let mut starts: Vec<EpochMs> =
        (0..count).map(|_| spec.first_day * MS_PER_DAY + (rng.unit() * span as f64) as i64).collect();
    starts.sort_unstable();
    TypeTrace {
        name: format!("ad-hoc-{copy}"),
        due: Vec::new(),
        starts,
        anchor_grace_ms: 0,
        tight: false,
        scheduled: false,
    }
}
