//! Where an EventBridge event came from: every event names the account and region it was put
//! in, and a deployment that hears many accounts (a central bus) keeps that with the run.

use overrun_core::ports::TaskEvent;
use overrun_core::{Origin, Qualify};

use super::fields::{EventError, Fields, error};

/// Where the deployment is, and how it names task types from EventBridge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts {
    /// The deployment's own account and region: a run from any other keeps them in its key, so
    /// two accounts' same-named runs are two runs. `None`: no run is told apart by where it ran
    /// (loading history).
    pub home: Option<Origin>,
    /// Whether task types carry the account (and region) they ran in: `OVERRUN_QUALIFY`.
    pub qualify: Qualify,
}

/// `event` placed where its envelope says it came from: its run keeps a foreign origin, its task
/// type the qualifier `accounts` asks for.
pub(crate) fn place(
    event: TaskEvent,
    envelope: &Fields<'_>,
    accounts: &Accounts,
) -> Result<TaskEvent, EventError> {
    let origin = match (envelope.optional_string("account")?, envelope.optional_string("region")?) {
        (Some(account), Some(region)) => Some(
            Origin::new(account, region)
                .map_err(|e| error("account", format!("{account:?} in region {region:?}: {e}")))?,
        ),
        (None, None) => None,
        (Some(_), None) => return Err(error("region", "is missing, but the event names its account")),
        (None, Some(_)) => return Err(error("account", "is missing, but the event names its region")),
    };
    let qualifier = match (&origin, accounts.qualify.is_on()) {
        (_, false) => None,
        (Some(origin), true) => accounts.qualify.qualifier(origin),
        (None, true) => {
            return Err(error(
                "account",
                format!(
                    "is missing, and task types are qualified by where they ran (OVERRUN_QUALIFY={})",
                    accounts.qualify
                ),
            ));
        }
    };
    let foreign = match (&accounts.home, &origin) {
        (Some(home), Some(origin)) if home != origin => Some(origin),
        _ => None,
    };
    event.placed(foreign, qualifier.as_ref()).map_err(|e| error("detail", e.to_string()))
}

#[cfg(test)]
mod tests {
    use overrun_core::ports::{RunFinished, RunStarted};
    use serde_json::{Value, json};

    use super::*;
    use crate::events::parse_live;
    use crate::events::{STEP_FUNCTIONS_DETAIL_TYPE, TimeWindow};

    const NOW: i64 = 1_738_330_000_000; // 2025-01-31T13:26:40Z
    const WINDOW: TimeWindow = TimeWindow { now: NOW, retention_ms: 30 * 86_400_000, ahead_ms: 300_000 };

    fn execution(account: &str, region: &str) -> Value {
        json!({"version": "0", "id": "e1", "detail-type": STEP_FUNCTIONS_DETAIL_TYPE, "source": "aws.states",
            "account": account, "time": "2025-01-31T12:00:00Z", "region": region, "resources": [],
            "detail": {"executionArn": format!("arn:aws:states:{region}:{account}:execution:nightly-export:exec-2025-01-31"),
                "stateMachineArn": format!("arn:aws:states:{region}:{account}:stateMachine:nightly-export"),
                "name": "exec-2025-01-31", "status": "RUNNING", "startDate": 1_738_324_800_000_i64}})
    }

    fn started(event: &Value, accounts: &Accounts) -> RunStarted {
        match parse_live(event, WINDOW, accounts).unwrap() {
            TaskEvent::Started(started) => started,
            other => panic!("{other:?}"),
        }
    }

    fn deployment(qualify: Qualify) -> Accounts {
        Accounts { home: Some(Origin::new("111111111111", "us-east-1").unwrap()), qualify }
    }

