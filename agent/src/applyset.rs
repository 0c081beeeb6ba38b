//! kubectl's ApplySet conventions (KEP-3659) for the objects of one spec. The spec's inventory
//! ConfigMap is the ApplySet *parent*: it carries the `applyset.kubernetes.io/id` label, the
//! `tooling` annotation and the group-kinds and namespaces its members live in; every object the
//! agent applies for the spec carries `applyset.kubernetes.io/part-of: <id>`. So `kubectl get`
//! with a label selector lists a spec's objects, kubectl refuses to prune a set it does not own
//! (the tooling differs), and the agent never deletes an object that belongs to another set.
//!
//! Everything here is pure: the id is computed exactly as kubectl computes it.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::object_ref::ObjectRef;

/// Label on a parent naming its ApplySet id.
pub const ID_LABEL: &str = "applyset.kubernetes.io/id";
/// Label on a member naming the id of the ApplySet it belongs to.
pub const PART_OF_LABEL: &str = "applyset.kubernetes.io/part-of";
/// Annotation on a parent naming the tool that manages the set (`<tool>/<version>`).
pub const TOOLING_ANNOTATION: &str = "applyset.kubernetes.io/tooling";
/// Annotation on a parent listing the group-kinds of its members (`Kind.group`, sorted).
pub const CONTAINS_GROUP_KINDS_ANNOTATION: &str = "applyset.kubernetes.io/contains-group-kinds";
/// Annotation on a parent listing member namespaces other than its own (sorted).
pub const ADDITIONAL_NAMESPACES_ANNOTATION: &str = "applyset.kubernetes.io/additional-namespaces";
/// Our tooling value. kubectl refuses to apply or prune a set whose tooling is not its own.
pub const TOOLING: &str = "lattice/v1";
/// The label every derived object carries; an unlabelled object predating ApplySet labels is
/// the agent's only if it carries this.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY_LABEL`] on derived objects.
pub const MANAGED_BY: &str = "lattice";

/// The ApplySet id of a ConfigMap parent `name` in `namespace`:
/// `applyset-<base64url(sha256(<name>.<namespace>.ConfigMap.))>-v1`, as kubectl computes it.
pub fn config_map_parent_id(name: &str, namespace: &str) -> String {
    parent_id(name, namespace, "ConfigMap", "")
}

/// The ApplySet id of any parent object (`group` is empty for the core group).
pub fn parent_id(name: &str, namespace: &str, kind: &str, group: &str) -> String {
    let unencoded = [name, namespace, kind, group].join(".");
    let hashed = Sha256::digest(unencoded.as_bytes());
    format!("applyset-{}-v1", URL_SAFE_NO_PAD.encode(hashed))
}

/// `Kind.group` of an object, or `Kind` for the core group (`v1`), as kubectl writes group-kinds.
pub fn group_kind(object: &ObjectRef) -> String {
    match object.api_version.split_once('/') {
        Some((group, _version)) => format!("{}.{group}", object.kind),
        None => object.kind.clone(),
    }
}

/// The parent's ApplySet annotations for a set whose members are `members` and whose parent lives
/// in `parent_namespace`. `members` may be a superset of what exists (the inventory is), which
/// the convention allows: the group-kinds and namespaces only bound where to look.
pub fn parent_annotations(
    members: &[ObjectRef],
    parent_namespace: &str,
) -> BTreeMap<String, String> {
    let group_kinds: BTreeSet<String> = members.iter().map(group_kind).collect();
    let namespaces: BTreeSet<&str> = members
        .iter()
        .filter_map(|o| o.namespace.as_deref())
        .filter(|ns| *ns != parent_namespace)
        .collect();
    let mut annotations = BTreeMap::from([
        (TOOLING_ANNOTATION.to_string(), TOOLING.to_string()),
        (
            CONTAINS_GROUP_KINDS_ANNOTATION.to_string(),
            group_kinds.into_iter().collect::<Vec<_>>().join(","),
        ),
    ]);
    if !namespaces.is_empty() {
        annotations.insert(
            ADDITIONAL_NAMESPACES_ANNOTATION.to_string(),
            namespaces.into_iter().collect::<Vec<_>>().join(","),
        );
    }
    annotations
}

/// Adds `part-of: id` to a manifest's labels (creating `metadata.labels` if needed). A manifest
/// that is not a JSON object with an object `metadata` is left alone: plan parsing has already
/// refused those.
pub fn label_member(body: &mut Value, id: &str) {
    let Some(metadata) = body.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let labels = metadata
        .entry("labels")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if let Some(labels) = labels.as_object_mut() {
        labels.insert(PART_OF_LABEL.to_string(), Value::String(id.to_string()));
    }
}

/// Whose set a live object belongs to, read from its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    /// It carries `part-of` with this set's id.
    ThisSet,
    /// It carries `part-of` with another set's id: another spec (or tool) owns it.
    OtherSet(String),
    /// No `part-of` label, but `managed-by: lattice`: applied before the agent labelled members.
    LegacyLattice,
    /// Neither: the agent did not create it.
    Foreign,
}

impl Membership {
    /// Reads `labels` of a live object against the set `id`.
    pub fn of(labels: Option<&BTreeMap<String, String>>, id: &str) -> Self {
        let label = |key: &str| labels.and_then(|l| l.get(key)).map(String::as_str);
        match label(PART_OF_LABEL) {
            Some(owner) if owner == id => Membership::ThisSet,
            Some(owner) => Membership::OtherSet(owner.to_string()),
            None if label(MANAGED_BY_LABEL) == Some(MANAGED_BY) => Membership::LegacyLattice,
            None => Membership::Foreign,
        }
    }

