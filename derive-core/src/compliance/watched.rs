//! The kinds an agent must watch for its cluster's inventory: every kind named by a selector of
//! a profile that selects the cluster (`forEach` subjects and probed objects alike), once per
//! `apiVersion` and kind. The list is narrowed to one namespace only when every selector of the
//! kind names the same literal namespace; otherwise the whole kind is watched (a `{namespace}`
//! template can name any namespace). Label selectors are not passed on: probes filter labels
//! themselves, and a watch narrowed by one selector would hide what another selector needs.

use std::collections::BTreeMap;

use super::objects::CompiledSelector;
use super::template;
use super::validate::{CompiledProfile, ProbeCheck};

/// One kind to watch.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct WatchedKind {
    /// `group/version`, or `v1`.
    pub api_version: String,
    /// The kind.
    pub kind: String,
    /// Only this namespace, when every selector of the kind names it literally.
    pub namespace: Option<String>,
}

/// The selectors of `profile`, in profile order.
pub fn selectors(profile: &CompiledProfile) -> impl Iterator<Item = &CompiledSelector> {
    profile
        .controls
        .iter()
        .flat_map(|c| &c.probes)
        .flat_map(|p| match &p.check {
            ProbeCheck::Cedar(c) => vec![c.for_each.as_ref()],
            ProbeCheck::Existence(e) => vec![e.for_each.as_ref(), Some(&e.objects)],
            ProbeCheck::Configuration(c) => vec![Some(&c.objects)],
        })
        .flatten()
}

/// The kinds to watch for `profiles` (those selecting the cluster), sorted, without duplicates.
pub fn watched_kinds<'a>(
    profiles: impl IntoIterator<Item = &'a CompiledProfile>,
) -> Vec<WatchedKind> {
    // Per (apiVersion, kind): `Some(ns)` while every selector named that literal namespace.
    let mut kinds: BTreeMap<(String, String), Option<Option<String>>> = BTreeMap::new();
    for selector in profiles.into_iter().flat_map(selectors) {
        let literal = selector
            .namespace
            .as_ref()
            .filter(|ns| !template::has_placeholders(ns))
            .cloned();
        let key = (selector.api_version.clone(), selector.kind.kind.to_string());
        let entry = kinds.entry(key).or_insert(None);
        *entry = match entry.take() {
            None => Some(literal),
            Some(previous) if previous == literal => Some(previous),
            Some(_) => Some(None),
        };
    }
    kinds
        .into_iter()
        .map(|((api_version, kind), namespace)| WatchedKind {
            api_version,
            kind,
            namespace: namespace.flatten(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::spec::LatticeComplianceProfile;
    use crate::compliance::validate::validate_profile;

    #[test]
    fn every_selected_kind_once_narrowed_only_by_a_shared_literal_namespace() {
        let p: LatticeComplianceProfile = serde_json::from_value(serde_json::json!({
            "apiVersion": "lattice.dev/v1alpha1",
            "kind": "LatticeComplianceProfile",
            "metadata": {"name": "p"},
            "spec": {
                "framework": {"name": "f", "version": "1"},
                "controls": [{
                    "id": "C1", "title": "t", "severity": "high",
                    "probes": [
                        {"name": "deny", "existence": {"objects":
                            {"kind": "CiliumClusterwideNetworkPolicy", "name": "default-deny"}}},
                        {"name": "strict", "existence": {"objects":
                            {"kind": "PeerAuthentication", "namespace": "istio-system", "name": "default"}}},
                        {"name": "pdb", "existence": {
                            "forEach": {"kind": "Deployment", "where": "@.spec.replicas >= 2"},
                            "objects": {"kind": "PodDisruptionBudget", "namespace": "{namespace}"}}},
                        {"name": "deploy-in-shop", "configuration": {
                            "objects": {"kind": "Deployment", "namespace": "shop"},
                            "path": "spec.replicas", "oneOf": [1, 2]}},
                    ],
                }],
            },
        }))
        .unwrap();
        let p = validate_profile(&p).unwrap();
        let kinds = watched_kinds([&p]);
        let show: Vec<String> = kinds
            .iter()
            .map(|k| format!("{} {} {:?}", k.api_version, k.kind, k.namespace))
            .collect();
        assert_eq!(
            show,
            [
                "apps/v1 Deployment None",
                "cilium.io/v2 CiliumClusterwideNetworkPolicy None",
                "policy/v1 PodDisruptionBudget None",
                "security.istio.io/v1 PeerAuthentication Some(\"istio-system\")",
            ]
        );
    }
}
