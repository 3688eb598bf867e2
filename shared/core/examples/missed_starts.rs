//! The missed-start evaluation on a generated trace, per type and overall:
//! `cargo run -p overrun-core --release --example missed_starts -- [seed] [days] [copies] [drop]`.

use overrun_core::evaluation::missed::{MissedScore, evaluate};
use overrun_core::evaluation::scheduled::{ScheduledSpec, generate};
use overrun_core::schedule::learn::LearnSettings;
use overrun_core::time::{MS_PER_DAY, TickInterval};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("-") {
        return history_from_stdin();
    }
    let arg = |i: usize, default: f64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let spec = ScheduledSpec {
        seed: arg(0, 11.0) as u64,
        first_day: 19_723,
        days: arg(1, 70.0) as i64,
        per_kind: arg(2, 3.0) as usize,
        drop: arg(3, 0.03),
        delay: arg(4, 0.02),
    };
    let traces = generate(&spec);
    let from = (spec.first_day + 14) * MS_PER_DAY;
    let to = (spec.first_day + spec.days) * MS_PER_DAY;
    let settings = LearnSettings::default();
    println!("{:<22} {:>6} {:>6} {:>6} {:>8}", "type", "owed", "caught", "false", "delay");
    for trace in &traces {
        let one = evaluate(std::slice::from_ref(trace), from, to, &settings, TickInterval::default());
        let false_alerts = one.false_scheduled + one.false_unscheduled;
        println!(
            "{:<22} {:>6} {:>6} {:>6} {:>7}m",
            trace.name,
            one.to_catch,
            one.caught,
            false_alerts,
            one.median_delay_ms() / 60_000
        );
    }
    if let Ok(name) = std::env::var("DEBUG_TYPE") {
        if let Some(t) = traces.iter().find(|t| t.name == name) {
            debug(t, from, to);
        }
    }
    let all: MissedScore = evaluate(&traces, from, to, &settings, TickInterval::default());
    println!(
        "recall {:.3} (tight {:.3}, anchor {:.3}); false per scheduled type per 30 d {:.2}; per 1,000 unscheduled type-days {:.2}; median delay {} min",
        all.recall(),
        all.recall_tight(),
        all.anchor_recall(),
        all.false_per_type_month(),
        all.false_per_thousand_unscheduled_days(),
        all.median_delay_ms() / 60_000
    );
}

#[allow(dead_code)]
fn debug(trace: &overrun_core::evaluation::scheduled::TypeTrace, from: i64, to: i64) {
    let alerts = overrun_core::evaluation::missed::replay_missed(
        &trace.starts,
        from,
        to,
        &LearnSettings::default(),
        TickInterval::default(),
    );
    for alert in &alerts {
        let nearest = trace.due.iter().min_by_key(|(d, _)| (d - alert.due).abs());
        println!(
            "alert due {} at {} truth {:?}",
            alert.due,
            alert.at,
            nearest.map(|(d, w)| (d - alert.due, *w))
        );
    }
    use overrun_core::schedule::learn::learn;
    let mut night = from;
    while night < to {
        let known = &trace.starts[..trace.starts.partition_point(|&t| t < night)];
        let learned = learn(known, night, &LearnSettings::default());
        println!("{} {:?}", (night / MS_PER_DAY) - 19_723, learned);
        night += MS_PER_DAY;
    }
}

/// A history in the replay format on standard input (`zcat trace.csv.gz | … -- -`): every "missed"
/// alert the learner would raise over it, per type, with the type-days it was watched.
fn history_from_stdin() {
    use std::collections::BTreeMap;
    use std::io::BufRead;
    let mut starts: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for line in std::io::stdin().lock().lines().skip(1).map_while(Result::ok) {
        // task_type may be quoted with commas inside: the start is the third field from the end.
        let fields: Vec<&str> = line.rsplitn(4, ',').collect();
        if fields.len() < 4 {
            continue;
        }
        let Ok(start) = fields[2].parse::<i64>() else { continue };
        let task = fields[3].rsplit_once(',').map_or(fields[3], |(task, _)| task).to_owned();
        starts.entry(task).or_default().push(start * 1_000);
    }
    let (mut alerts, mut type_days, mut scheduled) = (0usize, 0.0, 0usize);
    for (task, mut times) in starts {
        times.sort_unstable();
        let first_night = (times[0] / MS_PER_DAY + 8) * MS_PER_DAY;
        let last_night = (times[times.len() - 1] / MS_PER_DAY + 1) * MS_PER_DAY;
        if last_night <= first_night {
            continue;
        }
        type_days += (last_night - first_night) as f64 / MS_PER_DAY as f64;
        let found = overrun_core::evaluation::missed::replay_missed(
            &times,
            first_night,
            last_night,
            &LearnSettings::default(),
            TickInterval::default(),
        );
        let ever = {
            let mut night = first_night;
            let mut any = false;
            while night < last_night && !any {
                let known = &times[..times.partition_point(|&t| t < night)];
                any = matches!(
                    overrun_core::schedule::learn::learn(known, night, &LearnSettings::default()),
                    overrun_core::schedule::learn::Learned::Scheduled(_)
                );
                night += MS_PER_DAY;
            }
            any
        };
        scheduled += usize::from(ever);
        if !found.is_empty() {
            println!("{task}: {} missed-start alerts", found.len());
            if std::env::var("DEBUG_TYPE").is_ok_and(|name| name == task) {
                for alert in &found {
                    println!("  due {} s, alerted {} s", alert.due / 1_000, alert.at / 1_000);
                }
            }
        }
        alerts += found.len();
    }
    println!(
        "{alerts} alerts over {type_days:.0} type-days ({:.2} per 1,000); {scheduled} types ever learned as scheduled",
        alerts as f64 * 1_000.0 / type_days.max(1.0)
    );
}
