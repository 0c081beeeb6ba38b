//! The compliance report, pure: from the current results and the history of a window, the
//! per-control outcome, the failing evidence and the trend (each change of a result with its
//! time). `GET /v1/compliance` serves it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lattice_api::compliance::{ComplianceEvidence, ComplianceReport, ControlStatus, ResultChange};

/// Rank of a result for "worst of": `fail` > `error` > `pass` > `skip`.
fn rank(result: &str) -> u8 {
    match result {
        "fail" => 3,
        "error" => 2,
        "pass" => 1,
        _ => 0,
    }
}

/// Builds the report. `current` are the results of the latest evaluations; `history` every row
/// seen in the window, ordered by key then `first_seen`.
pub fn build_report(
    current: &[ComplianceEvidence],
    history: &[ComplianceEvidence],
    since: DateTime<Utc>,
) -> ComplianceReport {
    let mut controls: BTreeMap<(String, String, String), ControlStatus> = BTreeMap::new();
    for e in current {
        let status = controls
            .entry((e.profile.clone(), e.cluster.clone(), e.control.clone()))
            .or_insert_with(|| ControlStatus {
                profile: e.profile.clone(),
                cluster: e.cluster.clone(),
                control: e.control.clone(),
                severity: e.severity.clone(),
                result: "skip".to_string(),
                pass: 0,
                fail: 0,
                error: 0,
                skip: 0,
                evaluated_at: e.last_seen,
            });
        match e.result.as_str() {
            "pass" => status.pass += 1,
            "fail" => status.fail += 1,
            "error" => status.error += 1,
            _ => status.skip += 1,
        }
        if rank(&e.result) > rank(&status.result) {
            status.result = e.result.clone();
        }
        status.evaluated_at = status.evaluated_at.max(e.last_seen);
    }
    let failing = current
        .iter()
        .filter(|e| matches!(e.result.as_str(), "fail" | "error"))
        .cloned()
        .collect();
    let mut trend = Vec::new();
    for pair in history.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        let same_key = before.profile == after.profile
            && before.cluster == after.cluster
            && before.control == after.control
            && before.probe == after.probe
            && before.object == after.object;
        if same_key && before.result != after.result {
            trend.push(ResultChange {
                profile: after.profile.clone(),
                cluster: after.cluster.clone(),
                control: after.control.clone(),
                probe: after.probe.clone(),
                object: after.object_text(),
                from: before.result.clone(),
                to: after.result.clone(),
                last_seen_before: before.last_seen,
                at: after.first_seen,
            });
        }
    }
    trend.sort_by_key(|c| c.at);
    ComplianceReport {
        since,
        controls: controls.into_values().collect(),
        failing,
        trend,
    }
}

/// Parses a trend window such as `7d`, `12h`, `30m` or `90s`.
pub fn parse_window(text: &str) -> Option<chrono::Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().ok()?;
    match unit {
        "s" => chrono::Duration::try_seconds(n),
        "m" => chrono::Duration::try_minutes(n),
        "h" => chrono::Duration::try_hours(n),
        "d" => chrono::Duration::try_days(n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(s, 0).unwrap()
    }

    fn row(control: &str, probe: &str, result: &str, first: i64, last: i64) -> ComplianceEvidence {
        ComplianceEvidence {
            profile: "p".into(),
            profile_version: 1,
            control: control.into(),
            severity: "high".into(),
            probe: probe.into(),
            cluster: "c".into(),
            object: None,
            observed: None,
            expected: "deny".into(),
            result: result.into(),
            message: String::new(),
            source: "policy-set".into(),
            first_seen: at(first),
            last_seen: at(last),
        }
    }

    #[test]
    fn a_control_takes_its_worst_result_and_failing_rows_are_listed() {
        let current = [
            row("A", "x", "pass", 0, 10),
            row("A", "y", "fail", 5, 10),
            row("B", "z", "skip", 0, 10),
        ];
        let report = build_report(&current, &[], at(0));
        assert_eq!(report.controls.len(), 2);
        assert_eq!(report.controls[0].result, "fail");
        assert_eq!((report.controls[0].pass, report.controls[0].fail), (1, 1));
        assert_eq!(report.controls[1].result, "skip");
        assert_eq!(report.failing, vec![current[1].clone()]);
    }

    #[test]
    fn a_change_of_result_is_a_trend_entry_with_its_times() {
        let history = [
            row("A", "x", "fail", 0, 10),
            row("A", "x", "pass", 20, 30),
            row("A", "y", "pass", 0, 30),
            row("B", "z", "pass", 0, 5),
        ];
        let report = build_report(&[], &history, at(0));
        assert_eq!(report.trend.len(), 1);
        let change = &report.trend[0];
        assert_eq!((change.from.as_str(), change.to.as_str()), ("fail", "pass"));
        assert_eq!((change.last_seen_before, change.at), (at(10), at(20)));
    }

    #[test]
    fn windows_are_read_in_seconds_minutes_hours_and_days() {
        assert_eq!(parse_window("7d"), chrono::Duration::try_days(7));
        assert_eq!(parse_window("90s"), chrono::Duration::try_seconds(90));
        assert_eq!(parse_window("7"), None);
        assert_eq!(parse_window("7w"), None);
    }
}
