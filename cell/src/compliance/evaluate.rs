//! One evaluation pass: the chosen profiles on the chosen clusters they select, against the live
//! policy set and what the cell knows each cluster holds. Existence and configuration probes
//! (and the subjects of a `forEach`) read the inventory the cluster's agent reported (source
//! `cluster-inventory`, decision 0051); for a cluster whose agent has not reported one yet, the
//! manifests of the revisions delivered to the cluster and acknowledged as applied (source
//! `delivered-revisions`, decision 0047), so nobody mistakes them for the live cluster's state.
//! After recording, each evaluated cluster's agent gets its current results (for its
//! PolicyReports).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lattice_api::documents::compile_stored_profile;
use lattice_derive::compliance::validate::{CompiledProfile, ProbeCheck};
use lattice_derive::compliance::{CedarAnswers, ClusterInventory, evaluate_profile_with};

pub use super::error::ComplianceError;
use super::push::push_results;
use crate::state::CellState;
use crate::store::compliance::{Recorded, SourcedResult};

/// The source of a result judged by the policy set alone (a cedar probe without `forEach`).
pub const SOURCE_POLICY_SET: &str = "policy-set";
/// The source of a result judged on the objects of delivered, acknowledged revisions.
pub const SOURCE_DELIVERED: &str = "delivered-revisions";
/// The source of a result judged on the inventory the cluster's agent reported.
pub const SOURCE_INVENTORY: &str = "cluster-inventory";

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evaluated {
    /// Profiles evaluated.
    pub profiles: usize,
    /// (profile, cluster) pairs evaluated.
    pub evaluations: usize,
    /// Rows written.
    pub recorded: Recorded,
}

/// Evaluates the profiles named in `only` (all when `None`) on every cluster they select, at
/// time `at`, records the results, and marks the profiles evaluated at `at`. A stored profile that no longer compiles (it cannot be
/// stored invalid; this guards a change of the validator) is logged and skipped.
pub async fn evaluate_profiles(
    state: &CellState,
    only: Option<&[String]>,
    at: DateTime<Utc>,
) -> Result<Evaluated, ComplianceError> {
    evaluate_on(state, only, None, at).await
}

/// Evaluates the profiles named in `only` (all when `None`) on the clusters named in `clusters`
/// (all when `None`) at `at`. A pass over some clusters does not mark the profiles evaluated:
/// their interval is the whole fleet's.
pub async fn evaluate_on(
    state: &CellState,
    only: Option<&[String]>,
    clusters: Option<&[String]>,
    at: DateTime<Utc>,
) -> Result<Evaluated, ComplianceError> {
    let profiles: Vec<CompiledProfile> = state
        .store
        .compliance_profiles()
        .await?
        .into_iter()
        .filter(|p| only.is_none_or(|names| names.contains(&p.name)))
        .filter_map(
            |p| match compile_stored_profile(&p.document, p.generation) {
                Ok(compiled) => Some(compiled),
                Err(errors) => {
                    tracing::error!(profile = %p.name, ?errors, "stored compliance profile does not compile; skipped");
                    None
                }
            },
        )
        .collect();
    let mut done = Evaluated {
        profiles: profiles.len(),
        ..Evaluated::default()
    };
    if profiles.is_empty() {
        return Ok(done);
    }
    let live = {
        let mut conn = state.store.pool().acquire().await?;
        state.policies.live(&mut conn).await?
    };
    // A pass over some clusters reads only their facts.
    let mut delivered = state.store.delivered_objects(clusters).await?;
    let mut reported = state.store.cluster_inventories(clusters).await?;
    let mut answers = CedarAnswers::new(&live.policies);
    let chosen = state
        .store
        .clusters()
        .await?
        .into_iter()
        .filter(|c| clusters.is_none_or(|names| names.contains(&c.name)));
    for cluster in chosen {
        let labels: BTreeMap<String, String> =
            serde_json::from_value(cluster.labels.clone()).unwrap_or_default();
        // The agent's inventory when it has reported one, else what the cell delivered.
        let (objects, objects_source) = match reported.remove(&cluster.name) {
            Some(objects) => (objects, SOURCE_INVENTORY),
            None => (
                delivered.remove(&cluster.name).unwrap_or_default(),
                SOURCE_DELIVERED,
            ),
        };
        let inventory = ClusterInventory::new(cluster.name.clone(), labels, objects);
        let mut evaluated_here = false;
        for profile in profiles.iter().filter(|p| p.selects(&inventory)) {
            let results = evaluate_profile_with(profile, &inventory, &mut answers);
            let sourced: Vec<SourcedResult<'_>> = results
                .iter()
                .map(|r| SourcedResult {
                    result: r,
                    source: source_of(profile, &r.control, &r.probe, objects_source),
                })
                .collect();
            let recorded = state
                .store
                .record_compliance(&profile.name, &cluster.name, at, &sourced)
                .await?;
            done.evaluations += 1;
            done.recorded.inserted += recorded.inserted;
            done.recorded.extended += recorded.extended;
            evaluated_here = true;
        }
        if evaluated_here {
            push_results(state, &cluster.name).await?;
        }
    }
    if clusters.is_some() {
        return Ok(done);
    }
    // The interval counts from the latest evaluation, whatever triggered it.
    for profile in &profiles {
        state
            .store
            .mark_profile_evaluated(&profile.name, at)
            .await?;
    }
    Ok(done)
}

/// Where the facts of a probe's results come from: a cedar probe without `forEach` asks only the
/// policy set; every other probe reads objects.
fn source_of(
    profile: &CompiledProfile,
    control: &str,
    probe: &str,
    objects_source: &'static str,
) -> &'static str {
    let check = profile
        .controls
        .iter()
        .filter(|c| c.id == control)
        .flat_map(|c| &c.probes)
        .find(|p| p.name == probe)
        .map(|p| &p.check);
    match check {
        Some(ProbeCheck::Cedar(c)) if c.for_each.is_none() => SOURCE_POLICY_SET,
        _ => objects_source,
    }
}
