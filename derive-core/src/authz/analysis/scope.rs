//! A policy's scope as the analysis reasons about it, and the one question it asks of two scopes:
//! does every request the inner one matches also match the outer one? Answered from the scope
//! constraints and Cedar's request types alone, never from conditions or entity data, so a "yes"
//! is always right and a "no" may only mean "cannot tell".

use std::collections::BTreeSet;

use cedar_policy::{ActionConstraint, EntityUid, Policy, PrincipalConstraint, ResourceConstraint};

use crate::authz::gate::Gate;
use crate::authz::policy::{PolicyInfo, RequestShape};

/// A principal or resource scope constraint, principal and resource alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum EntityScope {
    /// `principal` / `resource`: anything.
    Any,
    /// `principal is T`: any entity of one type.
    Is,
    /// `principal == E`.
    Eq(EntityUid),
    /// `principal in E` or `principal is T in E`: E and its descendants (of type T).
    In(EntityUid),
}

impl EntityScope {
    /// Matches every entity of the types the policy applies to (a bare variable or `is T`).
    pub fn is_unconstrained(&self) -> bool {
        matches!(self, EntityScope::Any | EntityScope::Is)
    }

    /// Whether every entity `inner` matches is matched by `self`, given that the entity types
    /// are already known to be covered. Without the entity hierarchy only `E in E` is known.
    fn covers(&self, inner: &EntityScope) -> bool {
        match (self, inner) {
            (EntityScope::Any | EntityScope::Is, _) => true,
            (EntityScope::Eq(outer), EntityScope::Eq(inner)) => outer == inner,
            (EntityScope::In(outer), EntityScope::Eq(inner) | EntityScope::In(inner)) => {
                outer == inner
            }
            _ => false,
        }
    }
}

/// A policy reduced to what the analysis uses.
#[derive(Debug, Clone)]
pub(super) struct Scope<'a> {
    pub info: &'a PolicyInfo,
    pub principal: EntityScope,
    pub resource: EntityScope,
    /// The actions named in the scope, `None` for an unconstrained action.
    pub actions: Option<BTreeSet<String>>,
    /// Whether the policy has a `when` or `unless` clause.
    pub conditioned: bool,
}

impl<'a> Scope<'a> {
    pub fn of(info: &'a PolicyInfo, policy: &Policy) -> Self {
        let principal = match policy.principal_constraint() {
            PrincipalConstraint::Any => EntityScope::Any,
            PrincipalConstraint::Is(_) => EntityScope::Is,
            PrincipalConstraint::Eq(e) => EntityScope::Eq(e),
            PrincipalConstraint::In(e) | PrincipalConstraint::IsIn(_, e) => EntityScope::In(e),
        };
        let resource = match policy.resource_constraint() {
            ResourceConstraint::Any => EntityScope::Any,
            ResourceConstraint::Is(_) => EntityScope::Is,
            ResourceConstraint::Eq(e) => EntityScope::Eq(e),
            ResourceConstraint::In(e) | ResourceConstraint::IsIn(_, e) => EntityScope::In(e),
        };
        let actions = match policy.action_constraint() {
            ActionConstraint::Any => None,
            ActionConstraint::Eq(a) => Some(BTreeSet::from([a.to_string()])),
            ActionConstraint::In(list) => Some(list.iter().map(ToString::to_string).collect()),
        };
        Self {
            info,
            principal,
            resource,
            actions,
            conditioned: policy.has_non_scope_constraint(),
        }
    }

    /// The sensitive gates the policy can apply to.
    pub fn sensitive_gates(&self) -> BTreeSet<Gate> {
        self.info
            .gates()
            .into_iter()
            .filter(|g| g.is_sensitive())
            .collect()
    }

    /// Whether every request `inner` can match is matched by this scope (conditions ignored:
    /// callers only ask this of an unconditioned outer policy). The request types come from
    /// Cedar's typechecker, so `is` constraints and action lists are compared exactly.
    pub fn covers(&self, inner: &Scope<'_>) -> bool {
        let types_covered: bool = inner
            .info
            .applies_to
            .iter()
            .all(|shape: &RequestShape| self.info.applies_to.contains(shape));
        !inner.info.applies_to.is_empty()
            && types_covered
            && self.principal.covers(&inner.principal)
            && self.resource.covers(&inner.resource)
    }

    /// Whether the two scopes are written the same way (same principal, action set and resource
    /// constraints).
    pub fn same_scope_as(&self, other: &Scope<'_>) -> bool {
        self.principal == other.principal
            && self.resource == other.resource
            && self.actions == other.actions
            && self.info.applies_to == other.info.applies_to
    }
}
