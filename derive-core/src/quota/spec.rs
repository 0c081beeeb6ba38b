//! `LatticeQuota`: a budget of CPU, memory, GPUs and hourly cost for the workloads of one
//! principal (a service, a team, a user), enforced by the cell at admission.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use kube::CustomResource;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize};

/// Desired state of a `LatticeQuota`.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[kube(
    group = "lattice.dev",
    version = "v1alpha1",
    kind = "LatticeQuota",
    shortname = "lq",
    status = "LatticeQuotaStatus",
    printcolumn = r#"{"name":"Principal","type":"string","jsonPath":".spec.principal"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Workloads","type":"integer","jsonPath":".status.workloadCount"}"#,
    doc = "A budget for the workloads of one principal (service, team or user), enforced by the cell when it admits a revision."
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LatticeQuotaSpec {
    /// Whose workloads the quota covers: `Lattice::Service::"ns/name"`, `Lattice::Group::"g"`
    /// (namespaces labelled `lattice.dev/group: g`) or `Lattice::User::"email"` (workloads
    /// annotated `lattice.dev/owner: email`).
    pub principal: String,
    /// Total budget across every covered workload. A missing key is unlimited.
    #[serde(default)]
    pub limits: ResourceList,
    /// Largest request any single covered workload may make. A missing key is uncapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_workload: Option<ResourceList>,
    /// Whether the quota is enforced (default true). A disabled quota keeps its status but
    /// admits everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// Amounts per dimension, as Kubernetes quantities (a string, or a plain number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ResourceList {
    /// CPU (`2`, `1500m`); summed over replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<QuantityValue>,
    /// Memory (`8Gi`, `512Mi`); summed over replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<QuantityValue>,
    /// Whole GPUs; summed over replicas.
    #[serde(
        default,
        rename = "nvidia.com/gpu",
        skip_serializing_if = "Option::is_none"
    )]
    pub gpu: Option<QuantityValue>,
    /// Estimated cost in currency units per hour (`12.5` is 12.50 an hour at the cell's rates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<QuantityValue>,
}

impl ResourceList {
    /// `(key, value)` of every set dimension, in check order.
    pub fn entries(&self) -> Vec<(&'static str, &QuantityValue)> {
        [
            ("cpu", &self.cpu),
            ("memory", &self.memory),
            ("nvidia.com/gpu", &self.gpu),
            ("cost", &self.cost),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect()
    }
}

/// A Kubernetes quantity written as a string (`"1500m"`) or a number (`2`, `0.5`), like
/// `int-or-string` fields of Kubernetes resource lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct QuantityValue(pub String);

impl QuantityValue {
    /// The quantity text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for QuantityValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for QuantityValue {
    fn from(s: &str) -> Self {
        Self(s.to_string())
    }
}

impl<'de> Deserialize<'de> for QuantityValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Unsigned(u64),
            Signed(i64),
            Float(f64),
        }
        Ok(Self(match Raw::deserialize(deserializer)? {
            Raw::Text(s) => s,
            Raw::Unsigned(n) => n.to_string(),
            Raw::Signed(n) => n.to_string(),
            // Rust prints the shortest text that reads back as the same f64: 0.5 → "0.5".
            Raw::Float(f) => f.to_string(),
        }))
    }
}

impl JsonSchema for QuantityValue {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "QuantityValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        // Structural without a combinator: the API server reads the marker as "integer or
        // string", as it does for the resource lists of Pods.
        json_schema!({ "x-kubernetes-int-or-string": true })
    }
}

/// Phase of a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum QuotaPhase {
    /// Enforced, and usage is within every limit.
    Active,
    /// Enforced, and usage is over a limit (a limit was lowered, or a namespace was relabelled,
    /// below what admitted workloads hold). Nothing that would grow usage is admitted.
    Exceeded,
    /// The stored spec does not validate; admissions it covers are refused until it is fixed.
    Invalid,
    /// `enabled: false`: not enforced.
    Disabled,
}

/// Observed state of a `LatticeQuota`, computed by the cell from its reservation ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LatticeQuotaStatus {
    /// Phase.
    pub phase: QuotaPhase,
    /// What the covered workloads hold, by the same keys as `limits`, as quantities.
    pub used: BTreeMap<String, String>,
    /// Number of covered workloads holding a reservation.
    pub workload_count: u64,
    /// Why the phase is what it is, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
