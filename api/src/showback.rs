//! Showback output: the lines computed by `lattice_derive::cost::showback` as JSON or as CSV for
//! finance systems. Pure, shared by `GET /v1/showback` and `latticectl cost`.

use lattice_derive::cost::{HOURS_PER_MONTH, MICROS_PER_UNIT, ShowbackDimension, ShowbackLine};
use serde::{Deserialize, Serialize};

/// The showback answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShowbackReport {
    /// What the lines are summed by: `team`, `namespace` or `cluster`.
    #[schema(value_type = String)]
    pub by: ShowbackDimension,
    /// Currency of every amount.
    pub currency: String,
    /// Hours the monthly figures assume.
    pub hours_per_month: u64,
    /// One line per team, namespace or cluster, by key.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<ShowbackLine>,
}

impl ShowbackReport {
    /// A report of `items` summed by `by`.
    pub fn new(by: ShowbackDimension, currency: String, items: Vec<ShowbackLine>) -> Self {
        Self {
            by,
            currency,
            hours_per_month: HOURS_PER_MONTH,
            items,
        }
    }
}

/// Columns of the CSV, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "dimension",
    "key",
    "currency",
    "workloads",
    "unpriced_workloads",
    "cpu_millicores",
    "memory_bytes",
    "gpus",
    "cpu_cost_per_hour",
    "memory_cost_per_hour",
    "gpu_cost_per_hour",
    "total_cost_per_hour",
    "total_cost_per_month",
];

/// RFC 4180 CSV with a header row; amounts of money with six decimals (exact micro-units),
/// requests as integers in their base unit; `\r\n` line ends.
pub fn to_csv(report: &ShowbackReport) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push_str("\r\n");
    for line in &report.items {
        let fields = [
            report.by.as_str().to_string(),
            line.key.clone(),
            report.currency.clone(),
            line.workloads.to_string(),
            line.unpriced_workloads.to_string(),
            line.cpu_millicores.to_string(),
            line.memory_bytes.to_string(),
            line.gpus.to_string(),
            fixed(line.breakdown.cpu.0),
            fixed(line.breakdown.memory.0),
            fixed(line.breakdown.gpu.0),
            fixed(line.hourly.0),
            fixed(line.monthly.0),
        ];
        let escaped: Vec<String> = fields.iter().map(|f| escape(f)).collect();
        out.push_str(&escaped.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Micro-units as a decimal with exactly six places.
fn fixed(micros: u64) -> String {
    format!(
        "{}.{:06}",
        micros / MICROS_PER_UNIT,
        micros % MICROS_PER_UNIT
    )
}

pub(crate) fn escape(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lattice_derive::cost::{CostBreakdown, MicroDollars};

    fn line(key: &str, hourly: u64) -> ShowbackLine {
        ShowbackLine {
            key: key.into(),
            workloads: 2,
            unpriced_workloads: 0,
            cpu_millicores: 1500,
            memory_bytes: 3 << 30,
            gpus: 0,
            breakdown: CostBreakdown {
                cpu: MicroDollars(hourly),
                memory: MicroDollars(0),
                gpu: MicroDollars(0),
            },
            hourly: MicroDollars(hourly),
            monthly: MicroDollars(hourly * 730),
        }
    }

    #[test]
    fn csv_has_a_header_and_exact_amounts() {
        let report = ShowbackReport::new(
            ShowbackDimension::Team,
            "USD".into(),
            vec![line("commerce", 60_000), line("a,\"b\"", 1)],
        );
        let csv = to_csv(&report);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], CSV_COLUMNS.join(","));
        assert_eq!(
            lines[1],
            "team,commerce,USD,2,0,1500,3221225472,0,0.060000,0.000000,0.000000,0.060000,43.800000"
        );
        assert!(
            lines[2].starts_with("team,\"a,\"\"b\"\"\",USD,"),
            "{}",
            lines[2]
        );
        assert_eq!(lines.len(), 4, "two rows and the final line end");
    }
}
