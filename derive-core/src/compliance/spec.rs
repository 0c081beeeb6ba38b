//! `LatticeComplianceProfile`: a framework's controls, each proven by probes that the cell
//! evaluates continuously on every selected cluster (research §14.3, docs/compliance.md).
//! Cluster-scoped: a profile is the platform's, like a `CedarPolicy`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// Kind name of [`LatticeComplianceProfile`].
pub const COMPLIANCE_PROFILE_KIND: &str = "LatticeComplianceProfile";

/// Desired state of a `LatticeComplianceProfile`.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "lattice.dev",
    version = "v1alpha1",
    kind = "LatticeComplianceProfile",
    shortname = "lcp",
    printcolumn = r#"{"name":"Framework","type":"string","jsonPath":".spec.framework.name"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".spec.framework.version"}"#,
    printcolumn = r#"{"name":"Interval","type":"string","jsonPath":".spec.interval"}"#,
    doc = "A compliance framework's controls, each proven by cedar, existence and configuration probes evaluated continuously on every selected cluster."
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LatticeComplianceProfileSpec {
    /// The framework the controls come from (e.g. SOC 2, NIST 800-53, the Lattice baseline).
    pub framework: Framework,
    /// How often every selected cluster is evaluated, as a Go duration (`5m`, `1h`); at least
    /// one minute. Default `10m`. Changes to policies, specs and inventories also trigger an
    /// evaluation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Which clusters the profile applies to, by the labels of their `LatticeCluster`. Absent or
    /// empty: every cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_selector: Option<LabelSelector>,
    /// The controls; at least one.
    pub controls: Vec<Control>,
}

/// Name and version of a compliance framework.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Framework {
    /// Framework name, e.g. `SOC 2`, `NIST 800-53`, `Lattice Baseline`.
    pub name: String,
    /// Framework version, e.g. `2017`, `rev5`, `1.0`.
    pub version: String,
}

/// One control of the framework: proven when every probe passes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Control {
    /// Control id, unique in the profile (e.g. `CC6.1`, `LB-NET-1`).
    pub id: String,
    /// One-line title.
    pub title: String,
    /// What the control requires and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Severity of a failure, as PolicyReports grade it.
    pub severity: Severity,
    /// The probes; at least one.
    pub probes: Vec<Probe>,
}

/// Severity of a failing control; the values of a `wgpolicyk8s.io` PolicyReport result.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// The PolicyReport value: `info`, `low`, `medium`, `high`, `critical`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// One probe: a name and exactly one of `cedar`, `existence`, `configuration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Probe {
    /// Probe name, unique in its control; evidence and PolicyReport rules name it.
    pub name: String,
    /// A question asked of the live Cedar policy set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cedar: Option<CedarProbe>,
    /// Objects that must (or must not) exist on the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existence: Option<ExistenceProbe>,
    /// A field every matching object must satisfy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<ConfigurationProbe>,
}

/// Objects of a cluster's inventory, by kind and optionally namespace, name, labels and a filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectSelector {
    /// `apiVersion` (`group/version` or `v1`); default: the kind's usual one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind, e.g. `Deployment`, `CiliumClusterwideNetworkPolicy`; one Lattice knows (see
    /// docs/compliance.md).
    pub kind: String,
    /// Only objects in this namespace. Under `forEach`, `{namespace}` is the subject's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Only the object of this name. Under `forEach`, `{name}` and `{namespace}` are the
    /// subject's (`allow-binaries-{name}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Only objects whose labels match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    /// Only objects for which this RFC 9535 filter expression holds, with `@` the object
    /// (`@.spec.replicas >= 2`).
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub where_: Option<String>,
}

/// A Kubernetes label selector: every `matchLabels` pair and every expression must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    /// Labels that must be present with these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// Set-based requirements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelRequirement>,
}

/// One set-based label requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelRequirement {
    /// The label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: LabelOperator,
    /// The values of `In` and `NotIn`; empty for `Exists` and `DoesNotExist`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// Operator of a [`LabelRequirement`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum LabelOperator {
    /// The label's value is one of `values`.
    In,
    /// The label is absent or its value is none of `values`.
    NotIn,
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
}

/// A Cedar question with the expected answer. Without `forEach` it is asked once per cluster;
/// with it, once per subject object, `{namespace}` and `{name}` in `principal` and `resource`
/// standing for the subject's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CedarProbe {
    /// Ask once per object matching this selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_each: Option<ObjectSelector>,
    /// `ns/name` (a workload), `user:NAME` or `group:NAME`, as `latticectl auth can-i` takes it.
    pub principal: String,
    /// The action: `OverrideSecurity` or `Lattice::Action::"OverrideSecurity"`.
    pub action: String,
    /// The resource: a uid or a bare id, as `latticectl auth can-i` takes it.
    pub resource: String,
    /// Request context; checked against the Lattice Cedar schema (which declares none today).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub context: BTreeMap<String, AnyValue>,
    /// The answer that passes: `allow` or `deny`.
    pub expect: CedarExpectation,
}

/// The answer a cedar probe expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CedarExpectation {
    /// The question must be allowed.
    Allow,
    /// The question must be denied.
    Deny,
}

/// Objects that must (or must not) exist. With `forEach`, the check is made once per subject
/// object, with `{namespace}` and `{name}` in `objects.namespace` and `objects.name` standing for
/// the subject's ("a PodDisruptionBudget for every Deployment of two or more replicas").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExistenceProbe {
    /// Check once per object matching this selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_each: Option<ObjectSelector>,
    /// The objects looked for.
    pub objects: ObjectSelector,
    /// `true` (default): at least one must exist; `false`: none may.
    #[serde(default = "default_true")]
    pub must_exist: bool,
}

fn default_true() -> bool {
    true
}

/// A field of every matching object must satisfy exactly one of `equals`, `contains`, `matches`
/// or `oneOf`; every node the path selects is checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigurationProbe {
    /// The objects checked.
    pub objects: ObjectSelector,
    /// The field: a simple path (`spec.mtls.mode`, `spec.ports[0].name`) or an RFC 9535 JSONPath
    /// starting with `$` (`$.spec.template.spec.containers[*].image`).
    pub path: String,
    /// What an object whose path selects nothing gets: `fail` (default), `pass` or `skip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_absent: Option<AbsentOutcome>,
    /// The value must equal this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<AnyValue>,
    /// A string must contain this substring; an array must contain this element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<AnyValue>,
    /// A string must match this regular expression (Rust `regex` syntax, unanchored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
    /// The value must equal one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<AnyValue>>,
}

/// What a configuration probe reports for an object that lacks the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AbsentOutcome {
    /// A missing field fails the control.
    Fail,
    /// A missing field is compliant (the default is safe).
    Pass,
    /// A missing field is not judged.
    Skip,
}

/// Any JSON value (a string, number, boolean, list or map), as in an expected value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AnyValue(pub serde_json::Value);

impl JsonSchema for AnyValue {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "AnyValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        // Structural without a type: the API server keeps any JSON value here.
        json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
    }
}
