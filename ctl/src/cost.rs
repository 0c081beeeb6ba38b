//! `latticectl cost`: showback by team, namespace or cluster as a table, JSON or CSV, and the
//! rates (`latticectl cost rates [-f FILE]`).

use lattice_derive::cost::MicroDollars;
use lattice_derive::quota::format::memory;
use reqwest::Method;
use serde_json::Value;

use super::args::{CostBy, CostCommand};
use super::client::{ApiClient, Body, CtlError};
use super::inputs::read_inputs;
use super::output::{OutputFormat, structured, table, text};
use lattice_api::showback::{ShowbackReport, to_csv};

/// `latticectl cost [--by …]` and `latticectl cost rates [-f FILE]`.
pub async fn run(
    client: &ApiClient,
    by: CostBy,
    command: Option<CostCommand>,
    format: OutputFormat,
) -> Result<String, CtlError> {
    match command {
        None => {
            let answer = client
                .call(
                    Method::GET,
                    &format!("/v1/showback?by={}", by.as_str()),
                    None,
                )
                .await?;
            render_showback(&answer, format)
        }
        Some(CostCommand::Rates { file: Some(path) }) => {
            let input = read_inputs(std::slice::from_ref(&path))?.remove(0);
            let answer = client
                .call(Method::PUT, "/v1/cost/rates", Some(Body::Yaml(input.text)))
                .await
                .map_err(|e| e.in_file(&input.name))?;
            render_rates(&answer, format)
        }
        Some(CostCommand::Rates { file: None }) => {
            let answer = client.call(Method::GET, "/v1/cost/rates", None).await?;
            render_rates(&answer, format)
        }
    }
}

/// Renders a showback answer of the cell.
pub fn render_showback(answer: &Value, format: OutputFormat) -> Result<String, CtlError> {
    let report: ShowbackReport = serde_json::from_value(answer.clone())
        .map_err(|e| CtlError::Render(format!("unexpected showback answer: {e}")))?;
    match format {
        OutputFormat::Csv => Ok(to_csv(&report)),
        OutputFormat::Table => Ok(showback_table(&report)),
        other => structured(answer, other),
    }
}

fn showback_table(report: &ShowbackReport) -> String {
    let money = |m: MicroDollars| format!("{m}");
    let rows = report
        .items
        .iter()
        .map(|l| {
            vec![
                l.key.clone(),
                l.workloads.to_string(),
                format!("{}m", l.cpu_millicores),
                memory(l.memory_bytes),
                l.gpus.to_string(),
                money(l.breakdown.cpu),
                money(l.breakdown.memory),
                money(l.breakdown.gpu),
                money(l.hourly),
                money(l.monthly),
            ]
        })
        .collect();
    let per_hour = format!("{}/h", report.currency);
    let headers = [
        report.by.as_str(),
        "workloads",
        "cpu",
        "memory",
        "gpus",
        &format!("cpu {per_hour}"),
        &format!("memory {per_hour}"),
        &format!("gpu {per_hour}"),
        &format!("total {per_hour}"),
        &format!("{}/month", report.currency),
    ];
    let mut out = table(&headers, rows);
    let unpriced: u64 = report.items.iter().map(|l| l.unpriced_workloads).sum();
    if unpriced > 0 {
        out.push_str(&format!(
            "\n{unpriced} workload(s) have no estimate (a GPU model without a rate); set one with `latticectl cost rates -f FILE`"
        ));
    }
    out
}

/// Renders the rates.
pub fn render_rates(rates: &Value, format: OutputFormat) -> Result<String, CtlError> {
    match format {
        OutputFormat::Table => {
            let mut lines = vec![
                format!("Currency:  {}", text(&rates["currency"])),
                format!("CPU:       {} per vCPU-hour", text(&rates["cpu"])),
                format!("Memory:    {} per GiB-hour", text(&rates["memory"])),
            ];
            for (model, rate) in rates["gpu"].as_object().into_iter().flatten() {
                lines.push(format!("GPU {model}: {} per GPU-hour", text(rate)));
            }
            Ok(lines.join("\n"))
        }
        OutputFormat::Csv => Err(CtlError::Render(
            "-o csv is for `latticectl cost`; use -o yaml or -o json".to_string(),
        )),
        other => structured(rates, other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer() -> Value {
        json!({
            "by": "team", "currency": "USD", "hoursPerMonth": 730,
            "items": [{
                "key": "commerce", "workloads": 2, "unpricedWorkloads": 0,
                "cpuMillicores": 2000, "memoryBytes": 3221225472u64, "gpus": 0,
                "breakdown": {"cpu": "0.08", "memory": "0.015", "gpu": "0.00"},
                "hourly": "0.095", "monthly": "69.35"
            }]
        })
    }

    #[test]
    fn the_table_has_one_row_per_team() {
        let out = render_showback(&answer(), OutputFormat::Table).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("TEAM"), "{out}");
        assert!(
            lines[1].contains("commerce") && lines[1].contains("3Gi") && lines[1].contains("69.35"),
            "{out}"
        );
    }

    #[test]
    fn csv_comes_from_the_same_report() {
        let out = render_showback(&answer(), OutputFormat::Csv).unwrap();
        assert!(out.starts_with("dimension,key,currency,"), "{out}");
        assert!(out.contains("team,commerce,USD,2,0,2000,3221225472,0,0.080000,0.015000,0.000000,0.095000,69.350000"), "{out}");
    }
}
