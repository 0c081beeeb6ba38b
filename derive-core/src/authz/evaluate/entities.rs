//! Builds the Cedar request and entity store for one question, checked against the schema: a
//! resource with a missing or mistyped attribute, or a resource type the action does not take, is
//! an error here and so a denial, never a guess.

use std::collections::{HashMap, HashSet};

use cedar_policy::{Context, Entities, Entity, EntityUid, Request, RestrictedExpression};

use crate::authz::principal::{Principal, group_uid};
use crate::authz::request::{AttrValue, GateRequest};
use crate::authz::schema;

/// Cedar's request and the entities it refers to.
pub(super) struct CedarQuestion {
    pub request: Request,
    pub entities: Entities,
}

/// The Cedar request and entities for `principal` asking `question`; the error text says which
/// part does not fit the schema.
pub(super) fn build(
    principal: &Principal,
    question: &GateRequest,
) -> Result<CedarQuestion, String> {
    let schema = schema::schema();
    let principal_uid = principal.entity_uid();
    let resource_uid = question.resource.entity_uid();
    let request = Request::new(
        principal_uid.clone(),
        question.action.entity_uid(),
        resource_uid.clone(),
        Context::empty(),
        Some(schema),
    )
    .map_err(|e| e.to_string())?;

    let mut entities = principal_entities(principal)?;
    entities.push(entity(
        resource_uid,
        &question.resource.attrs,
        HashSet::new(),
    )?);
    let entities = Entities::from_entities(entities, Some(schema)).map_err(|e| e.to_string())?;
    Ok(CedarQuestion { request, entities })
}

fn principal_entities(principal: &Principal) -> Result<Vec<Entity>, String> {
    match principal {
        Principal::Service(service) => {
            let attrs: std::collections::BTreeMap<String, AttrValue> = [
                ("namespace", AttrValue::from(service.namespace.as_str())),
                ("name", AttrValue::from(service.name.as_str())),
                ("kind", AttrValue::from(service.kind.as_str())),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            Ok(vec![entity(service.entity_uid(), &attrs, HashSet::new())?])
        }
        Principal::User(user) => {
            let groups: HashSet<EntityUid> = user.groups.iter().map(|g| group_uid(g)).collect();
            let mut entities: Vec<Entity> = groups
                .iter()
                .map(|g| Entity::new_no_attrs(g.clone(), HashSet::new()))
                .collect();
            entities.push(Entity::new_no_attrs(principal.entity_uid(), groups));
            Ok(entities)
        }
        Principal::Group(name) => Ok(vec![Entity::new_no_attrs(group_uid(name), HashSet::new())]),
    }
}

fn entity<'a>(
    uid: EntityUid,
    attrs: impl IntoIterator<Item = (&'a String, &'a AttrValue)>,
    parents: HashSet<EntityUid>,
) -> Result<Entity, String> {
    let attrs: HashMap<String, RestrictedExpression> = attrs
        .into_iter()
        .map(|(k, v)| (k.clone(), expression(v)))
        .collect();
    Entity::new(uid, attrs, parents).map_err(|e| e.to_string())
}

fn expression(value: &AttrValue) -> RestrictedExpression {
    match value {
        AttrValue::String(s) => RestrictedExpression::new_string(s.clone()),
        AttrValue::Long(n) => RestrictedExpression::new_long(*n),
        AttrValue::Bool(b) => RestrictedExpression::new_bool(*b),
    }
}
