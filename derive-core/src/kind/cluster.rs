//! `LatticeCluster` as a [`SpecKind`]: its Cluster API objects ([`crate::capi::derive_cluster`]),
//! for the managing cluster's agent to apply. It raises no Cedar gate question (no image, secret
//! or override: who may provision clusters is decided by who may apply, decision 0043), takes no
//! part in the mesh and asks no quota.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::SpecKind;
use crate::capi::{CLUSTER_KIND, derive_cluster};
use crate::context::DeriveContext;
use crate::derived::Derived;
use crate::error::{DeriveError, FieldError};
use crate::spec::LatticeCluster;
use crate::spec::validate::validate_cluster;

impl SpecKind for LatticeCluster {
    const KIND: &'static str = CLUSTER_KIND;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn validate(&self, _ctx: &DeriveContext) -> Vec<FieldError> {
        validate_cluster(self)
    }

    fn derive(&self, _ctx: &DeriveContext) -> Result<Derived, DeriveError> {
        derive_cluster(self)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::kind::AnySpec;

    #[test]
    fn the_fixture_derives_through_the_trait_with_no_question() {
        let cluster: LatticeCluster =
            serde_saphyr::from_str(include_str!("../../../examples/clusters/edge-3.yaml")).unwrap();
        let spec: &dyn AnySpec = &cluster;
        assert_eq!(spec.kind(), "LatticeCluster");
        let ctx = DeriveContext::default();
        assert!(spec.validate(&ctx).is_empty());
        let policies = crate::authz::PolicySetVersion::empty();
        let authorized = spec.authorized_derivation(&ctx, &policies);
        assert!(authorized.questions.is_empty());
        let derived = authorized.result.unwrap();
        assert!(derived.find("Cluster", "edge-3").is_some());
        assert!(spec.demand().is_none() && spec.mesh_peer().is_none());
    }
}
