//! The bridge from what derivation collects ([`crate::gates::AuthzRequest`]: action, resource and
//! the spec fields that raised it) to what the evaluator answers ([`GateRequest`] for a
//! [`ServicePrincipal`]). The two models were built separately; this is the only place that maps
//! one onto the other.

use super::gate::Gate;
use super::principal::{ServicePrincipal, WorkloadKind};
use super::request::{AttrValue, GateRequest, ImageReference, ResourceRef, ResourceType};
use crate::gates::{self, AuthzRequest, GateAction, GatePrincipal, GateResource, GateResourceType};

impl From<GateAction> for Gate {
    fn from(action: GateAction) -> Self {
        match action {
            GateAction::DeployImage => Gate::DeployImage,
            GateAction::AllowTagReference => Gate::AllowTagReference,
            GateAction::AccessSecret => Gate::AccessSecret,
            GateAction::OverrideSecurity => Gate::OverrideSecurity,
            GateAction::AccessExternalEndpoint => Gate::AccessExternalEndpoint,
            GateAction::AccessVolume => Gate::AccessVolume,
        }
    }
}

impl From<GateResourceType> for ResourceType {
    fn from(type_: GateResourceType) -> Self {
        match type_ {
            GateResourceType::ImageRef => ResourceType::ImageRef,
            GateResourceType::SecretPath => ResourceType::SecretPath,
            GateResourceType::SecurityOverride => ResourceType::SecurityOverride,
            GateResourceType::ExternalEndpoint => ResourceType::ExternalEndpoint,
            GateResourceType::Volume => ResourceType::Volume,
        }
    }
}

impl From<&gates::AttrValue> for AttrValue {
    fn from(value: &gates::AttrValue) -> Self {
        match value {
            gates::AttrValue::String(s) => AttrValue::String(s.clone()),
            gates::AttrValue::Long(n) => AttrValue::Long(*n),
        }
    }
}

impl From<&GatePrincipal> for ServicePrincipal {
    /// The pipeline only derives `LatticeService`s (kind `service`); `job` and `model` map to
    /// their kinds so the bridge stays right when those pipelines arrive.
    fn from(principal: &GatePrincipal) -> Self {
        let kind = match principal.kind.as_str() {
            "job" => WorkloadKind::Job,
            "model" => WorkloadKind::Model,
            _ => WorkloadKind::Service,
        };
        ServicePrincipal::new(&principal.namespace, &principal.name, kind)
    }
}

impl From<&GateResource> for ResourceRef {
    /// Attributes are carried over as derivation filled them. Image ids are normalised (the
    /// pipeline keeps the image as written, the evaluator names `nginx` and
    /// `docker.io/library/nginx:latest` the same resource), so denials and `can-i` agree on the
    /// id; an image the evaluator's parser refuses keeps its id as written and is still judged
    /// on its attributes.
    fn from(resource: &GateResource) -> Self {
        let id = match resource.type_ {
            GateResourceType::ImageRef => resource
                .id
                .parse::<ImageReference>()
                .map_or_else(|_| resource.id.clone(), |image| image.to_string()),
            _ => resource.id.clone(),
        };
        let mut r = ResourceRef::new(resource.type_.into(), id);
        for (key, value) in &resource.attributes {
            r = r.with_attr(key.clone(), AttrValue::from(value));
        }
        r
    }
}

impl From<&AuthzRequest> for GateRequest {
    fn from(request: &AuthzRequest) -> Self {
        GateRequest::new(request.action.into(), ResourceRef::from(&request.resource))
    }
}

/// The evaluator's questions for derivation's requests, in the same order.
pub fn gate_requests(requests: &[AuthzRequest]) -> Vec<GateRequest> {
    requests.iter().map(GateRequest::from).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn request(action: GateAction, resource: GateResource) -> AuthzRequest {
        AuthzRequest {
            action,
            resource,
            principal: GatePrincipal {
                namespace: "shop".into(),
                name: "api".into(),
                kind: "service".into(),
            },
            fields: vec!["spec.workload.containers.main.image".into()],
        }
    }

    #[test]
    fn image_ids_are_normalised_and_attributes_kept() {
        let resource = GateResource {
            type_: GateResourceType::ImageRef,
            id: "nginx".into(),
            attributes: BTreeMap::from([
                ("registry".into(), "docker.io".into()),
                ("repository".into(), "library/nginx".into()),
                ("tag".into(), "latest".into()),
            ]),
        };
        let converted = GateRequest::from(&request(GateAction::DeployImage, resource));
        assert_eq!(converted.action, Gate::DeployImage);
        assert_eq!(converted.resource, ResourceRef::image("nginx").unwrap());
    }

    #[test]
    fn every_action_maps_to_the_gate_of_the_same_name() {
        for action in [
            GateAction::DeployImage,
            GateAction::AllowTagReference,
            GateAction::AccessSecret,
            GateAction::OverrideSecurity,
            GateAction::AccessExternalEndpoint,
            GateAction::AccessVolume,
        ] {
            assert_eq!(Gate::from(action).as_str(), action.as_str());
        }
        for type_ in [
            GateResourceType::ImageRef,
            GateResourceType::SecretPath,
            GateResourceType::SecurityOverride,
            GateResourceType::ExternalEndpoint,
            GateResourceType::Volume,
        ] {
            assert_eq!(ResourceType::from(type_).to_string(), type_.as_str());
        }
    }

    #[test]
    fn long_attributes_stay_longs_and_the_principal_is_the_workload() {
        let endpoint = GateResource {
            type_: GateResourceType::ExternalEndpoint,
            id: "api.stripe.com:443".into(),
            attributes: BTreeMap::from([
                ("host".into(), "api.stripe.com".into()),
                ("port".into(), gates::AttrValue::Long(443)),
                ("protocol".into(), "https".into()),
            ]),
        };
        let req = request(GateAction::AccessExternalEndpoint, endpoint);
        assert_eq!(
            GateRequest::from(&req).resource,
            ResourceRef::external_endpoint("api.stripe.com", 443, "https")
        );
        let principal = ServicePrincipal::from(&req.principal);
        assert_eq!(principal, "shop/api".parse().unwrap());
    }
}
