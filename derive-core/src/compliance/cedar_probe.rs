//! `cedar` probes: a principal/action/resource question asked of the live policy set, with the
//! answer that passes. With `forEach`, asked once per subject object (`{namespace}/{name}` as
//! principal: "every privileged Deployment has an OverrideSecurity permit").

use std::collections::HashMap;

use serde_json::Value;

use super::inventory::{ClusterInventory, ObjectRef};
use super::objects::CompiledSelector;
use super::result::{Finding, Outcome};
use super::spec::{CedarExpectation, CedarProbe};
use super::template::{self, Subject};
use crate::authz::gate::Gate;
use crate::authz::{
    Decision, GateRequest, PolicySetVersion, Principal, ResourceRef, ServicePrincipal,
    UserPrincipal, decide, schema,
};
use crate::error::FieldError;

/// A validated cedar probe.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledCedarProbe {
    /// Subjects, when asked per object.
    pub for_each: Option<CompiledSelector>,
    /// Principal template.
    pub principal: String,
    /// The action.
    pub action: Gate,
    /// Resource template.
    pub resource: String,
    /// The answer that passes.
    pub expect: CedarExpectation,
}

/// Placeholder values used to check that a templated question parses.
const SAMPLE: Subject<'static> = Subject {
    namespace: "namespace",
    name: "name",
};

/// Validates `probe` at `path` (e.g. `spec.controls[0].probes[1].cedar`).
pub fn compile(
    probe: &CedarProbe,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<CompiledCedarProbe> {
    let before = errors.len();
    let for_each = probe
        .for_each
        .as_ref()
        .and_then(|s| CompiledSelector::compile(s, &format!("{path}.forEach"), false, errors));
    let sample = probe.for_each.is_some().then_some(SAMPLE);
    let action = probe
        .action
        .parse::<Gate>()
        .map_err(|e| errors.push(FieldError::new(format!("{path}.action"), e.to_string())))
        .ok();
    let mut templated = |field: &str, text: &str| -> Option<String> {
        let field = format!("{path}.{field}");
        if let Err(message) = template::check(text) {
            errors.push(FieldError::new(field, message));
            return None;
        }
        if sample.is_none() && template::has_placeholders(text) {
            errors.push(FieldError::new(
                field,
                "{namespace} and {name} stand for a forEach subject; this probe has no forEach",
            ));
            return None;
        }
        Some(template::render(text, sample))
    };
    let principal_text = templated("principal", &probe.principal);
    let resource_text = templated("resource", &probe.resource);
    let principal = principal_text.and_then(|p| {
        parse_principal(&p)
            .map_err(|m| errors.push(FieldError::new(format!("{path}.principal"), m)))
            .ok()
    });
    let resource = match (action, resource_text) {
        (Some(action), Some(r)) => ResourceRef::parse_for(action, &r)
            .map_err(|e| errors.push(FieldError::new(format!("{path}.resource"), e.to_string())))
            .ok(),
        _ => None,
    };
    if let (Some(principal), Some(action), Some(resource)) = (&principal, action, &resource)
        && let Err(message) = check_context(probe, principal, action, resource)
    {
        errors.push(FieldError::new(format!("{path}.context"), message));
    }
    (errors.len() == before).then_some(())?;
    Some(CompiledCedarProbe {
        for_each,
        principal: probe.principal.clone(),
        action: action?,
        resource: probe.resource.clone(),
        expect: probe.expect,
    })
}

/// Checks the context against the action's context type in the Lattice Cedar schema.
fn check_context(
    probe: &CedarProbe,
    principal: &Principal,
    action: Gate,
    resource: &ResourceRef,
) -> Result<(), String> {
    let context: serde_json::Map<String, Value> = probe
        .context
        .iter()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    let action_uid = action.entity_uid();
    let context = cedar_policy::Context::from_json_value(
        Value::Object(context),
        Some((schema::schema(), &action_uid)),
    )
    .map_err(|e| format!("does not fit the Lattice Cedar schema for {action}: {e}"))?;
    cedar_policy::Request::new(
        principal.entity_uid(),
        action_uid,
        resource.entity_uid(),
        context,
        Some(schema::schema()),
    )
    .map_err(|e| format!("the question does not fit the Lattice Cedar schema: {e}"))?;
    if !probe.context.is_empty() {
        // The gates are answered without context today; a context the schema accepted would be
        // ignored, so it is refused rather than silently dropped.
        return Err("the Lattice gates are asked without context; remove it".into());
    }
    Ok(())
}

/// Reads a principal as `latticectl auth can-i` does: `ns/name` (a workload), `user:NAME` or
/// `group:NAME`.
pub fn parse_principal(text: &str) -> Result<Principal, String> {
    if let Some(name) = text.strip_prefix("user:") {
        if name.is_empty() {
            return Err("the user name is empty".into());
        }
        return Ok(Principal::User(UserPrincipal {
            name: name.to_string(),
            groups: Default::default(),
        }));
    }
    if let Some(name) = text.strip_prefix("group:") {
        if name.is_empty() {
            return Err("the group name is empty".into());
        }
        return Ok(Principal::Group(name.to_string()));
    }
    text.parse::<ServicePrincipal>()
        .map(Principal::Service)
        .map_err(|e| format!("{e}; or user:NAME, group:NAME"))
}

/// Cedar's answers from one policy set version, remembered by question: a fleet evaluation asks
/// the same questions on every cluster (the static ones always, the `forEach` ones for every
/// workload deployed on several clusters). Pure: the memo only saves work.
#[derive(Debug)]
pub struct CedarAnswers<'a> {
    policies: &'a PolicySetVersion,
    answers: HashMap<(String, Gate, String), Result<Decision, String>>,
}

