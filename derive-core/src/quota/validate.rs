//! Validation of a `LatticeQuota` into a [`Quota`]: the principal parsed, every quantity in
//! canonical units. Every problem is reported with its field path.

use serde::{Deserialize, Serialize};

use super::amounts::{Limits, QuotaResource};
use super::principal::QuotaPrincipal;
use super::spec::{LatticeQuota, ResourceList};
use crate::error::FieldError;
use crate::syntax::names::is_dns_subdomain;
use crate::syntax::quantity::Quantity;

/// A validated quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quota {
    /// `metadata.name`.
    pub name: String,
    /// Whose workloads it covers.
    pub principal: QuotaPrincipal,
    /// Total budget per dimension, canonical units.
    pub limits: Limits,
    /// Per-workload caps per dimension, canonical units.
    pub max_per_workload: Limits,
    /// Whether it is enforced.
    pub enabled: bool,
}

impl Quota {
    /// True if the quota constrains `resource` at all (budget or cap).
    pub fn constrains(&self, resource: QuotaResource) -> bool {
        self.limits.contains_key(&resource) || self.max_per_workload.contains_key(&resource)
    }
}

/// Validates `quota`; all problems are returned at once.
pub fn validate_quota(quota: &LatticeQuota) -> Result<Quota, Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = quota.metadata.name.clone().unwrap_or_default();
    if quota.metadata.name.is_none() {
        errors.push(FieldError::new("metadata.name", "is required"));
    } else if !is_dns_subdomain(&name) {
        errors.push(FieldError::new(
            "metadata.name",
            format!(
                "{name:?} is not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.')"
            ),
        ));
    }
    if quota.metadata.namespace.is_some() {
        errors.push(FieldError::new(
            "metadata.namespace",
            "LatticeQuota is cluster-scoped: remove metadata.namespace (the principal says whose workloads it covers)",
        ));
    }
    let principal = quota
        .spec
        .principal
        .parse::<QuotaPrincipal>()
        .map_err(|e| errors.push(FieldError::new("spec.principal", e.to_string())))
        .ok();
    let limits = resource_list(&quota.spec.limits, "spec.limits", &mut errors);
    let max_per_workload = quota
        .spec
        .max_per_workload
        .as_ref()
        .map(|caps| resource_list(caps, "spec.maxPerWorkload", &mut errors))
        .unwrap_or_default();
    if quota.spec.limits.entries().is_empty()
        && quota
            .spec
            .max_per_workload
            .as_ref()
            .is_none_or(|c| c.entries().is_empty())
    {
        errors.push(FieldError::new(
            "spec.limits",
            "set at least one of cpu, memory, nvidia.com/gpu or cost (in limits or maxPerWorkload)",
        ));
    }
    match (principal, errors.is_empty()) {
        (Some(principal), true) => Ok(Quota {
            name,
            principal,
            limits,
            max_per_workload,
            enabled: quota.spec.enabled.unwrap_or(true),
        }),
        _ => Err(errors),
    }
}

fn resource_list(list: &ResourceList, path: &str, errors: &mut Vec<FieldError>) -> Limits {
    let mut limits = Limits::new();
    for (key, value) in list.entries() {
        let Some(resource) = QuotaResource::from_key(key) else {
            continue;
        };
        let field = match resource {
            QuotaResource::Gpu => format!("{path}[{key}]"),
            _ => format!("{path}.{key}"),
        };
        match canonical(resource, value.as_str()) {
            Ok(v) => {
                limits.insert(resource, v);
            }
            Err(message) => errors.push(FieldError::new(field, message)),
        }
    }
    limits
}

/// A quantity in the canonical unit of `resource` (millicores, bytes, GPUs, micro-dollars/h).
pub fn canonical(resource: QuotaResource, text: &str) -> Result<u64, String> {
    let q = Quantity::parse(text).map_err(|e| e.to_string())?;
    let scale = match resource {
        QuotaResource::Cpu => 3,
        QuotaResource::Memory | QuotaResource::Gpu => 0,
        QuotaResource::Cost => 6,
    };
    let value = q
        .scaled_ceil(scale)
        .and_then(|v| u64::try_from(v).ok())
        .ok_or_else(|| format!("{text:?} is too large"))?;
    if resource == QuotaResource::Gpu && q.scaled_ceil(3) != Some(u128::from(value) * 1000) {
        return Err(format!("{text:?}: GPUs are whole devices; use an integer"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quota::spec::{LatticeQuotaSpec, QuantityValue};

    fn quota(principal: &str, limits: ResourceList) -> LatticeQuota {
        let mut q = LatticeQuota::new(
            "commerce",
            LatticeQuotaSpec {
                principal: principal.into(),
                limits,
                ..Default::default()
            },
        );
        q.metadata.namespace = None;
        q
    }

    fn cpu(v: &str) -> ResourceList {
        ResourceList {
            cpu: Some(QuantityValue::from(v)),
            ..Default::default()
        }
    }

    #[test]
    fn a_team_quota_validates_into_canonical_units() {
        let q = quota(
            r#"Lattice::Group::"commerce""#,
            ResourceList {
                cpu: Some("2".into()),
                memory: Some("8Gi".into()),
                gpu: Some("4".into()),
                cost: Some("12.5".into()),
            },
        );
        let v = validate_quota(&q).unwrap();
        assert_eq!(v.principal, QuotaPrincipal::Group("commerce".into()));
        assert_eq!(v.limits[&QuotaResource::Cpu], 2000);
        assert_eq!(v.limits[&QuotaResource::Memory], 8 << 30);
        assert_eq!(v.limits[&QuotaResource::Gpu], 4);
        assert_eq!(v.limits[&QuotaResource::Cost], 12_500_000);
        assert!(v.enabled);
        assert!(v.max_per_workload.is_empty());
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let mut q = quota(
            "commerce",
            ResourceList {
                cpu: Some("two".into()),
                gpu: Some("1500m".into()),
                ..Default::default()
            },
        );
        q.metadata.namespace = Some("shop".into());
        q.spec.max_per_workload = Some(ResourceList {
            memory: Some("-1Gi".into()),
            ..Default::default()
        });
        let errors = validate_quota(&q).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "metadata.namespace",
                "spec.principal",
                "spec.limits.cpu",
                "spec.limits[nvidia.com/gpu]",
                "spec.maxPerWorkload.memory"
            ]
        );
        assert!(errors[3].message.contains("whole devices"), "{errors:?}");
    }

    #[test]
    fn a_quota_without_any_constraint_is_refused() {
        let q = quota(
            r#"Lattice::User::"ana@example.com""#,
            ResourceList::default(),
        );
        let errors = validate_quota(&q).unwrap_err();
        assert_eq!(errors[0].field, "spec.limits");
        let mut capped = quota(
            r#"Lattice::User::"ana@example.com""#,
            ResourceList::default(),
        );
        capped.spec.max_per_workload = Some(cpu("1"));
        assert!(validate_quota(&capped).is_ok());
    }

    #[test]
    fn quantities_round_up_to_the_canonical_unit() {
        assert_eq!(canonical(QuotaResource::Cpu, "0.0001"), Ok(1));
        assert_eq!(canonical(QuotaResource::Cost, "0.0000001"), Ok(1));
        assert_eq!(canonical(QuotaResource::Gpu, "2"), Ok(2));
        assert!(canonical(QuotaResource::Gpu, "2.5").is_err());
    }
}
