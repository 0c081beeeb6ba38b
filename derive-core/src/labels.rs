//! Labels and annotations every derived object carries, so the agent can find, prune and report
//! the objects of a spec, and people can see where an object came from.

use std::collections::BTreeMap;

/// `app.kubernetes.io/managed-by` value on every derived object.
pub const MANAGED_BY: &str = "lattice";
/// Label naming the owning spec's kind (`LatticeService`, …).
pub const SPEC_KIND_LABEL: &str = "lattice.dev/spec-kind";
/// Label naming the owning spec's name.
pub const SPEC_NAME_LABEL: &str = "lattice.dev/spec-name";
/// Label naming the owning service (used by ExternalSecret cleanup and selectors).
pub const SERVICE_LABEL: &str = "lattice.dev/service";
/// Label placing a spec on a cluster (read by the cell, not copied to derived objects).
pub const CLUSTER_LABEL: &str = "lattice.dev/cluster";
/// Annotation with the hash of the pod's configuration; a change rolls the pods.
pub const CONFIG_HASH_ANNOTATION: &str = "lattice.dev/config-hash";

/// Labels selecting the pods of a service (stable: never change for a given service).
pub fn selector_labels(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("app.kubernetes.io/name".to_string(), name.to_string())])
}

/// Labels selecting the Lattice-managed objects of a service (its Service, for scrapes), so an
/// unmanaged object that happens to share the name label is not picked up.
pub fn owner_selector(name: &str) -> BTreeMap<String, String> {
    let mut labels = selector_labels(name);
    labels.insert(
        "app.kubernetes.io/managed-by".to_string(),
        MANAGED_BY.to_string(),
    );
    labels
}

/// Labels every object derived from spec `kind`/`name` carries.
pub fn owner_labels(kind: &str, name: &str) -> BTreeMap<String, String> {
    let mut labels = selector_labels(name);
    labels.insert(
        "app.kubernetes.io/managed-by".to_string(),
        MANAGED_BY.to_string(),
    );
    labels.insert(SPEC_KIND_LABEL.to_string(), kind.to_string());
    labels.insert(SPEC_NAME_LABEL.to_string(), name.to_string());
    labels
}
