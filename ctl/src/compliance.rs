//! `latticectl compliance report`: the cell's compliance report (`GET /v1/compliance`) as
//! tables (controls, failing evidence, trend), JSON/YAML, or CSV.

use lattice_api::compliance::{ComplianceReport, to_csv};
use reqwest::Method;
use serde_json::Value;

use super::args::ComplianceCommand;
use super::client::{ApiClient, CtlError};
use super::output::{OutputFormat, structured, table};

/// `latticectl compliance report [--profile P] [--cluster X] [--since 7d]`.
pub async fn run(
    client: &ApiClient,
    command: ComplianceCommand,
    format: OutputFormat,
) -> Result<String, CtlError> {
    let ComplianceCommand::Report {
        profile,
        cluster,
        since,
    } = command;
    let mut query: Vec<(&str, String)> = vec![("since", since)];
    query.extend(profile.map(|p| ("profile", p)));
    query.extend(cluster.map(|c| ("cluster", c)));
    let query = query
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencoding(v)))
        .collect::<Vec<_>>()
        .join("&");
    let answer = client
        .call(Method::GET, &format!("/v1/compliance?{query}"), None)
        .await?;
    render(&answer, format)
}

/// Renders a report answer of the cell.
pub fn render(answer: &Value, format: OutputFormat) -> Result<String, CtlError> {
    let report: ComplianceReport = serde_json::from_value(answer.clone())
        .map_err(|e| CtlError::Render(format!("unexpected compliance answer: {e}")))?;
    match format {
        OutputFormat::Csv => Ok(to_csv(&report)),
        OutputFormat::Table => Ok(report_tables(&report)),
        other => structured(answer, other),
    }
}

fn report_tables(report: &ComplianceReport) -> String {
    if report.controls.is_empty() && report.trend.is_empty() {
        return "No compliance results (apply a LatticeComplianceProfile).".to_string();
    }
    let controls = table(
        &[
            "profile", "cluster", "control", "severity", "result", "pass", "fail", "error", "skip",
        ],
        report
            .controls
            .iter()
            .map(|c| {
                vec![
                    c.profile.clone(),
                    c.cluster.clone(),
                    c.control.clone(),
                    c.severity.clone(),
                    c.result.to_uppercase(),
                    c.pass.to_string(),
                    c.fail.to_string(),
                    c.error.to_string(),
                    c.skip.to_string(),
                ]
            })
            .collect(),
    );
    let mut out = controls;
    if !report.failing.is_empty() {
        out.push_str("\n\nFailing:\n");
        out.push_str(&table(
            &[
                "cluster", "control", "probe", "object", "observed", "expected", "source",
            ],
            report
                .failing
                .iter()
                .map(|e| {
                    vec![
                        e.cluster.clone(),
                        e.control.clone(),
                        e.probe.clone(),
                        e.object_text(),
                        e.observed.clone().unwrap_or_else(|| "-".into()),
                        e.expected.clone(),
                        e.source.clone(),
                    ]
                })
                .collect(),
        ));
    }
    if !report.trend.is_empty() {
        out.push_str(&format!(
            "\n\nChanges since {}:\n",
            report.since.to_rfc3339()
        ));
        out.push_str(&table(
            &["at", "cluster", "control", "probe", "object", "change"],
            report
                .trend
                .iter()
                .map(|t| {
                    vec![
                        t.at.to_rfc3339(),
                        t.cluster.clone(),
                        t.control.clone(),
                        t.probe.clone(),
                        t.object.clone(),
                        format!("{} -> {}", t.from, t.to),
                    ]
                })
                .collect(),
        ));
    }
    out
}

/// Percent-encodes a query value (names are DNS labels and durations; this keeps it safe).
fn urlencoding(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
