//! A `LatticeQuota` document: envelope checked, deserialized strictly, validated.

use lattice_derive::FieldError;
use lattice_derive::quota::{LatticeQuota, Quota, validate_quota};
use serde_json::Value;

use super::{CLUSTER_SCOPED_METADATA_FIELDS, parse_kind};

/// A valid quota and the normalised document to store.
#[derive(Debug, Clone)]
pub struct QuotaDocument {
    /// The validated quota.
    pub quota: Quota,
    /// The document as stored (no status).
    pub document: Value,
}

/// Checks, reads and validates one `LatticeQuota` document.
pub fn parse_quota(value: Value) -> Result<QuotaDocument, Vec<FieldError>> {
    let quota: LatticeQuota = parse_kind(value, CLUSTER_SCOPED_METADATA_FIELDS)?;
    let valid = validate_quota(&quota)?;
    let mut document = serde_json::to_value(&quota).unwrap_or_default();
    if let Some(map) = document.as_object_mut() {
        map.remove("status");
    }
    Ok(QuotaDocument {
        quota: valid,
        document,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lattice_derive::quota::{QuotaPrincipal, QuotaResource};

    fn doc(yaml: &str) -> Value {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn a_team_quota_document_is_read() {
        let q = parse_quota(doc(
            "apiVersion: lattice.dev/v1alpha1\nkind: LatticeQuota\nmetadata:\n  name: commerce\nspec:\n  principal: 'Lattice::Group::\"commerce\"'\n  limits:\n    cpu: 2\n    memory: 8Gi\n    nvidia.com/gpu: 1\n  maxPerWorkload:\n    cpu: 1500m\n",
        ))
        .unwrap();
        assert_eq!(q.quota.principal, QuotaPrincipal::Group("commerce".into()));
        assert_eq!(q.quota.limits[&QuotaResource::Cpu], 2000);
        assert_eq!(q.quota.max_per_workload[&QuotaResource::Cpu], 1500);
        assert_eq!(q.document["spec"]["limits"]["cpu"], "2");
    }

    #[test]
    fn unknown_limit_keys_and_bad_principals_name_their_field() {
        let errors = parse_quota(doc(
            "apiVersion: lattice.dev/v1alpha1\nkind: LatticeQuota\nmetadata:\n  name: commerce\nspec:\n  principal: commerce\n  limits:\n    pods: 3\n",
        ))
        .unwrap_err();
        assert_eq!(errors[0].field, "spec.limits.pods");
        assert!(errors[0].message.contains("unknown field"), "{errors:?}");
        let errors = parse_quota(doc(
            "apiVersion: lattice.dev/v1alpha1\nkind: LatticeQuota\nmetadata:\n  name: commerce\nspec:\n  principal: commerce\n  limits:\n    cpu: 1\n",
        ))
        .unwrap_err();
        assert_eq!(errors[0].field, "spec.principal");
    }
}
