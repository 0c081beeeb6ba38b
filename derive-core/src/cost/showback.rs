//! Showback: the estimated hourly cost of admitted workloads summed by team (the
//! `lattice.dev/group` label of their namespace), namespace or cluster, with the requests behind
//! it. It prices what is reserved in the ledger at the current rates.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::estimate::{CostBreakdown, estimate_usage};
use super::money::MicroDollars;
use super::rates::CostRates;

/// Hours in the month finance systems use for a monthly run rate (8760 / 12).
pub const HOURS_PER_MONTH: u64 = 730;
/// Team key of workloads whose namespace has no `lattice.dev/group` label (not a valid label
/// value, so no team can be named so).
pub const UNASSIGNED_TEAM: &str = "(unassigned)";

/// What showback sums by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShowbackDimension {
    /// The namespace's `lattice.dev/group` label.
    Team,
    /// The namespace.
    Namespace,
    /// The cluster the workload runs on.
    Cluster,
}

impl ShowbackDimension {
    /// `team`, `namespace` or `cluster`.
    pub fn as_str(self) -> &'static str {
        match self {
            ShowbackDimension::Team => "team",
            ShowbackDimension::Namespace => "namespace",
            ShowbackDimension::Cluster => "cluster",
        }
    }

    /// Parses [`ShowbackDimension::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Team, Self::Namespace, Self::Cluster]
            .into_iter()
            .find(|d| d.as_str() == text)
    }
}

/// One admitted workload, as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowbackWorkload {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Cluster it runs on.
    pub cluster: String,
    /// Its namespace's team, if declared.
    pub team: Option<String>,
    /// Reserved CPU in millicores (all replicas).
    pub cpu_millicores: u64,
    /// Reserved memory in bytes (all replicas).
    pub memory_bytes: u64,
    /// Reserved GPUs (all replicas).
    pub gpus: u64,
    /// GPU model.
    pub gpu_model: Option<String>,
}

/// One row of showback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShowbackLine {
    /// The team, namespace or cluster.
    pub key: String,
    /// Admitted workloads in it.
    pub workloads: u64,
    /// Of those, workloads with no estimate (a GPU model without a rate); not in the cost.
    pub unpriced_workloads: u64,
    /// Reserved CPU in millicores.
    pub cpu_millicores: u64,
    /// Reserved memory in bytes.
    pub memory_bytes: u64,
    /// Reserved GPUs.
    pub gpus: u64,
    /// Cost per hour by part.
    pub breakdown: CostBreakdown,
    /// Cost per hour.
    pub hourly: MicroDollars,
    /// `hourly × 730`.
    pub monthly: MicroDollars,
}

/// Sums `workloads` by `by` at `rates`; rows sorted by key.
pub fn showback(
    workloads: &[ShowbackWorkload],
    by: ShowbackDimension,
    rates: &CostRates,
) -> Vec<ShowbackLine> {
    let mut lines: BTreeMap<&str, ShowbackLine> = BTreeMap::new();
    for w in workloads {
        let key = match by {
            ShowbackDimension::Team => w.team.as_deref().unwrap_or(UNASSIGNED_TEAM),
            ShowbackDimension::Namespace => &w.namespace,
            ShowbackDimension::Cluster => &w.cluster,
        };
        let line = lines.entry(key).or_insert_with(|| ShowbackLine {
            key: key.to_string(),
            workloads: 0,
            unpriced_workloads: 0,
            cpu_millicores: 0,
            memory_bytes: 0,
            gpus: 0,
            breakdown: CostBreakdown::default(),
            hourly: MicroDollars(0),
            monthly: MicroDollars(0),
        });
        line.workloads += 1;
        line.cpu_millicores = line.cpu_millicores.saturating_add(w.cpu_millicores);
        line.memory_bytes = line.memory_bytes.saturating_add(w.memory_bytes);
        line.gpus = line.gpus.saturating_add(w.gpus);
        match estimate_usage(
            w.cpu_millicores,
            w.memory_bytes,
            w.gpus,
            w.gpu_model.as_deref(),
            rates,
        ) {
            Ok(e) => line.breakdown = line.breakdown.saturating_add(&e.breakdown),
            Err(_) => line.unpriced_workloads += 1,
        }
    }
    lines
        .into_values()
        .map(|mut line| {
            line.hourly = line.breakdown.total();
            line.monthly = MicroDollars(line.hourly.0.saturating_mul(HOURS_PER_MONTH));
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(ns: &str, cluster: &str, team: Option<&str>, cpu: u64) -> ShowbackWorkload {
        ShowbackWorkload {
            namespace: ns.into(),
            name: format!("{ns}-svc"),
            cluster: cluster.into(),
            team: team.map(Into::into),
            cpu_millicores: cpu,
            memory_bytes: 0,
            gpus: 0,
            gpu_model: None,
        }
    }

    #[test]
    fn workloads_sum_by_each_dimension() {
        let all = [
            w("shop", "edge-1", Some("commerce"), 1000),
            w("cart", "edge-2", Some("commerce"), 2000),
            w("blog", "edge-1", None, 500),
        ];
        let rates = CostRates::default();
        let by_team = showback(&all, ShowbackDimension::Team, &rates);
        let keys: Vec<&str> = by_team.iter().map(|l| l.key.as_str()).collect();
        assert_eq!(keys, vec!["(unassigned)", "commerce"]);
        assert_eq!(by_team[1].workloads, 2);
        assert_eq!(by_team[1].cpu_millicores, 3000);
        assert_eq!(by_team[1].hourly, MicroDollars(120_000));
        assert_eq!(by_team[1].monthly, MicroDollars(120_000 * 730));
        let by_cluster = showback(&all, ShowbackDimension::Cluster, &rates);
        assert_eq!(by_cluster[0].key, "edge-1");
        assert_eq!(by_cluster[0].cpu_millicores, 1500);
        assert_eq!(
            showback(&all, ShowbackDimension::Namespace, &rates).len(),
            3
        );
    }

    #[test]
    fn an_unpriced_workload_is_counted_but_not_costed() {
        let mut gpu = w("ml", "edge-1", Some("ml"), 1000);
        gpu.gpus = 1;
        gpu.gpu_model = Some("h100".into());
        let rates = CostRates {
            gpu: BTreeMap::new(),
            ..CostRates::default()
        };
        let lines = showback(&[gpu], ShowbackDimension::Team, &rates);
        assert_eq!(lines[0].unpriced_workloads, 1);
        assert_eq!(lines[0].hourly, MicroDollars(0));
        assert_eq!(lines[0].gpus, 1);
    }
}
