//! The admission check: given what a workload asks for and, for every quota covering it, what
//! the other covered workloads already hold, admit or deny with a typed reason.
//!
//! Order: per-workload caps first, then budgets; within each, dimensions in the order CPU,
//! memory, GPU, cost, and for budgets the tightest quota (least available) is the one reported.
//! A request never counts twice: `used_by_others` excludes the workload's own reservation, and a
//! request that does not grow a dimension beyond what the workload already holds in that quota
//! is admitted in it even when the quota is over its limit (it can only free budget).

use serde::{Deserialize, Serialize};

use super::amounts::{Amounts, QuotaResource};
use super::format::{amount, requested as requested_text};
use super::validate::Quota;

/// Whether the cost of the request could be estimated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "state", content = "reason")]
pub enum CostDemand {
    /// `amounts.cost_microdollars` is the estimate.
    Known,
    /// No estimate (e.g. no rate for the GPU model); the reason is shown to people.
    Unknown(String),
}

/// What a workload asks to be admitted with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest {
    /// The workload as messages name it, e.g. `Service checkout`.
    pub workload: String,
    /// Its total requests (replicas × per pod), and its estimated hourly cost.
    pub amounts: Amounts,
    /// Whether `amounts.cost_microdollars` is known.
    pub cost: CostDemand,
}

/// One quota covering the workload, with the usage the ledger holds for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaUsage<'a> {
    /// The quota.
    pub quota: &'a Quota,
    /// Sum of the reservations of every other workload the quota covers.
    pub used_by_others: Amounts,
    /// The workload's own current reservation if this quota counts it, else zero.
    pub held: Amounts,
}

/// Why a workload was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum QuotaDenial {
    /// A request is larger than a quota's per-workload cap.
    #[error("{workload} requests {} ({budget_owner} per-workload cap {})", requested_text(*.resource, *.requested), amount(*.resource, *.cap))]
    OverCap {
        /// The workload, e.g. `Service checkout`.
        workload: String,
        /// Name of the quota.
        quota: String,
        /// `service`, `team` or `user`.
        budget_owner: String,
        /// The dimension.
        resource: QuotaResource,
        /// What the workload asks for.
        requested: u64,
        /// The cap.
        cap: u64,
    },
    /// A request does not fit in what is left of a quota's budget.
    #[error("{workload} requests {} ({budget_owner} budget {}, {} in use, {} available)", requested_text(*.resource, *.requested), amount(*.resource, *.limit), amount(*.resource, *.in_use), amount(*.resource, *.available))]
    OverBudget {
        /// The workload, e.g. `Service checkout`.
        workload: String,
        /// Name of the quota.
        quota: String,
        /// `service`, `team` or `user`.
        budget_owner: String,
        /// The dimension.
        resource: QuotaResource,
        /// What the workload asks for.
        requested: u64,
        /// The quota's limit.
        limit: u64,
        /// What the other covered workloads hold.
        in_use: u64,
        /// `limit − in_use`, or zero.
        available: u64,
    },
    /// A quota limits cost and the workload's cost cannot be estimated.
    #[error("{workload}: its cost cannot be estimated ({reason}) and quota {quota} limits cost")]
    CostUnknown {
        /// The workload, e.g. `Service checkout`.
        workload: String,
        /// Name of the quota.
        quota: String,
        /// Why there is no estimate.
        reason: String,
    },
}

impl QuotaDenial {
    /// The condition reason: `ExceedsPerWorkloadCap`, `InsufficientBudget` or `CostUnknown`.
    pub fn reason(&self) -> &'static str {
        match self {
            QuotaDenial::OverCap { .. } => "ExceedsPerWorkloadCap",
            QuotaDenial::OverBudget { .. } => "InsufficientBudget",
            QuotaDenial::CostUnknown { .. } => "CostUnknown",
        }
    }

    /// Name of the quota that refused.
    pub fn quota(&self) -> &str {
        match self {
            QuotaDenial::OverCap { quota, .. }
            | QuotaDenial::OverBudget { quota, .. }
            | QuotaDenial::CostUnknown { quota, .. } => quota,
        }
    }
}

