//! Horizontal autoscaling (`spec.autoscaling`), derived into a KEDA ScaledObject.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Autoscaling bounds and the metrics to scale on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoscalingSpec {
    /// Fewest replicas (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<u32>,
    /// Most replicas; quota is reserved for this many.
    pub max_replicas: u32,
    /// Metrics to scale on (default: CPU at 80% of requests). One entry per type, except
    /// `custom`, which may appear once per metric name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricSpec>,
}

impl AutoscalingSpec {
    /// The minimum, defaulted.
    pub fn min(&self) -> u32 {
        self.min_replicas.unwrap_or(1)
    }
}

/// One scaling metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricSpec {
    /// What to measure.
    #[serde(rename = "type")]
    pub type_: MetricType,
    /// `cpu`/`memory`: target utilisation in percent of the requests (1–100). `custom`: the
    /// desired average value per pod.
    pub target: f64,
    /// `custom` only: the Prometheus metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
}

/// Kind of scaling metric.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum MetricType {
    /// CPU utilisation of the requests.
    Cpu,
    /// Memory utilisation of the requests.
    Memory,
    /// An application metric from the platform's Prometheus-compatible store.
    Custom,
}

impl MetricType {
    /// The YAML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Cpu => "cpu",
            MetricType::Memory => "memory",
            MetricType::Custom => "custom",
        }
    }
}
