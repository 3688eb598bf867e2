//! CloudWatch metrics in the Embedded Metric Format: one JSON line on stdout per invocation,
//! which Lambda's log pipeline turns into metrics without any API call.

use std::time::{SystemTime, UNIX_EPOCH};

pub const NAMESPACE: &str = "Overrun";

/// The EMF document for `metrics` (name, count) of `function`.
pub fn emf_line(function: &str, metrics: &[(&str, u64)], timestamp_ms: i64) -> String {
    let definitions: Vec<serde_json::Value> =
        metrics.iter().map(|(name, _)| serde_json::json!({"Name": name, "Unit": "Count"})).collect();
    let mut document = serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": definitions,
            }],
        },
        "Function": function,
    });
    if let Some(object) = document.as_object_mut() {
        for (name, value) in metrics {
            object.insert((*name).to_owned(), serde_json::json!(value));
        }
    }
    document.to_string()
}

/// Prints the EMF line for this invocation.
pub fn emit(function: &str, metrics: &[(&str, u64)]) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    println!("{}", emf_line(function, metrics, now));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_line_declares_each_metric_and_carries_its_value() {
        let line = emf_line("checker", &[("RunsChecked", 12), ("AlertsPublished", 2)], 1_700_000_000_000);
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Overrun");
        assert_eq!(parsed["_aws"]["CloudWatchMetrics"][0]["Metrics"][1]["Name"], "AlertsPublished");
        assert_eq!(parsed["RunsChecked"], 12);
        assert_eq!(parsed["Function"], "checker");
        assert_eq!(parsed["_aws"]["Timestamp"], 1_700_000_000_000i64);
    }
}