/// Admits `request` against every quota in `usages` (the enabled ones are enforced), or says why
/// not. No quota → admitted.
pub fn check(request: &AdmissionRequest, usages: &[QuotaUsage<'_>]) -> Result<(), QuotaDenial> {
    let mut enforced: Vec<&QuotaUsage<'_>> = usages.iter().filter(|u| u.quota.enabled).collect();
    enforced.sort_by(|a, b| a.quota.name.cmp(&b.quota.name));
    if let CostDemand::Unknown(reason) = &request.cost
        && let Some(u) = enforced
            .iter()
            .find(|u| u.quota.constrains(QuotaResource::Cost))
    {
        return Err(QuotaDenial::CostUnknown {
            workload: request.workload.clone(),
            quota: u.quota.name.clone(),
            reason: reason.clone(),
        });
    }
    for resource in QuotaResource::ALL {
        let wanted = request.amounts.get(resource);
        let tightest_cap = enforced
            .iter()
            .filter_map(|u| u.quota.max_per_workload.get(&resource).map(|cap| (*cap, u)))
            .filter(|(cap, _)| wanted > *cap)
            .min_by_key(|(cap, _)| *cap);
        if let Some((cap, u)) = tightest_cap {
            return Err(QuotaDenial::OverCap {
                workload: request.workload.clone(),
                quota: u.quota.name.clone(),
                budget_owner: u.quota.principal.budget_owner().to_string(),
                resource,
                requested: wanted,
                cap,
            });
        }
    }
    for resource in QuotaResource::ALL {
        let wanted = request.amounts.get(resource);
        let tightest = enforced
            .iter()
            .filter_map(|u| {
                let limit = *u.quota.limits.get(&resource)?;
                let in_use = u.used_by_others.get(resource);
                let available = limit.saturating_sub(in_use);
                let grows = wanted > u.held.get(resource);
                (wanted > available && grows).then_some((available, limit, in_use, u))
            })
            .min_by_key(|(available, ..)| *available);
        if let Some((available, limit, in_use, u)) = tightest {
            return Err(QuotaDenial::OverBudget {
                workload: request.workload.clone(),
                quota: u.quota.name.clone(),
                budget_owner: u.quota.principal.budget_owner().to_string(),
                resource,
                requested: wanted,
                limit,
                in_use,
                available,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quota::amounts::Limits;
    use crate::quota::principal::QuotaPrincipal;

    fn quota(name: &str, principal: QuotaPrincipal, limits: &[(QuotaResource, u64)]) -> Quota {
        Quota {
            name: name.into(),
            principal,
            limits: limits.iter().copied().collect(),
            max_per_workload: Limits::new(),
            enabled: true,
        }
    }

    fn cpu(m: u64) -> Amounts {
        Amounts {
            cpu_millicores: m,
            ..Amounts::default()
        }
    }

    fn checkout(amounts: Amounts) -> AdmissionRequest {
        AdmissionRequest {
            workload: "Service checkout".into(),
            amounts,
            cost: CostDemand::Known,
        }
    }

    #[test]
    fn the_books_example_reads_exactly_as_the_issue_says() {
        let team = quota(
            "commerce",
            QuotaPrincipal::Group("commerce".into()),
            &[(QuotaResource::Cpu, 2000)],
        );
        let usage = [QuotaUsage {
            quota: &team,
            used_by_others: cpu(1200),
            held: Amounts::default(),
        }];
        let denial = check(&checkout(cpu(1500)), &usage).unwrap_err();
        assert_eq!(
            denial.to_string(),
            "Service checkout requests 1500m CPU (team budget 2000m, 1200m in use, 800m available)"
        );
        assert_eq!(denial.reason(), "InsufficientBudget");
        assert_eq!(denial.quota(), "commerce");
        assert!(check(&checkout(cpu(800)), &usage).is_ok(), "exactly fits");
    }

    #[test]
    fn caps_are_checked_before_budgets() {
        let mut team = quota(
            "commerce",
            QuotaPrincipal::Group("commerce".into()),
            &[(QuotaResource::Cpu, 2000)],
        );
        team.max_per_workload.insert(QuotaResource::Cpu, 1000);
        let usage = [QuotaUsage {
            quota: &team,
            used_by_others: cpu(1900),
            held: Amounts::default(),
        }];
        let denial = check(&checkout(cpu(1500)), &usage).unwrap_err();
        assert_eq!(
            denial.to_string(),
            "Service checkout requests 1500m CPU (team per-workload cap 1000m)"
        );
        assert_eq!(denial.reason(), "ExceedsPerWorkloadCap");
    }

    #[test]
    fn the_tightest_of_overlapping_quotas_is_reported() {
        let team = quota(
            "commerce",
            QuotaPrincipal::Group("commerce".into()),
            &[(QuotaResource::Memory, 8 << 30)],
        );
        let user = quota(
            "ana",
            QuotaPrincipal::User("ana@example.com".into()),
            &[(QuotaResource::Memory, 4 << 30)],
        );
        let usage = [
            QuotaUsage {
                quota: &team,
                used_by_others: Amounts {
                    memory_bytes: 5 << 30,
                    ..Amounts::default()
                },
                held: Amounts::default(),
            },
            QuotaUsage {
                quota: &user,
                used_by_others: Amounts {
                    memory_bytes: 3 << 30,
                    ..Amounts::default()
                },
                held: Amounts::default(),
            },
        ];
        let request = checkout(Amounts {
            memory_bytes: 4 << 30,
            ..Amounts::default()
        });
        let denial = check(&request, &usage).unwrap_err();
        assert_eq!(
            denial.to_string(),
            "Service checkout requests 4Gi memory (user budget 4Gi, 3Gi in use, 1Gi available)"
        );
    }

    #[test]
    fn a_disabled_quota_admits_everything() {
        let mut team = quota(
            "commerce",
            QuotaPrincipal::Group("commerce".into()),
            &[(QuotaResource::Cpu, 1)],
        );
        team.enabled = false;
        let usage = [QuotaUsage {
            quota: &team,
            used_by_others: cpu(5),
            held: Amounts::default(),
        }];
        assert!(check(&checkout(cpu(10_000)), &usage).is_ok());
    }

    #[test]
    fn a_request_that_does_not_grow_is_admitted_over_a_lowered_limit() {
        let team = quota(
            "commerce",
            QuotaPrincipal::Group("commerce".into()),
            &[(QuotaResource::Cpu, 1000)],
        );
        let usage = [QuotaUsage {
            quota: &team,
            used_by_others: cpu(900),
            held: cpu(1500),
        }];
        assert!(check(&checkout(cpu(1500)), &usage).is_ok(), "same size");
        assert!(check(&checkout(cpu(1000)), &usage).is_ok(), "scale-down");
        assert!(check(&checkout(cpu(1600)), &usage).is_err(), "growth");
    }

    #[test]
    fn an_unknown_cost_is_refused_only_where_cost_is_limited() {
        let team = quota(
            "commerce",
            QuotaPrincipal::Group("commerce".into()),
            &[(QuotaResource::Cpu, 1000)],
        );
        let mut request = checkout(cpu(100));
        request.cost = CostDemand::Unknown("no rate for GPU model \"h100\"".into());
        let usage = [QuotaUsage {
            quota: &team,
            used_by_others: Amounts::default(),
            held: Amounts::default(),
        }];
        assert!(check(&request, &usage).is_ok());
        let costly = quota(
            "finance",
            QuotaPrincipal::Group("commerce".into()),
            &[(QuotaResource::Cost, 5_000_000)],
        );
        let usage = [QuotaUsage {
            quota: &costly,
            used_by_others: Amounts::default(),
            held: Amounts::default(),
        }];
        let denial = check(&request, &usage).unwrap_err();
        assert_eq!(denial.reason(), "CostUnknown");
        assert!(denial.to_string().contains("h100"), "{denial}");
    }

    #[test]
    fn no_quota_admits() {
        assert!(check(&checkout(cpu(u64::MAX)), &[]).is_ok());
    }
}
