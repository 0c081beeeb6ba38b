//! Evaluation of a compiled profile on one cluster: every probe of every control, each finding
//! attributed to its control, probe, cluster and profile version. Pure: the same profile,
//! inventory and policy set always give the same results in the same order.

use super::cedar_probe::CedarAnswers;
use super::inventory::ClusterInventory;
use super::result::{ComplianceResult, Finding};
use super::validate::{CompiledProfile, ProbeCheck};
use crate::authz::PolicySetVersion;

impl CompiledProfile {
    /// Whether the profile applies to `cluster` (its `clusterSelector` matches the labels).
    pub fn selects(&self, cluster: &ClusterInventory) -> bool {
        self.cluster_selector.matches(&cluster.labels)
    }
}

/// Every result of `profile` on `cluster`, in profile order (control, probe, then the order the
/// probe found objects in); empty when the profile does not select the cluster.
pub fn evaluate_profile(
    profile: &CompiledProfile,
    cluster: &ClusterInventory,
    policies: &PolicySetVersion,
) -> Vec<ComplianceResult> {
    evaluate_profile_with(profile, cluster, &mut CedarAnswers::new(policies))
}

/// [`evaluate_profile`] with Cedar answers shared across calls: evaluating a fleet, pass the same
/// [`CedarAnswers`] for every cluster so each question is decided once per policy set version.
pub fn evaluate_profile_with(
    profile: &CompiledProfile,
    cluster: &ClusterInventory,
    answers: &mut CedarAnswers<'_>,
) -> Vec<ComplianceResult> {
    if !profile.selects(cluster) {
        return Vec::new();
    }
    let mut results = Vec::new();
    for control in &profile.controls {
        for probe in &control.probes {
            let findings = match &probe.check {
                ProbeCheck::Cedar(c) => c.evaluate(cluster, answers),
                ProbeCheck::Existence(e) => e.evaluate(cluster),
                ProbeCheck::Configuration(c) => c.evaluate(cluster),
            };
            results.extend(findings.into_iter().map(|f: Finding| ComplianceResult {
                profile: profile.name.clone(),
                profile_version: profile.version,
                control: control.id.clone(),
                severity: control.severity,
                probe: probe.name.clone(),
                cluster: cluster.name.clone(),
                object: f.object,
                observed: f.observed,
                expected: f.expected,
                result: f.result,
                message: f.message,
            }));
        }
    }
    results
}
