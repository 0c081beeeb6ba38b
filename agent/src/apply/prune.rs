//! Prune set computation. The inventory records every object the agent may have created for a
//! spec (written before an apply starts, so a crash mid-apply cannot orphan an object); after a
//! revision applied cleanly, whatever the inventory holds that the revision does not is stale.

use std::collections::BTreeSet;

use crate::object_ref::ObjectRef;

/// Objects in `previous` but not in `desired`, in reverse of their previous order, so dependants
/// (later layers) go before what they depend on.
pub fn stale_objects(previous: &[ObjectRef], desired: &[ObjectRef]) -> Vec<ObjectRef> {
    let keep: BTreeSet<&ObjectRef> = desired.iter().collect();
    previous
        .iter()
        .rev()
        .filter(|o| !keep.contains(o))
        .cloned()
        .collect()
}

/// The inventory to record before applying `desired`: the new objects in apply order, then every
/// previously recorded object not among them (a superset of what can exist in the cluster).
pub fn inventory_before_apply(previous: &[ObjectRef], desired: &[ObjectRef]) -> Vec<ObjectRef> {
    let mut seen: BTreeSet<&ObjectRef> = BTreeSet::new();
    desired
        .iter()
        .chain(previous.iter())
        .filter(|o| seen.insert(o))
        .cloned()
        .collect()
}

/// The inventory after an apply: `desired` plus the stale objects that could not be removed.
pub fn inventory_after_prune(desired: &[ObjectRef], still_present: &[ObjectRef]) -> Vec<ObjectRef> {
    // `still_present` comes from `stale_objects`, i.e. reversed; restore the recorded order.
    let mut left: Vec<ObjectRef> = still_present.iter().rev().cloned().collect();
    left.retain(|o| !desired.contains(o));
    inventory_before_apply(&left, desired)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn obj(name: &str) -> ObjectRef {
        ObjectRef {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some("shop".into()),
            name: name.into(),
        }
    }

    fn names(objs: &[ObjectRef]) -> Vec<&str> {
        objs.iter().map(|o| o.name.as_str()).collect()
    }

    #[test]
    fn stale_objects_are_those_no_longer_desired_in_reverse_order() {
        let previous = [obj("a"), obj("b"), obj("c"), obj("d")];
        let desired = [obj("c"), obj("a"), obj("e")];
        assert_eq!(names(&stale_objects(&previous, &desired)), vec!["d", "b"]);
    }

    #[test]
    fn nothing_is_stale_on_first_apply_or_unchanged_revision() {
        assert!(stale_objects(&[], &[obj("a")]).is_empty());
        assert!(stale_objects(&[obj("a")], &[obj("a")]).is_empty());
    }

    #[test]
    fn same_name_in_another_namespace_or_kind_is_a_different_object() {
        let mut other_ns = obj("a");
        other_ns.namespace = Some("other".into());
        let mut other_kind = obj("a");
        other_kind.kind = "Secret".into();
        let stale = stale_objects(&[other_ns.clone(), other_kind.clone()], &[obj("a")]);
        assert_eq!(stale, vec![other_kind, other_ns]);
    }

    #[test]
    fn inventory_before_apply_is_desired_then_leftovers() {
        let previous = [obj("a"), obj("b")];
        let desired = [obj("c"), obj("a")];
        assert_eq!(
            names(&inventory_before_apply(&previous, &desired)),
            vec!["c", "a", "b"]
        );
    }

    #[test]
    fn inventory_after_prune_keeps_only_what_could_not_be_removed() {
        let desired = [obj("a")];
        let still = [obj("c"), obj("b")]; // reversed, as stale_objects returns them
        assert_eq!(
            names(&inventory_after_prune(&desired, &still)),
            vec!["a", "b", "c"]
        );
        assert_eq!(names(&inventory_after_prune(&desired, &[])), vec!["a"]);
    }

    fn objs() -> impl Strategy<Value = Vec<ObjectRef>> {
        proptest::collection::vec("[a-e]", 0..8).prop_map(|v| {
            let mut seen = BTreeSet::new();
            v.into_iter()
                .filter(|n| seen.insert(n.clone()))
                .map(|n| obj(&n))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn recorded_inventory_covers_old_and_new_and_prune_removes_exactly_the_difference(
            previous in objs(), desired in objs()
        ) {
            let recorded = inventory_before_apply(&previous, &desired);
            for o in previous.iter().chain(desired.iter()) {
                prop_assert!(recorded.contains(o));
            }
            let stale = stale_objects(&recorded, &desired);
            for o in &stale { prop_assert!(!desired.contains(o)); }
            prop_assert_eq!(stale.len() + desired.len(), recorded.len());
            prop_assert_eq!(inventory_after_prune(&desired, &[]), desired.clone());
        }
    }
}
