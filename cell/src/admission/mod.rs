//! Admission of a revision against quota, serialized in Postgres (DESIGN §3, issue 7).
//!
//! Inside the caller's transaction, which already holds the workload's spec row (and the
//! policy-set lock, taken before it):
//! 1. read the cost rates and the teams of the workloads' namespaces;
//! 2. lock every quota covering any of the workloads, in one statement, in id order
//!    (`SELECT … ORDER BY id FOR UPDATE`), so concurrent admissions never deadlock;
//! 3. per workload, sum what the other covered workloads hold in the ledger (the statement runs
//!    after the locks are granted, so it sees every reservation committed before them),
//!    excluding the workload's own previous reservation;
//! 4. run the pure check (`lattice_derive::quota::check`);
//! 5. admitted → replace the workload's reservation. The caller (the derivation loop's admission
//!    stage, `crate::reconcile::admit`) releases the revision only on `Admitted`; on a refusal
//!    nothing was written and the revision already released stays.
//!
//! Any two admissions that could both count toward one quota lock that quota's row, so they
//! run one after the other and the second sees the first's reservation: under any concurrency
//! the sum of reservations never exceeds a limit.

pub mod outcome;

use std::collections::{BTreeMap, BTreeSet};

use lattice_derive::ResourceDemand;
use lattice_derive::cost::estimate;
use lattice_derive::quota::{
    AdmissionRequest, Amounts, CostDemand, QuotaSubject, QuotaUsage, check,
};

use crate::store::StoreError;
use crate::store::ledger::{self, Reservation, to_i64};
use crate::store::quotas::{self, QuotaRecord, principals_of};
use crate::store::{cost_rates, namespaces};
pub use outcome::{AdmissionFacts, AdmissionOutcome, Decision, QuotaRefusal};

/// One revision of one workload to admit.
#[derive(Debug, Clone)]
pub struct AdmissionInput<'a> {
    /// The workload's spec row (locked by the caller).
    pub spec_id: i64,
    /// Its kind, e.g. `LatticeService`.
    pub kind: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// Name.
    pub name: &'a str,
    /// Its `lattice.dev/owner` annotation.
    pub owner: Option<&'a str>,
    /// The cluster it is placed on.
    pub cluster: &'a str,
    /// The revision to admit.
    pub revision_id: &'a str,
    /// What the revision requests (replicas × per pod).
    pub demand: &'a ResourceDemand,
}

/// Admits one revision (see [`admit_all`]).
pub async fn admit(
    tx: &mut sqlx::PgConnection,
    input: &AdmissionInput<'_>,
) -> Result<AdmissionOutcome, StoreError> {
    let mut outcomes = admit_all(tx, std::slice::from_ref(input)).await?;
    Ok(outcomes.remove(0))
}

