//! Missed starts on the local endpoint: a schedule learned by the nightly job from ingested
//! starts, a type that stops starting paged by the checker, escalated once, and resolved by a
//! late start.

use super::*;

/// "export" starts daily at about 02:05 UTC (a minute or two late), for two weeks before
/// `NIGHT`; "adhoc" starts whenever someone runs it.
pub(crate) async fn export_history(stack: &Stack) {
    for day in 1..=14i64 {
        let start = NIGHT - day * MS_PER_DAY + 2 * MS_PER_HOUR + (5 * 60 + (day % 3) * 40) * S;
        run(stack, "export", &format!("export-{day}"), start, start + 300 * S, "SUCCEEDED").await;
        let whenever = NIGHT - day * MS_PER_DAY + ((day * 7_919) % 86_000) * S;
        run(stack, "adhoc", &format!("adhoc-{day}"), whenever, whenever + 60 * S, "SUCCEEDED").await;
    }
}

fn missed_bodies(received: &[Value]) -> Vec<Value> {
    received.iter().map(message).collect()
}

#[tokio::test]
async fn a_scheduled_type_that_stops_starting_is_paged_and_a_late_start_resolves_it() {
    let stack = Stack::new().await;
    export_history(&stack).await;
    let night = nightly(&stack, NIGHT + MS_PER_HOUR).await;
    assert_eq!(night.schedules, 1, "export is scheduled, adhoc is not: {night:?}");

    // Within its grace nothing is said; past it, one warning.
    let quiet = check(&stack, NIGHT + MS_PER_HOUR + 10 * 60 * S, "tick-1").await;
    assert_eq!(quiet.missed_published, 0, "{quiet:?}");
    let paged = check(&stack, NIGHT + 3 * MS_PER_HOUR, "tick-2").await;
    assert_eq!((paged.missed_published, paged.missed.overdue), (1, 1), "{paged:?}");
    let received = stack.received().await;
    assert_eq!(received.len(), 1);
    let envelope = &received[0];
    assert_eq!(envelope["MessageAttributes"]["kind"]["Value"], "missed");
    assert_eq!(envelope["MessageAttributes"]["severity"]["Value"], "warning");
    let subject = envelope["Subject"].as_str().unwrap();
    assert_eq!(subject, "[Overrun WARNING] export did not start: due 2024-10-04 02:05 UTC");
    let body = message(envelope);
    assert_eq!(body["schedule"], "daily at 02:05 UTC");
    assert_eq!(body["incident"], "export/missed-20241004T0205Z");
    assert_eq!(body["alert_id"], "export/missed-20241004T0205Z/warning");
    assert_eq!(body["last_start"], ((NIGHT - MS_PER_DAY + 2 * MS_PER_HOUR + 340 * S) / 1_000) as f64);

    // The next tick sends nothing new; the late start resolves it, saying how late.
    let again = check(&stack, NIGHT + 3 * MS_PER_HOUR + 600 * S, "tick-3").await;
    assert_eq!(again.missed_published, 0);
    assert!(stack.received().await.is_empty());
    let late = NIGHT + 3 * MS_PER_HOUR + 15 * 60 * S;
    ingest(&task_event("export", "export-0", "STARTED", late), &stack.adapters.runs).await.unwrap();
    let resolved = check(&stack, late + 5 * 60 * S, "tick-4").await;
    assert_eq!(resolved.resolved_published, 1, "{resolved:?}");
    let bodies = missed_bodies(&stack.received().await);
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["kind"], "resolved");
    assert_eq!(bodies[0]["incident"], "export/missed-20241004T0205Z");
    assert_eq!(bodies[0]["came"], "late");
    assert_eq!(bodies[0]["late_by_s"], 4_200.0);

    // Resolved once; the next day's start on time keeps it quiet.
    ingest(&task_event("export", "export-0", "SUCCEEDED", late + 300 * S), &stack.adapters.runs)
        .await
        .unwrap();
    let next_start = NIGHT + MS_PER_DAY + 2 * MS_PER_HOUR + 300 * S;
    run(&stack, "export", "export-next", next_start, next_start + 300 * S, "SUCCEEDED").await;
    let next_day = check(&stack, NIGHT + MS_PER_DAY + 3 * MS_PER_HOUR, "tick-5").await;
    assert_eq!((next_day.missed_published, next_day.resolved_published, next_day.missed.overdue), (0, 0, 0));
    assert!(stack.received().await.is_empty());
}

