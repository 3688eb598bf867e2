//! Cohorts: a run judged at the pace of its cohort's finished members.

use super::*;

/// A task event of build 9.
fn in_build_9(task: &str, id: &str, state: &str, at: i64) -> Value {
    let mut event = task_event(task, id, state, at);
    event["detail"]["cohort"] = json!("build-9");
    event
}

#[tokio::test]
async fn a_run_whose_cohort_finished_half_again_slower_than_usual_is_judged_at_that_pace() {
    let stack = Stack::new().await;
    etl_history(&stack).await;
    for day in 1..=10 {
        let start = NIGHT - day * MS_PER_DAY + 3 * MS_PER_HOUR;
        run(&stack, "load", &format!("load-{day}"), start, start + (600 + 30 * (day % 10)) * S, "SUCCEEDED")
            .await;
    }
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    let notifier = stack.notifier();
    // Build 9 starts three loads and an etl 20 minutes before NOON; the loads take 1,100 s, 1.5×
    // their expected 735 s. A lone etl run starts at the same time.
    let build = NOON - 1_200 * S;
    for id in ["load-a", "load-b", "load-c"] {
        ingest_notifying(&stack, &in_build_9("load", id, "STARTED", build), &notifier, "i").await.unwrap();
        ingest_notifying(&stack, &in_build_9("load", id, "SUCCEEDED", build + 1_100 * S), &notifier, "i")
            .await
            .unwrap();
    }
    // A redelivered finish adds nothing.
    ingest_notifying(&stack, &in_build_9("load", "load-c", "SUCCEEDED", build + 1_100 * S), &notifier, "i")
        .await
        .unwrap();
    let members =
        stack.adapters.stats.cohort_members(&[overrun_core::CohortId::new("build-9").unwrap()]).await;
    let overrun_core::ports::Partial { items: members, malformed } = members.unwrap();
    assert!(malformed.is_empty());
    assert_eq!(members.values().map(Vec::len).sum::<usize>(), 3, "{members:?}");

    ingest_notifying(&stack, &in_build_9("etl", "etl-in-build", "STARTED", build), &notifier, "i")
        .await
        .unwrap();
    ingest(&task_event("etl", "etl-alone", "STARTED", build), &stack.adapters.runs).await.unwrap();

    // At NOON both etl runs have run 1,200 s, past etl's limit of ≈ 1,098 s; the one in build 9
    // is within 1.5 × that.
    let report = check(&stack, NOON, "tick").await;
    assert_eq!((report.alerts_published, report.cohorts_stretched), (1, 1), "{report:?}");
    let sent = stack.received().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(message(&sent[0])["run_id"], "etl-alone");
}

#[tokio::test]
async fn malformed_cohort_items_are_reported_and_the_good_members_still_set_the_pace() {
    use aws_sdk_dynamodb::types::AttributeValue::{N as Num, S as Str};
    let stack = Stack::new().await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    let notifier = stack.notifier();
    let build = NOON - 1_200 * S;
    for id in ["etl-a", "etl-b", "etl-c"] {
        ingest_notifying(&stack, &in_build_9("etl", id, "STARTED", build), &notifier, "i").await.unwrap();
        ingest_notifying(&stack, &in_build_9("etl", id, "SUCCEEDED", build + 1_100 * S), &notifier, "i")
            .await
            .unwrap();
    }
    ingest_notifying(&stack, &in_build_9("etl", "etl-in-build", "STARTED", build), &notifier, "i")
        .await
        .unwrap();
    // An operator's hand edits: a member whose duration is not a number, and a running run whose
    // cohort is empty.
    stack
        .dynamodb
        .update_item()
        .table_name(&stack.config.stats_table)
        .key("pk", Str("COHORT#build-9".into()))
        .key("sk", Str("#MEMBERS".into()))
        .update_expression("SET #bad = :bad")
        .expression_attribute_names("#bad", "m\u{1f}etl\u{1f}etl-bad")
        .expression_attribute_values(":bad", Str("slow".into()))
        .send()
        .await
        .unwrap();
    stack
        .dynamodb
        .put_item()
        .table_name(&stack.config.runs_table)
        .item("task_type", Str("etl".into()))
        .item("run_id", Str("etl-odd".into()))
        .item("running", Str("running".into()))
        .item("start_ms", Num(build.to_string()))
        .item("cohort", Str(String::new()))
        .send()
        .await
        .unwrap();

    let report = check(&stack, NOON, "tick").await;
    assert_eq!(report.malformed_items, 2, "{report:?}");
    // The three good members still stretch etl-in-build's limit; etl-odd, judged alone, is paged.
    assert_eq!((report.alerts_published, report.cohorts_stretched), (1, 1), "{report:?}");
    let sent = stack.received().await;
    assert_eq!(message(&sent[0])["run_id"], "etl-odd");
}
