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

impl Accounts {
    /// The home of a Lambda function, from its ARN (`arn:aws:lambda:eu-west-1:123456789012:
    /// function:name`): the account and region its events are local to.
    pub fn of_function(function_arn: &str, qualify: Qualify) -> Result<Self, EventError> {
        let parts: Vec<&str> = function_arn.split(':').collect();
        let home = match parts.as_slice() {
            ["arn", _, "lambda", region, account, "function", ..] => Origin::new(account, region).ok(),
            _ => None,
        };
        let home = home.ok_or_else(|| {
            error("invoked function ARN", format!("{function_arn:?} is not a Lambda function ARN"))
        })?;
        Ok(Self { home: Some(home), qualify })
    }
}

/// `event` placed where its envelope says it came from: its run keeps a foreign origin, its task
/// type the qualifier `accounts` asks for.
pub(crate) fn place(event: TaskEvent, envelope: &Fields<'_>, accounts: &Accounts) -> Result<TaskEvent, EventError> {
    let origin = match (envelope.optional_string("account")?, envelope.optional_string("region")?) {
        (Some(account), Some(region)) => Some(Origin::new(account, region).map_err(|e| {
            error("account", format!("{account:?} in region {region:?}: {e}"))
        })?),
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
