//! CustomResourceDefinitions generated from the Rust spec types, so the CRDs in `deploy/crds/`
//! can never drift from what the cell accepts.

use kube::CustomResourceExt;

use crate::compliance::LatticeComplianceProfile;
use crate::fleet_policy::LatticeFleetPolicy;
use crate::quota::LatticeQuota;
use crate::spec::{CedarPolicy, LatticeCluster, LatticeMeshMember, LatticeService};

/// A generated CRD: the file name it is written to under `deploy/crds/` and its YAML.
pub struct GeneratedCrd {
    /// File name, `<group>_<plural>.yaml` like upstream projects.
    pub file_name: String,
    /// The CRD as YAML.
    pub yaml: String,
}

/// Every Lattice CRD, rendered as YAML.
pub fn all_crds() -> Result<Vec<GeneratedCrd>, serde_saphyr::ser::Error> {
    let crds = [
        LatticeService::crd(),
        LatticeMeshMember::crd(),
        CedarPolicy::crd(),
        LatticeQuota::crd(),
        LatticeCluster::crd(),
        LatticeComplianceProfile::crd(),
        LatticeFleetPolicy::crd(),
    ];
    crds.iter()
        .map(|crd| {
            let plural = &crd.spec.names.plural;
            Ok(GeneratedCrd {
                file_name: format!("{}_{plural}.yaml", crd.spec.group),
                yaml: format!(
                    "# Generated from derive-core spec types; do not edit. Regenerate with:\n#   UPDATE_CRDS=1 cargo test -p lattice-derive --test crds\n{}",
                    serde_saphyr::to_string(crd)?
                ),
            })
        })
        .collect()
}