impl<'a> CedarAnswers<'a> {
    /// No answers yet, from `policies`.
    pub fn new(policies: &'a PolicySetVersion) -> Self {
        Self {
            policies,
            answers: HashMap::new(),
        }
    }

    /// The decision for `principal` asking `action` on `resource` (texts as a probe writes them,
    /// placeholders filled), or why the question cannot be asked.
    pub fn answer(
        &mut self,
        principal: &str,
        action: Gate,
        resource: &str,
    ) -> Result<Decision, String> {
        let key = (principal.to_string(), action, resource.to_string());
        if let Some(answer) = self.answers.get(&key) {
            return answer.clone();
        }
        let answer = parse_principal(principal).and_then(|p| {
            let r = ResourceRef::parse_for(action, resource).map_err(|e| e.to_string())?;
            Ok(decide(self.policies, &p, &GateRequest::new(action, r)))
        });
        self.answers.insert(key, answer.clone());
        answer
    }
}

impl CompiledCedarProbe {
    /// One finding per subject (or one for the cluster without `forEach`).
    pub fn evaluate(
        &self,
        inventory: &ClusterInventory,
        answers: &mut CedarAnswers<'_>,
    ) -> Vec<Finding> {
        let Some(for_each) = &self.for_each else {
            return vec![self.ask(None, None, answers)];
        };
        let subjects = for_each.select(inventory, None);
        if subjects.is_empty() {
            return vec![Finding {
                object: None,
                observed: None,
                expected: self.expected(None),
                result: Outcome::Skip,
                message: format!("no {} to ask about", for_each.describe(None)),
            }];
        }
        subjects
            .into_iter()
            .map(|o| {
                let object = ObjectRef::of(o);
                let subject = Subject {
                    namespace: object.namespace.as_deref().unwrap_or_default(),
                    name: &object.name,
                };
                self.ask(Some(subject), Some(object.clone()), answers)
            })
            .collect()
    }

    fn expected(&self, subject: Option<Subject<'_>>) -> String {
        let verb = match self.expect {
            CedarExpectation::Allow => "allow",
            CedarExpectation::Deny => "deny",
        };
        format!(
            "{verb}: {} {} {}",
            template::render(&self.principal, subject),
            self.action,
            template::render(&self.resource, subject)
        )
    }

