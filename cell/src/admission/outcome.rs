//! What admission decided, and how it is recorded in the workload's status.

use lattice_derive::ResourceDemand;
use lattice_derive::cost::{CostError, CostEstimate};
use lattice_derive::quota::QuotaDenial;
use lattice_derive::quota::QuotaResource;
use lattice_derive::quota::format::quantity;
use serde_json::{Value, json};

use crate::store::StoreError;

/// Why a revision was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
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

impl Refusal {
    /// The `QuotaExceeded` condition reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Quota(denial) => denial.reason(),
            Refusal::InvalidQuota { .. } => "QuotaInvalid",
        }
    }

    /// The quota that refused.
    pub fn quota(&self) -> &str {
        match self {
            Refusal::Quota(denial) => denial.quota(),
            Refusal::InvalidQuota { quota, .. } => quota,
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
    Refused(Refusal),
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
}

impl AdmissionOutcome {
    /// True if admitted: the caller may release the revision.
    pub fn admitted(&self) -> bool {
        matches!(self.decision, Decision::Admitted { .. })
    }

    /// The status fields admission owns: `admission`, `resources` and `cost`, for the
    /// revision `revision` of spec generation `generation`.
    pub fn status_fields(&self, generation: i64, revision: &str) -> Value {
        let admission = match &self.decision {
            Decision::Admitted { quotas } => json!({
                "admitted": true,
                "generation": generation,
                "revision": revision,
                "quotas": quotas,
            }),
            Decision::Refused(refusal) => json!({
                "admitted": false,
                "generation": generation,
                "revision": revision,
                "reason": refusal.reason(),
                "message": refusal.to_string(),
                "quota": refusal.quota(),
            }),
        };
        let d = &self.demand;
        let resources = json!({
            "replicas": d.replicas,
            "cpu": quantity(QuotaResource::Cpu, d.cpu_millicores),
            "memory": quantity(QuotaResource::Memory, d.memory_bytes),
            "nvidia.com/gpu": quantity(QuotaResource::Gpu, d.gpus),
        });
        let cost = match &self.cost {
            Ok(estimate) => serde_json::to_value(estimate).unwrap_or(Value::Null),
            Err(e) => json!({ "error": e.to_string() }),
        };
        json!({ "admission": admission, "resources": resources, "cost": cost })
    }
}

/// Records the outcome in the spec's status (merged over what is there).
pub async fn record(
    tx: &mut sqlx::PgConnection,
    spec_id: i64,
    generation: i64,
    revision: &str,
    outcome: &AdmissionOutcome,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE specs SET status = status || $2 WHERE id = $1")
        .bind(spec_id)
        .bind(outcome.status_fields(generation, revision))
        .execute(tx)
        .await?;
    Ok(())
}