#[tokio::test]
async fn a_second_missed_start_escalates_the_same_incident_and_a_third_pages_no_more() {
    let stack = Stack::new().await;
    export_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    for day in 0..3 {
        check(&stack, NIGHT + day * MS_PER_DAY + 3 * MS_PER_HOUR, &format!("tick-{day}")).await;
    }
    let bodies = missed_bodies(&stack.received().await);
    let levels: Vec<(&str, &str)> =
        bodies.iter().map(|b| (b["severity"].as_str().unwrap(), b["incident"].as_str().unwrap())).collect();
    assert_eq!(
        levels,
        [("warning", "export/missed-20241004T0205Z"), ("critical", "export/missed-20241004T0205Z")],
        "one incident, escalated once"
    );
    assert_eq!(bodies[1]["missed"], 2.0);
    let report = check(&stack, NIGHT + 3 * MS_PER_DAY + 3 * MS_PER_HOUR, "tick-later").await;
    assert_eq!((report.missed.overdue, report.missed.stopped_paging), (1, 1), "{report:?}");
}

#[tokio::test]
async fn an_unscheduled_type_is_never_reported_missed() {
    let stack = Stack::new().await;
    export_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    let start = NIGHT + 2 * MS_PER_HOUR + 300 * S;
    run(&stack, "export", "export-0", start, start + 300 * S, "SUCCEEDED").await;
    for hour in 0..24 {
        check(&stack, NIGHT + hour * MS_PER_HOUR, &format!("tick-{hour}")).await;
    }
    let received = stack.received().await;
    assert!(received.is_empty(), "adhoc started nothing today and is not paged: {received:?}");
}

#[tokio::test]
async fn a_declared_schedule_pages_a_type_with_no_history_and_declaring_it_unscheduled_resolves_it() {
    use overrun_core::ports::ScheduleStore;
    use overrun_core::schedule::declared::{Declared, Zone};
    use overrun_core::schedule::watched::Declaration;
    let stack = Stack::new().await;
    let task = TaskType::new("new-job").unwrap();
    let paris = Zone::named("Europe/Paris").unwrap();
    // Declared at midnight UTC: due at 03:00 Paris time (01:00 UTC in summer time), 15 minutes' grace.
    let declared = Declared::new("0 3 * * *", paris, 15 * 60 * S, NIGHT).unwrap();
    let declaration = Declaration::Scheduled(Box::new(declared));
    stack.adapters.stats.declare_schedule(&task, Some(&declaration)).await.unwrap();
    let quiet = check(&stack, NIGHT + MS_PER_HOUR + 10 * 60 * S, "tick-1").await;
    assert_eq!(quiet.missed_published, 0, "within its grace: {quiet:?}");
    let paged = check(&stack, NIGHT + MS_PER_HOUR + 20 * 60 * S, "tick-2").await;
    assert_eq!(paged.missed_published, 1, "{paged:?}");
    let bodies = missed_bodies(&stack.received().await);
    assert_eq!(bodies[0]["incident"], "new-job/missed-20241004T0100Z");
    assert_eq!(bodies[0]["schedule_from"], "declared as 0 3 * * *");
    assert_eq!(bodies[0]["schedule"], "daily at 03:00 Europe/Paris");
    let silenced = Declaration::Unscheduled { since: NIGHT + 3 * MS_PER_HOUR };
    stack.adapters.stats.declare_schedule(&task, Some(&silenced)).await.unwrap();
    let resolved = check(&stack, NIGHT + 3 * MS_PER_HOUR + 600 * S, "tick-3").await;
    assert_eq!(resolved.resolved_published, 1, "{resolved:?}");
    let bodies = missed_bodies(&stack.received().await);
    assert_eq!(
        (bodies[0]["kind"].as_str(), bodies[0]["came"].as_str()),
        (Some("resolved"), Some("unscheduled"))
    );
    let later = check(&stack, NIGHT + 2 * MS_PER_DAY + 3 * MS_PER_HOUR, "tick-4").await;
    assert_eq!((later.missed_published, later.missed.scheduled), (0, 0), "{later:?}");
}
