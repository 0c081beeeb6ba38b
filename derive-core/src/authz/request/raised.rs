//! A gate request as derivation raises it: the question ([`Gate`] on a [`ResourceRef`]), the
//! workload asking, and the spec fields that raised it (for the denial message). The pipeline and
//! the mesh emit these directly; [`RaisedRequest::gate_request`] is the question the evaluator
//! answers.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{GateRequest, ResourceRef};
use crate::authz::gate::Gate;
use crate::authz::principal::ServicePrincipal;

/// One gate request a spec raised: may `principal` perform `action` on `resource`? The resource
/// is named as the spec wrote it (an image stays `nginx`); `fields` are the spec fields that use
/// the feature, sorted (e.g. `spec.workload.containers.main.image`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RaisedRequest {
    /// The Cedar action.
    pub action: Gate,
    /// The resource asked about, as written in the spec.
    #[serde(with = "written_resource")]
    pub resource: ResourceRef,
    /// The workload asking.
    pub principal: ServicePrincipal,
    /// Spec field paths that use the feature, sorted.
    pub fields: Vec<String>,
}

impl RaisedRequest {
    /// The question the evaluator answers: the same action on the resource in its canonical form
    /// (see [`ResourceRef::canonical`]), so denials and `latticectl auth can-i` agree on the id.
    pub fn gate_request(&self) -> GateRequest {
        GateRequest::new(self.action, self.resource.canonical())
    }
}

/// Collects gate requests, merging duplicates (same action and resource) and keeping every
/// field that raised them; [`RaisedRequestSet::into_sorted`] gives the canonical list.
#[derive(Debug, Default)]
pub struct RaisedRequestSet {
    requests: BTreeMap<(Gate, ResourceRef), BTreeSet<String>>,
}

impl RaisedRequestSet {
    /// Records that `field` raises `action` on `resource`.
    pub fn ask(&mut self, action: Gate, resource: ResourceRef, field: impl Into<String>) {
        self.requests
            .entry((action, resource))
            .or_default()
            .insert(field.into());
    }

    /// The requests of `principal`, sorted by action then resource, each once.
    pub fn into_sorted(self, principal: &ServicePrincipal) -> Vec<RaisedRequest> {
        self.requests
            .into_iter()
            .map(|((action, resource), fields)| RaisedRequest {
                action,
                resource,
                principal: principal.clone(),
                fields: fields.into_iter().collect(),
            })
            .collect()
    }
}

/// The derived output's shape of a resource, `{type, id, attributes}` (the evaluator's stored
/// questions keep [`ResourceRef`]'s own field names).
mod written_resource {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::authz::request::{AttrValue, ResourceRef, ResourceType};

    #[derive(Serialize)]
    struct Borrowed<'a> {
        #[serde(rename = "type")]
        type_: ResourceType,
        id: &'a str,
        attributes: &'a BTreeMap<String, AttrValue>,
    }

    #[derive(Deserialize)]
    struct Owned {
        #[serde(rename = "type")]
        type_: ResourceType,
        id: String,
        attributes: BTreeMap<String, AttrValue>,
    }

    pub(super) fn serialize<S: Serializer>(r: &ResourceRef, s: S) -> Result<S::Ok, S::Error> {
        Borrowed {
            type_: r.type_name,
            id: &r.id,
            attributes: &r.attrs,
        }
        .serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ResourceRef, D::Error> {
        let owned = Owned::deserialize(d)?;
        Ok(ResourceRef {
            type_name: owned.type_,
            id: owned.id,
            attrs: owned.attributes,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::authz::principal::WorkloadKind;

    fn raised(action: Gate, resource: ResourceRef) -> RaisedRequest {
        let mut set = RaisedRequestSet::default();
        set.ask(action, resource, "spec.workload.containers.main.image");
        set.into_sorted(&ServicePrincipal::new("shop", "api", WorkloadKind::Service))
            .remove(0)
    }

    #[test]
    fn image_ids_are_normalised_for_the_evaluator_and_attributes_kept() {
        let written = ResourceRef {
            id: "nginx".into(),
            ..ResourceRef::image("nginx").unwrap()
        };
        let request = raised(Gate::DeployImage, written).gate_request();
        assert_eq!(request.action, Gate::DeployImage);
        assert_eq!(request.resource, ResourceRef::image("nginx").unwrap());
    }

    #[test]
    fn the_derived_shape_round_trips() {
        let request = raised(
            Gate::AccessExternalEndpoint,
            ResourceRef::external_endpoint("api.stripe.com", 443, "https"),
        );
        let value = serde_json::to_value(&request).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "action": "AccessExternalEndpoint",
                "resource": {
                    "type": "ExternalEndpoint",
                    "id": "api.stripe.com:443",
                    "attributes": {"host": "api.stripe.com", "port": 443, "protocol": "https"},
                },
                "principal": {"namespace": "shop", "name": "api", "kind": "service"},
                "fields": ["spec.workload.containers.main.image"],
            })
        );
        assert_eq!(
            serde_json::from_value::<RaisedRequest>(value).unwrap(),
            request
        );
    }
}
