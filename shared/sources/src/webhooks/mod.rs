//! Runs that arrive over HTTPS rather than through EventBridge: OpenLineage run events (Airflow,
//! Dagster, dbt, Spark), GitHub Actions `workflow_job` webhooks, and check-ins from scripts and
//! cron. Parsing only, every field checked and named as the EventBridge events are; who may send
//! them is the HTTPS function's business.

pub mod checkin;
pub mod github;
pub mod openlineage;