    #[test]
    fn a_home_run_keeps_its_bare_id_and_a_foreign_run_its_origin() {
        let accounts = deployment(Qualify::None);
        let home = started(&execution("111111111111", "us-east-1"), &accounts);
        assert_eq!(
            (home.task_type.as_str(), home.run_id.stored_key().as_ref()),
            ("nightly-export", "exec-2025-01-31")
        );
        let foreign = started(&execution("222222222222", "us-east-1"), &accounts);
        assert_eq!(foreign.task_type.as_str(), "nightly-export", "unqualified: one task type");
        assert_eq!(foreign.run_id.origin().unwrap().to_string(), "222222222222.us-east-1");
        assert_ne!(foreign.run_id.stored_key(), home.run_id.stored_key(), "two runs");
        let other_region = started(&execution("111111111111", "eu-west-1"), &accounts);
        assert_eq!(other_region.run_id.origin().unwrap().region(), "eu-west-1");
    }

    #[test]
    fn qualified_task_types_carry_the_account_or_the_account_and_region() {
        let by_account = started(&execution("222222222222", "eu-west-1"), &deployment(Qualify::Account));
        assert_eq!(by_account.task_type.as_str(), "nightly-export@222222222222");
        let home = started(&execution("111111111111", "us-east-1"), &deployment(Qualify::Account));
        assert_eq!(home.task_type.as_str(), "nightly-export@111111111111", "home types are qualified too");
        assert!(home.run_id.origin().is_none());
        let by_region = started(&execution("222222222222", "eu-west-1"), &deployment(Qualify::AccountRegion));
        assert_eq!(by_region.task_type.as_str(), "nightly-export@222222222222.eu-west-1");
    }

    #[test]
    fn a_qualified_deployment_refuses_an_event_that_names_no_account() {
        let mut event = execution("222222222222", "us-east-1");
        let object = event.as_object_mut().unwrap();
        object.remove("account");
        object.remove("region");
        let error = parse_live(&event, WINDOW, &deployment(Qualify::Account)).unwrap_err();
        assert_eq!(error.field, "account");
        assert!(error.problem.contains("OVERRUN_QUALIFY=account"), "{error}");
        // Unqualified, such an event is a home run.
        assert!(started(&event, &deployment(Qualify::None)).run_id.origin().is_none());
    }

    #[test]
    fn a_malformed_account_or_a_region_alone_is_refused_naming_the_field() {
        let error =
            parse_live(&execution("12345", "us-east-1"), WINDOW, &deployment(Qualify::None)).unwrap_err();
        assert_eq!(error.field, "account");
        let mut event = execution("222222222222", "us-east-1");
        event.as_object_mut().unwrap().remove("account");
        assert_eq!(parse_live(&event, WINDOW, &deployment(Qualify::None)).unwrap_err().field, "account");
    }

    #[test]
    fn a_foreign_runs_cohort_is_its_accounts_and_a_home_runs_keeps_its_name() {
        let custom = |account: &str| {
            json!({"version": "0", "id": "c1", "detail-type": "Task State Change", "source": "acme",
                "account": account, "time": "2025-01-31T12:00:00Z", "region": "us-east-1", "resources": [],
                "detail": {"task_type": "etl", "run_id": "r1", "state": "STARTED", "cohort": "build-9"}})
        };
        let accounts = deployment(Qualify::None);
        let home = started(&custom("111111111111"), &accounts).cohort.unwrap();
        let foreign = started(&custom("222222222222"), &accounts).cohort.unwrap();
        assert_eq!((home.as_str(), foreign.as_str()), ("build-9", "build-9@222222222222.us-east-1"));
    }

    #[test]
    fn a_finish_is_placed_like_its_start() {
        let mut event = execution("222222222222", "us-east-1");
        event["detail"]["status"] = json!("SUCCEEDED");
        event["detail"]["stopDate"] = json!(1_738_325_000_000_i64);
        let TaskEvent::Finished(RunFinished { task_type, run_id, .. }) =
            parse_live(&event, WINDOW, &deployment(Qualify::Account)).unwrap()
        else {
            panic!("a finish")
        };
        assert_eq!(task_type.as_str(), "nightly-export@222222222222");
        assert_eq!(
            run_id,
            started(&execution("222222222222", "us-east-1"), &deployment(Qualify::Account)).run_id
        );
    }
}