    /// True when the agent may delete the object for this set (field ownership is checked too).
    pub fn may_delete(&self) -> bool {
        matches!(self, Membership::ThisSet | Membership::LegacyLattice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(api_version: &str, kind: &str, namespace: Option<&str>) -> ObjectRef {
        ObjectRef {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: namespace.map(str::to_string),
            name: "x".into(),
        }
    }

    #[test]
    fn the_id_is_kubectls_base64url_sha256_of_name_namespace_kind_group() {
        // kubectl's own test (staging/src/k8s.io/kubectl/pkg/cmd/apply/apply_test.go) expects this
        // id for the parent Secret `test/my-set`.
        assert_eq!(
            parent_id("my-set", "test", "Secret", ""),
            "applyset-0eFHV8ySqp7XoShsGvyWFQD3s96yqwHmzc4e0HR1dsY-v1"
        );
        // python3: base64.urlsafe_b64encode(sha256(b"test-applyset.default.ConfigMap.")), unpadded.
        assert_eq!(
            config_map_parent_id("test-applyset", "default"),
            "applyset-3cVSYgo2g7EU4zdtru8Ps0p5Yy4v4IXRqkOLumMJHss-v1"
        );
        let id = config_map_parent_id("lattice-agent-inventory-0123", "lattice-system");
        assert!(id.len() <= 63, "a valid label value: {id}");
        assert!(
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(
            id,
            config_map_parent_id("lattice-agent-inventory-0124", "lattice-system")
        );
        assert_ne!(
            id,
            parent_id(
                "lattice-agent-inventory-0123",
                "lattice-system",
                "Secret",
                ""
            )
        );
    }

    #[test]
    fn group_kinds_are_kind_dot_group_and_bare_for_the_core_group() {
        assert_eq!(
            group_kind(&obj("apps/v1", "Deployment", Some("a"))),
            "Deployment.apps"
        );
        assert_eq!(group_kind(&obj("v1", "Service", Some("a"))), "Service");
        assert_eq!(
            group_kind(&obj("cilium.io/v2", "CiliumNetworkPolicy", Some("a"))),
            "CiliumNetworkPolicy.cilium.io"
        );
    }

    #[test]
    fn parent_annotations_list_sorted_group_kinds_and_other_namespaces() {
        let members = [
            obj("v1", "Service", Some("shop")),
            obj("apps/v1", "Deployment", Some("shop")),
            obj("v1", "Service", Some("billing")),
            obj("rbac.authorization.k8s.io/v1", "ClusterRole", None),
            obj("v1", "ConfigMap", Some("lattice-system")),
        ];
        let a = parent_annotations(&members, "lattice-system");
        assert_eq!(a[TOOLING_ANNOTATION], "lattice/v1");
        assert_eq!(
            a[CONTAINS_GROUP_KINDS_ANNOTATION],
            "ClusterRole.rbac.authorization.k8s.io,ConfigMap,Deployment.apps,Service"
        );
        assert_eq!(a[ADDITIONAL_NAMESPACES_ANNOTATION], "billing,shop");
        let only_local = parent_annotations(&members[4..], "lattice-system");
        assert!(!only_local.contains_key(ADDITIONAL_NAMESPACES_ANNOTATION));
    }

    #[test]
    fn members_are_labelled_without_touching_other_labels() {
        let mut with_labels = json!({"metadata": {"name": "a", "labels": {"app": "a"}}});
        label_member(&mut with_labels, "applyset-x-v1");
        assert_eq!(
            with_labels["metadata"]["labels"],
            json!({"app": "a", PART_OF_LABEL: "applyset-x-v1"})
        );
        let mut bare = json!({"metadata": {"name": "a"}});
        label_member(&mut bare, "applyset-x-v1");
        assert_eq!(bare["metadata"]["labels"][PART_OF_LABEL], "applyset-x-v1");
    }

    #[test]
    fn only_this_sets_members_and_unlabelled_lattice_objects_may_be_deleted() {
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let ours = labels(&[
            (PART_OF_LABEL, "applyset-a-v1"),
            (MANAGED_BY_LABEL, "lattice"),
        ]);
        assert_eq!(
            Membership::of(Some(&ours), "applyset-a-v1"),
            Membership::ThisSet
        );
        assert_eq!(
            Membership::of(Some(&ours), "applyset-b-v1"),
            Membership::OtherSet("applyset-a-v1".into())
        );
        let legacy = labels(&[(MANAGED_BY_LABEL, "lattice")]);
        assert_eq!(
            Membership::of(Some(&legacy), "applyset-a-v1"),
            Membership::LegacyLattice
        );
        let helm = labels(&[(MANAGED_BY_LABEL, "Helm")]);
        assert_eq!(
            Membership::of(Some(&helm), "applyset-a-v1"),
            Membership::Foreign
        );
        assert_eq!(Membership::of(None, "applyset-a-v1"), Membership::Foreign);
        assert!(Membership::ThisSet.may_delete());
        assert!(Membership::LegacyLattice.may_delete());
        assert!(!Membership::OtherSet("x".into()).may_delete());
        assert!(!Membership::Foreign.may_delete());
    }
}
