//! Many accounts on one deployment, through the real ingest on the local endpoint: two accounts'
//! same-named Step Functions executions are two runs whether or not task types are qualified;
//! qualified, the two accounts' state machines are two task types; an alert about a run from
//! another account says which, in its body and its SNS `account` attribute.

use overrun_core::Qualify;
use overrun_integration_tests::{HOME_ACCOUNT, HOME_REGION};
use overrun_sources::Accounts;

use super::*;

const OTHER_ACCOUNT: &str = "210987654321";
const STARTED: i64 = NOON - 2 * MS_PER_HOUR;

/// A Step Functions execution event of state machine `nightly-export`, execution
/// `exec-2025-01-31`, put in `account`.
fn execution(account: &str, status: &str, stop: Option<i64>) -> Value {
    let machine = format!("arn:aws:states:{HOME_REGION}:{account}:stateMachine:nightly-export");
    let mut detail = json!({
        "executionArn": format!("arn:aws:states:{HOME_REGION}:{account}:execution:nightly-export:exec-2025-01-31"),
        "stateMachineArn": machine,
        "name": "exec-2025-01-31",
        "status": status,
        "startDate": STARTED,
    });
    if let Some(stop) = stop {
        detail["stopDate"] = json!(stop);
    }
    json!({
        "version": "0", "id": overrun_integration_tests::unique("event"),
        "detail-type": "Step Functions Execution Status Change", "source": "aws.states",
        "account": account, "time": "2025-01-31T12:00:00Z", "region": HOME_REGION, "resources": [],
        "detail": detail,
    })
}

async fn ingest_as(stack: &Stack, accounts: &Accounts, event: &Value, now: i64) {
    let settings = NoticeSettings {
        rule: stack.config.short,
        claim: "accounts",
        now,
        policy: &stack.config.policy,
        retention_ms: i64::from(stack.config.retention_days) * MS_PER_DAY,
        clock_skew_ms: stack.config.clock_skew_ms,
        seasons: None,
    };
    handle_and_notify(event, accounts, &stack.adapters, &stack.notifier(), &settings)
        .await
        .unwrap_or_else(|error| panic!("{event}: {error}"));
}

/// Every run item: (task type, stored run id, has an end).
async fn stored_runs(stack: &Stack) -> Vec<(String, String, bool)> {
    let mut runs: Vec<_> = stack
        .scan(&stack.config.runs_table)
        .await
        .into_iter()
        .filter_map(|item| {
            let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
            Some((text("task_type")?, text("run_id")?, item.contains_key("end_ms")))
        })
        .collect();
    runs.sort();
    runs
}

fn deployment(qualify: Qualify) -> Accounts {
    Accounts { home: Some(overrun_core::Origin::new(HOME_ACCOUNT, HOME_REGION).unwrap()), qualify }
}

#[tokio::test]
async fn two_accounts_same_named_executions_are_two_runs_of_one_task_type_when_unqualified() {
    let stack = Stack::with_env(&[("OVERRUN_FALLBACK_LIMIT_S", "3600")]).await;
    let accounts = deployment(Qualify::None);
    ingest_as(&stack, &accounts, &execution(HOME_ACCOUNT, "RUNNING", None), STARTED).await;
    ingest_as(&stack, &accounts, &execution(OTHER_ACCOUNT, "RUNNING", None), STARTED).await;
    let foreign_key = format!("{OTHER_ACCOUNT}.{HOME_REGION}\u{1E}exec-2025-01-31");
    assert_eq!(
        stored_runs(&stack).await,
        vec![
            ("nightly-export".to_owned(), foreign_key.clone(), false),
            ("nightly-export".to_owned(), "exec-2025-01-31".to_owned(), false),
        ],
        "one task type, two runs: the home run keeps its bare id"
    );

    // Both overrun the fallback limit: two alerts, the foreign one saying where it ran.
    check(&stack, NOON, "tick-1").await;
    let envelopes = stack.received().await;
    let mut alerts: Vec<(Value, Value)> =
        envelopes.iter().map(|envelope| (message(envelope), envelope["MessageAttributes"].clone())).collect();
    alerts.sort_by_key(|(body, _)| body["alert_id"].as_str().unwrap_or_default().to_owned());
    assert_eq!(alerts.len(), 2, "{envelopes:?}");
    let (foreign, foreign_attributes) = &alerts[0];
    let (home, home_attributes) = &alerts[1];
    assert_eq!(home["alert_id"], "nightly-export/exec-2025-01-31/warning");
    assert_eq!((home["account"].clone(), home_attributes.get("account")), (Value::Null, None));
    assert_eq!(
        foreign["alert_id"],
        format!("nightly-export/exec-2025-01-31/from-{OTHER_ACCOUNT}.{HOME_REGION}/warning")
    );
    assert_eq!(
        (foreign["account"].as_str(), foreign["region"].as_str()),
        (Some(OTHER_ACCOUNT), Some(HOME_REGION))
    );
    assert_eq!(foreign_attributes["account"]["Value"], OTHER_ACCOUNT, "subscribers can route by account");

    // Each finish closes its own run: the other account's finish does not end the home run.
    ingest_as(&stack, &accounts, &execution(OTHER_ACCOUNT, "SUCCEEDED", Some(NOON + 60 * S)), NOON + 61 * S)
        .await;
    let runs = stored_runs(&stack).await;
    assert_eq!(
        runs.iter().map(|(_, id, ended)| (id.as_str(), *ended)).collect::<Vec<_>>(),
        vec![(foreign_key.as_str(), true), ("exec-2025-01-31", false)]
    );
}

#[tokio::test]
async fn qualified_the_two_accounts_state_machines_are_two_task_types_each_with_its_run() {
    let stack = Stack::new().await;
    let accounts = deployment(Qualify::Account);
    for account in [HOME_ACCOUNT, OTHER_ACCOUNT] {
        ingest_as(&stack, &accounts, &execution(account, "RUNNING", None), STARTED).await;
        ingest_as(&stack, &accounts, &execution(account, "SUCCEEDED", Some(NOON)), NOON + S).await;
    }
    // A redelivery changes nothing.
    ingest_as(&stack, &accounts, &execution(OTHER_ACCOUNT, "SUCCEEDED", Some(NOON)), NOON + 2 * S).await;
    assert_eq!(
        stored_runs(&stack).await,
        vec![
            (format!("nightly-export@{HOME_ACCOUNT}"), "exec-2025-01-31".to_owned(), true),
            (
                format!("nightly-export@{OTHER_ACCOUNT}"),
                format!("{OTHER_ACCOUNT}.{HOME_REGION}\u{1E}exec-2025-01-31"),
                true
            ),
        ]
    );
}

#[tokio::test]
async fn qualified_by_account_and_region_a_type_names_both() {
    let stack = Stack::new().await;
    ingest_as(
        &stack,
        &deployment(Qualify::AccountRegion),
        &execution(OTHER_ACCOUNT, "RUNNING", None),
        STARTED,
    )
    .await;
    let runs = stored_runs(&stack).await;
    assert_eq!(runs[0].0, format!("nightly-export@{OTHER_ACCOUNT}.{HOME_REGION}"));
}