    fn ask(
        &self,
        subject: Option<Subject<'_>>,
        object: Option<ObjectRef>,
        answers: &mut CedarAnswers<'_>,
    ) -> Finding {
        let expected = self.expected(subject);
        let decision = match answers.answer(
            &template::render(&self.principal, subject),
            self.action,
            &template::render(&self.resource, subject),
        ) {
            Ok(decision) => decision,
            Err(e) => {
                return Finding {
                    object,
                    observed: None,
                    expected,
                    result: Outcome::Error,
                    message: format!("the question cannot be asked for this object: {e}"),
                };
            }
        };
        let allowed = decision.is_allowed();
        let result = match (self.expect, allowed) {
            (CedarExpectation::Allow, true) | (CedarExpectation::Deny, false) => Outcome::Pass,
            _ => Outcome::Fail,
        };
        Finding {
            object,
            observed: Some(if allowed { "allow" } else { "deny" }.to_string()),
            expected,
            result,
            message: decision.explanation(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::authz::PolicyDocument;
    use crate::compliance::spec::{AnyValue, ObjectSelector};

    fn probe(principal: &str, action: &str, resource: &str) -> CedarProbe {
        CedarProbe {
            for_each: None,
            principal: principal.into(),
            action: action.into(),
            resource: resource.into(),
            context: BTreeMap::new(),
            expect: CedarExpectation::Deny,
        }
    }

    fn compile_ok(p: &CedarProbe) -> CompiledCedarProbe {
        let mut errors = Vec::new();
        compile(p, "c", &mut errors).unwrap_or_else(|| panic!("{errors:?}"))
    }

    fn fields(p: &CedarProbe) -> Vec<String> {
        let mut errors = Vec::new();
        assert!(compile(p, "c", &mut errors).is_none());
        errors.into_iter().map(|e| e.field).collect()
    }

    fn policies() -> PolicySetVersion {
        PolicySetVersion::from_documents(&[PolicyDocument::new(
            "p",
            r#"@id("privileged-ops") permit (principal == Lattice::Service::"ops/agent", action == Lattice::Action::"OverrideSecurity", resource == Lattice::SecurityOverride::"privileged");"#,
        )])
        .unwrap()
    }

    #[test]
    fn questions_that_do_not_parse_are_refused_with_their_field() {
        assert_eq!(
            fields(&probe("dev", "OverrideSecurity", "privileged")),
            ["c.principal"]
        );
        assert_eq!(
            fields(&probe("dev/x", "Override", "privileged")),
            ["c.action"]
        );
        assert_eq!(
            fields(&probe("dev/x", "OverrideSecurity", "superuser")),
            ["c.resource"]
        );
        assert_eq!(
            fields(&probe("{namespace}/x", "OverrideSecurity", "privileged")),
            ["c.principal"]
        );
        let mut with_context = probe("dev/x", "OverrideSecurity", "privileged");
        with_context
            .context
            .insert("ip".into(), AnyValue(json!("10.0.0.1")));
        assert_eq!(fields(&with_context), ["c.context"]);
    }

    #[test]
    fn a_static_question_passes_when_the_answer_is_the_expected_one() {
        let set = policies();
        let inv = ClusterInventory::new("c", BTreeMap::new(), []);
        let unknown = compile_ok(&probe("dev/unknown", "OverrideSecurity", "privileged"));
        let [finding] = unknown
            .evaluate(&inv, &mut CedarAnswers::new(&set))
            .try_into()
            .unwrap();
        assert_eq!(finding.result, Outcome::Pass);
        assert_eq!(finding.observed.as_deref(), Some("deny"));
        let ops = compile_ok(&probe("ops/agent", "OverrideSecurity", "privileged"));
        let [finding] = ops
            .evaluate(&inv, &mut CedarAnswers::new(&set))
            .try_into()
            .unwrap();
        assert_eq!(finding.result, Outcome::Fail);
        assert!(
            finding.message.contains("privileged-ops"),
            "{}",
            finding.message
        );
    }

    #[test]
    fn for_each_asks_per_subject_and_names_it() {
        let mut p = probe("{namespace}/{name}", "OverrideSecurity", "privileged");
        p.expect = CedarExpectation::Allow;
        p.for_each = Some(ObjectSelector {
            kind: "Deployment".into(),
            where_: Some(
                "@.spec.template.spec.containers[?@.securityContext.privileged == true]".into(),
            ),
            ..Default::default()
        });
        let compiled = compile_ok(&p);
        let d = |ns: &str, name: &str, privileged: bool| {
            json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"namespace": ns, "name": name},
            "spec": {"template": {"spec": {"containers": [{"securityContext": {"privileged": privileged}}]}}}})
        };
        let inv = ClusterInventory::new(
            "c",
            BTreeMap::new(),
            [
                d("ops", "agent", true),
                d("shop", "web", true),
                d("shop", "api", false),
            ],
        );
        let set = policies();
        let findings = compiled.evaluate(&inv, &mut CedarAnswers::new(&set));
        let summary: Vec<(String, Outcome)> = findings
            .iter()
            .map(|f| (f.object.as_ref().unwrap().to_string(), f.result))
            .collect();
        assert_eq!(
            summary,
            [
                ("Deployment ops/agent".to_string(), Outcome::Pass),
                ("Deployment shop/web".to_string(), Outcome::Fail)
            ]
        );
        let empty = ClusterInventory::new("c", BTreeMap::new(), []);
        assert_eq!(
            compiled.evaluate(&empty, &mut CedarAnswers::new(&set))[0].result,
            Outcome::Skip
        );
    }
}
