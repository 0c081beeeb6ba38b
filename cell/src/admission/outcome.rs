//! What admission decided, what it found out about the revision (its requests and cost), and the
//! `QuotaExceeded` condition the derivation loop records.

use lattice_derive::ResourceDemand;
use lattice_derive::cost::{CostError, CostEstimate};
use lattice_derive::quota::QuotaDenial;
use serde::{Deserialize, Serialize};

use crate::status_types::{Condition, CostView, RequestedResources};

/// Why quota admission refused a revision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaRefusal {
    /// A quota's cap or budget does not allow it.
    #[error(transparent)]
    Quota(#[from] QuotaDenial),
    /// A quota covering the workload does not validate; nothing it covers is admitted until it
    /// is fixed (deny by default).
    #[error("{workload} is covered by quota {quota}, which is invalid ({}); fix the quota and re-apply it", .problems.join("; "))]
    InvalidQuota {
        /// The workload, e.g. `Service checkout`.
        workload: String,
        /// The quota.
        quota: String,
        /// Its validation problems.
        problems: Vec<String>,
    },
}

impl QuotaRefusal {
    /// The `QuotaExceeded` condition reason: `InsufficientBudget`, `ExceedsPerWorkloadCap`,
    /// `CostUnknown` or `QuotaInvalid`.
    pub fn reason(&self) -> &'static str {
        match self {
            QuotaRefusal::Quota(denial) => denial.reason(),
            QuotaRefusal::InvalidQuota { .. } => "QuotaInvalid",
        }
    }
}

/// Admitted or refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Admitted within these enforced quotas (empty: no quota covers the workload); its
    /// reservation is written.
    Admitted {
        /// Names of the enforced quotas covering it.
        quotas: Vec<String>,
    },
    /// Refused; nothing was written.
    Refused(QuotaRefusal),
}

/// What admission found out about a revision, recorded in the service's status whatever the
/// decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmissionFacts {
    /// What it requests.
    pub resources: RequestedResources,
    /// Its estimated cost.
    pub cost: CostView,
}

/// The decision with what it was based on.
#[derive(Debug, Clone, PartialEq)]
pub struct AdmissionOutcome {
    /// Admitted or refused.
    pub decision: Decision,
    /// The cost estimate of the revision at the current rates.
    pub cost: Result<CostEstimate, CostError>,
    /// What the revision requests.
    pub demand: ResourceDemand,
    /// True if the admission lowered what the workload holds in some dimension (a scale-down)
    /// or moved it out of a quota's coverage: specs waiting for budget may fit now.
    pub freed: bool,
}

impl AdmissionOutcome {
    /// True if admitted: the caller may release the revision.
    pub fn admitted(&self) -> bool {
        matches!(self.decision, Decision::Admitted { .. })
    }

    /// Requests and cost, for the status.
    pub fn facts(&self) -> AdmissionFacts {
        AdmissionFacts {
            resources: RequestedResources::of(&self.demand),
            cost: CostView::from(&self.cost),
        }
    }

    /// `QuotaExceeded`: `False`/`WithinBudget` naming the quotas it fits, or `True` with the
    /// refusal's reason and message.
    pub fn condition(&self) -> Condition {
        match &self.decision {
            Decision::Admitted { quotas } if quotas.is_empty() => Condition::new(
                "QuotaExceeded",
                "False",
                "WithinBudget",
                "no enforced quota covers this workload",
            ),
            Decision::Admitted { quotas } => Condition::new(
                "QuotaExceeded",
                "False",
                "WithinBudget",
                format!("admitted within quota {}", quotas.join(", ")),
            ),
            Decision::Refused(refusal) => Condition::new(
                "QuotaExceeded",
                "True",
                refusal.reason(),
                refusal.to_string(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lattice_derive::PodDemand;
    use lattice_derive::quota::{QuotaDenial, QuotaResource};

    fn outcome(decision: Decision) -> AdmissionOutcome {
        AdmissionOutcome {
            decision,
            cost: Err(CostError::NoGpuRate {
                model: Some("h100".into()),
            }),
            demand: ResourceDemand::new(
                3,
                PodDemand {
                    cpu_millicores: 500,
                    memory_bytes: 64 << 20,
                    gpus: 0,
                },
                None,
            ),
            freed: false,
        }
    }

    #[test]
    fn a_refusal_is_a_true_quota_exceeded_condition_with_the_message() {
        let denial = QuotaDenial::OverBudget {
            workload: "Service checkout".into(),
            quota: "commerce".into(),
            budget_owner: "team".into(),
            resource: QuotaResource::Cpu,
            requested: 1500,
            limit: 2000,
            in_use: 1200,
            available: 800,
        };
        let c = outcome(Decision::Refused(denial.into())).condition();
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("True", "InsufficientBudget")
        );
        assert_eq!(
            c.message,
            "Service checkout requests 1500m CPU (team budget 2000m, 1200m in use, 800m available)"
        );
    }

    #[test]
    fn facts_show_totals_and_why_there_is_no_cost() {
        let o = outcome(Decision::Admitted { quotas: vec![] });
        let facts = serde_json::to_value(o.facts()).unwrap();
        assert_eq!(facts["resources"]["cpu"], "1500m");
        assert_eq!(facts["resources"]["memory"], "192Mi");
        assert_eq!(facts["resources"]["nvidia.com/gpu"], "0");
        assert!(facts["cost"]["error"].as_str().unwrap().contains("h100"));
        assert_eq!(
            o.condition().message,
            "no enforced quota covers this workload"
        );
        let back: AdmissionFacts = serde_json::from_value(facts).unwrap();
        assert_eq!(back, o.facts());
    }
}
