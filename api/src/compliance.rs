//! `GET /v1/compliance`: the compliance report — per profile, cluster and control the current
//! outcome; the failing results with their evidence; and the trend (each change of a result over
//! the window, e.g. fail → pass, with its time). `latticectl compliance report` reads it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Query of `GET /v1/compliance`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ComplianceQuery {
    /// Only this profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Only this cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The trend window: a duration back from now (`7d`, `12h`, `30m`; default `7d`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

/// One stored result with its evidence: a run of identical results from `firstSeen` to
/// `lastSeen`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComplianceEvidence {
    /// Profile name.
    pub profile: String,
    /// The profile generation evaluated.
    pub profile_version: i64,
    /// Control id.
    pub control: String,
    /// Control severity.
    pub severity: String,
    /// Probe name.
    pub probe: String,
    /// Cluster.
    pub cluster: String,
    /// The judged object (`apiVersion`, `kind`, `namespace`, `name`); absent for the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<serde_json::Value>,
    /// What was observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<String>,
    /// What passes.
    pub expected: String,
    /// `pass`, `fail`, `error` or `skip`.
    pub result: String,
    /// One line for people.
    pub message: String,
    /// Where the facts came from: `policy-set`, or `delivered-revisions` (the objects of the
    /// revisions delivered to the cluster and acknowledged, not the live cluster).
    pub source: String,
    /// First evaluation with this result.
    pub first_seen: DateTime<Utc>,
    /// Latest evaluation with this result.
    pub last_seen: DateTime<Utc>,
}

impl ComplianceEvidence {
    /// `Kind ns/name`, `Kind name`, or `-` for the cluster.
    pub fn object_text(&self) -> String {
        let Some(o) = &self.object else {
            return "-".to_string();
        };
        let text = |k: &str| o.get(k).and_then(|v| v.as_str()).unwrap_or_default();
        match text("namespace") {
            "" => format!("{} {}", text("kind"), text("name")),
            ns => format!("{} {ns}/{}", text("kind"), text("name")),
        }
    }
}

/// The current outcome of one control on one cluster: the worst of its current results
/// (`fail` > `error` > `pass` > `skip`), with the counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ControlStatus {
    /// Profile name.
    pub profile: String,
    /// Cluster.
    pub cluster: String,
    /// Control id.
    pub control: String,
    /// Severity.
    pub severity: String,
    /// The worst current result.
    pub result: String,
    /// Current results that pass.
    pub pass: u64,
    /// … that fail.
    pub fail: u64,
    /// … that could not be evaluated.
    pub error: u64,
    /// … that had nothing to judge.
    pub skip: u64,
    /// The latest evaluation.
    pub evaluated_at: DateTime<Utc>,
}

/// A change of one result (same profile, control, probe, cluster and object) in the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResultChange {
    /// Profile name.
    pub profile: String,
    /// Cluster.
    pub cluster: String,
    /// Control id.
    pub control: String,
    /// Probe name.
    pub probe: String,
    /// The object, as `Kind ns/name` (`-` for the cluster).
    pub object: String,
    /// The result before.
    pub from: String,
    /// The result after.
    pub to: String,
    /// The last evaluation with the old result.
    pub last_seen_before: DateTime<Utc>,
    /// The first evaluation with the new result.
    pub at: DateTime<Utc>,
}

/// The body of `GET /v1/compliance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComplianceReport {
    /// Start of the trend window.
    pub since: DateTime<Utc>,
    /// Per profile, cluster and control, the current outcome.
    pub controls: Vec<ControlStatus>,
    /// The current `fail` and `error` results, with their evidence.
    pub failing: Vec<ComplianceEvidence>,
    /// Every change of a result in the window, oldest first.
    pub trend: Vec<ResultChange>,
}

/// Columns of [`to_csv`]: one row per control (`section` `control`), per failing result
/// (`evidence`) and per change (`trend`); columns a section has no value for are empty.
pub const CSV_COLUMNS: &[&str] = &[
    "section", "profile", "cluster", "control", "severity", "probe", "object", "result", "from",
    "observed", "expected", "source", "message", "at",
];

/// The report as CSV (RFC 4180: CRLF line ends, fields quoted when they need it).
pub fn to_csv(report: &ComplianceReport) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push_str("\r\n");
    let mut line = |fields: [&str; 14]| {
        let escaped: Vec<String> = fields.iter().map(|f| crate::showback::escape(f)).collect();
        out.push_str(&escaped.join(","));
        out.push_str("\r\n");
    };
    for c in &report.controls {
        let at = c.evaluated_at.to_rfc3339();
        line([
            "control",
            &c.profile,
            &c.cluster,
            &c.control,
            &c.severity,
            "",
            "",
            &c.result,
            "",
            "",
            "",
            "",
            "",
            &at,
        ]);
    }
    for e in &report.failing {
        let (object, at) = (e.object_text(), e.last_seen.to_rfc3339());
        line([
            "evidence",
            &e.profile,
            &e.cluster,
            &e.control,
            &e.severity,
            &e.probe,
            &object,
            &e.result,
            "",
            e.observed.as_deref().unwrap_or_default(),
            &e.expected,
            &e.source,
            &e.message,
            &at,
        ]);
    }
    for t in &report.trend {
        let at = t.at.to_rfc3339();
        line([
            "trend", &t.profile, &t.cluster, &t.control, "", &t.probe, &t.object, &t.to, &t.from,
            "", "", "", "", &at,
        ]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_row_per_control_evidence_and_change_and_quotes_commas() {
        let at = DateTime::<Utc>::from_timestamp(0, 0).unwrap();
        let report = ComplianceReport {
            since: at,
            controls: vec![ControlStatus {
                profile: "p".into(),
                cluster: "c".into(),
                control: "A".into(),
                severity: "high".into(),
                result: "fail".into(),
                pass: 0,
                fail: 1,
                error: 0,
                skip: 0,
                evaluated_at: at,
            }],
            failing: vec![ComplianceEvidence {
                profile: "p".into(),
                profile_version: 1,
                control: "A".into(),
                severity: "high".into(),
                probe: "q".into(),
                cluster: "c".into(),
                object: Some(
                    serde_json::json!({"kind": "Deployment", "namespace": "n", "name": "d"}),
                ),
                observed: Some("a,b".into()),
                expected: "x".into(),
                result: "fail".into(),
                message: "m".into(),
                source: "delivered-revisions".into(),
                first_seen: at,
                last_seen: at,
            }],
            trend: Vec::new(),
        };
        let csv = to_csv(&report);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], CSV_COLUMNS.join(","));
        assert!(lines[1].starts_with("control,p,c,A,high,,,fail,"), "{csv}");
        assert!(
            lines[2].starts_with("evidence,p,c,A,high,q,Deployment n/d,fail,,\"a,b\",x,"),
            "{csv}"
        );
    }
}