/// Admits several revisions in one transaction, in the order given (each sees the reservations
/// of the ones before it). The caller holds the spec rows of all of them.
pub async fn admit_all(
    tx: &mut sqlx::PgConnection,
    inputs: &[AdmissionInput<'_>],
) -> Result<Vec<AdmissionOutcome>, StoreError> {
    let rates = cost_rates::current(tx).await?;
    let namespaces: Vec<String> = inputs
        .iter()
        .map(|i| i.namespace.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let groups = namespaces::groups_of(tx, &namespaces).await?;
    let subjects: Vec<QuotaSubject> = inputs
        .iter()
        .map(|i| QuotaSubject {
            namespace: i.namespace.to_string(),
            name: i.name.to_string(),
            group: groups.get(i.namespace).cloned(),
            owner: i.owner.map(str::to_string),
        })
        .collect();
    let principals: Vec<(String, String)> = subjects
        .iter()
        .flat_map(|s| {
            principals_of(
                &s.namespace,
                &s.name,
                s.group.as_deref(),
                s.owner.as_deref(),
            )
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let locked = quotas::lock(tx, &principals, &[]).await?;
    let mut outcomes = Vec::with_capacity(inputs.len());
    for (input, subject) in inputs.iter().zip(&subjects) {
        let cost = estimate(input.demand, &rates);
        let outcome = admit_one(tx, input, subject, &locked, &groups, cost).await?;
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

async fn admit_one(
    tx: &mut sqlx::PgConnection,
    input: &AdmissionInput<'_>,
    subject: &QuotaSubject,
    locked: &[QuotaRecord],
    groups: &BTreeMap<String, String>,
    cost: Result<lattice_derive::cost::CostEstimate, lattice_derive::cost::CostError>,
) -> Result<AdmissionOutcome, StoreError> {
    let workload = format!("{} {}", workload_word(input.kind), input.name);
    let keys = principals_of(
        &subject.namespace,
        &subject.name,
        subject.group.as_deref(),
        subject.owner.as_deref(),
    );
    let covering: Vec<&QuotaRecord> = locked
        .iter()
        .filter(|q| {
            keys.iter()
                .any(|(k, i)| *k == q.principal_kind && *i == q.principal_id)
        })
        .collect();
    let demand = input.demand;
    let amounts = Amounts {
        cpu_millicores: demand.cpu_millicores,
        memory_bytes: demand.memory_bytes,
        gpus: demand.gpus,
        cost_microdollars: cost.as_ref().map_or(0, |e| e.hourly.0),
    };
    let decide = |decision, freed| AdmissionOutcome {
        decision,
        cost: cost.clone(),
        demand: demand.clone(),
        freed,
    };
    let mut validated = Vec::with_capacity(covering.len());
    for record in &covering {
        match record.validated() {
            Ok(quota) => validated.push((*record, quota)),
            Err(problems) => {
                return Ok(decide(
                    Decision::Refused(QuotaRefusal::InvalidQuota {
                        workload,
                        quota: record.name.clone(),
                        problems: problems.iter().map(ToString::to_string).collect(),
                    }),
                    false,
                ));
            }
        }
    }
    let own = ledger::reservation(tx, input.spec_id).await?;
    let own_subject = own.as_ref().map(|r| QuotaSubject {
        namespace: r.namespace.clone(),
        name: r.name.clone(),
        group: groups.get(&r.namespace).cloned(),
        owner: r.owner.clone(),
    });
    let mut usages = Vec::with_capacity(validated.len());
    for (record, quota) in &validated {
        let (used_by_others, _) = ledger::usage(
            tx,
            &record.principal_kind,
            &record.principal_id,
            Some(input.spec_id),
        )
        .await?;
        let held = match (&own, &own_subject) {
            (Some(r), Some(s)) if quota.principal.matches(s) => r.amounts(),
            _ => Amounts::default(),
        };
        usages.push(QuotaUsage {
            quota,
            used_by_others,
            held,
        });
    }
    let request = AdmissionRequest {
        workload,
        amounts,
        cost: match &cost {
            Ok(_) => CostDemand::Known,
            Err(e) => CostDemand::Unknown(e.to_string()),
        },
    };
    if let Err(denial) = check(&request, &usages) {
        return Ok(decide(
            Decision::Refused(QuotaRefusal::Quota(denial)),
            false,
        ));
    }
    ledger::reserve(
        tx,
        &Reservation {
            spec_id: input.spec_id,
            namespace: input.namespace.to_string(),
            name: input.name.to_string(),
            owner: input.owner.map(str::to_string),
            cluster: input.cluster.to_string(),
            revision: input.revision_id.to_string(),
            replicas: i64::from(demand.replicas),
            cpu_millicores: to_i64(demand.cpu_millicores),
            memory_bytes: to_i64(demand.memory_bytes),
            gpus: to_i64(demand.gpus),
            gpu_model: demand.gpu_model.clone(),
            cost_microdollars: cost.as_ref().ok().map(|e| to_i64(e.hourly.0)),
        },
    )
    .await?;
    let quotas = validated
        .iter()
        .filter(|(_, q)| q.enabled)
        .map(|(_, q)| q.name.clone())
        .collect();
    // Budget was freed if the workload now holds less in some dimension, or left the coverage
    // of a quota (another owner).
    let freed = own
        .as_ref()
        .is_some_and(|r| !r.amounts().fits_within(&amounts) || r.owner.as_deref() != input.owner);
    Ok(decide(Decision::Admitted { quotas }, freed))
}

/// `LatticeService` → `Service`, as messages name workloads.
pub fn workload_word(kind: &str) -> &str {
    kind.strip_prefix("Lattice").unwrap_or(kind)
}
