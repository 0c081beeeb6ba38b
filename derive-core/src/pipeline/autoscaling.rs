//! KEDA `ScaledObject` for an autoscaled service (applied last: KEDA's webhook checks that the
//! Deployment exists). CPU and memory become utilisation triggers; a custom metric becomes a
//! Prometheus trigger whose query sums the metric over the service's pods, with the target as
//! the desired average per pod (`metricType: AverageValue`).

use serde_json::{Value, json};

use super::ServiceRef;
use super::objects::{custom, owner_labels_json};
use crate::context::DeriveContext;
use crate::derived::{ApplyLayer, DerivedObject};
use crate::spec::{LatticeService, MetricSpec, MetricType};

/// CPU utilisation target when the spec names no metric.
pub(crate) const DEFAULT_CPU_TARGET: u32 = 80;

/// The ScaledObject, when `spec.autoscaling` is set.
pub(crate) fn scaled_object(
    service: &ServiceRef,
    svc: &LatticeService,
    ctx: &DeriveContext,
) -> Option<DerivedObject> {
    let scaling = svc.spec.autoscaling.as_ref()?;
    let triggers: Vec<Value> = if scaling.metrics.is_empty() {
        vec![utilisation("cpu", f64::from(DEFAULT_CPU_TARGET))]
    } else {
        scaling
            .metrics
            .iter()
            .map(|m| trigger(service, m, ctx))
            .collect()
    };
    Some(custom(
        ApplyLayer::Autoscaling,
        json!({
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": {
                "name": service.name,
                "namespace": service.namespace,
                "labels": owner_labels_json(service),
            },
            "spec": {
                "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": service.name },
                "minReplicaCount": scaling.min(),
                "maxReplicaCount": scaling.max_replicas,
                "triggers": triggers,
            },
        }),
    ))
}

fn trigger(service: &ServiceRef, metric: &MetricSpec, ctx: &DeriveContext) -> Value {
    match metric.type_ {
        MetricType::Cpu => utilisation("cpu", metric.target),
        MetricType::Memory => utilisation("memory", metric.target),
        MetricType::Custom => {
            let name = metric.metric.as_deref().unwrap_or_default();
            // The metric name is validated against [a-zA-Z_:][a-zA-Z0-9_:]*, and names and
            // namespaces are DNS labels, so nothing here can break out of the PromQL selector.
            let query = format!(
                "sum({name}{{namespace=\"{}\",pod=~\"{}-[a-z0-9]+-[a-z0-9]+\"}})",
                service.namespace, service.name
            );
            json!({
                "type": "prometheus",
                "metricType": "AverageValue",
                "metadata": {
                    "serverAddress": ctx.monitoring.query_url,
                    "query": query,
                    "threshold": number(metric.target),
                },
            })
        }
    }
}

fn utilisation(kind: &str, target: f64) -> Value {
    json!({
        "type": kind,
        "metricType": "Utilization",
        "metadata": { "value": number(target) },
    })
}

/// A number as KEDA metadata wants it: a string, without a trailing `.0` for whole numbers.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}
