//! Replicas and autoscaling.

use std::collections::BTreeSet;

use super::Errors;
use crate::context::DeriveContext;
use crate::spec::{LatticeService, MetricType};

/// Prometheus metric names (also a guard against PromQL injection in the generated query).
pub(crate) fn is_metric_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_' || c == b':')
        && bytes.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

pub(super) fn validate(svc: &LatticeService, ctx: &DeriveContext, errors: &mut Errors) {
    if let Some(replicas) = svc.spec.replicas
        && i32::try_from(replicas).is_err()
    {
        errors.push("spec.replicas", "must be at most 2147483647");
    }
    let Some(scaling) = &svc.spec.autoscaling else {
        return;
    };
    if svc.spec.replicas.is_some() {
        errors.push(
            "spec.replicas",
            "must not be set together with spec.autoscaling: the autoscaler owns the replica count; set autoscaling.minReplicas instead",
        );
    }
    let field = "spec.autoscaling";
    if scaling.min_replicas == Some(0) {
        errors.push(
            format!("{field}.minReplicas"),
            "must be at least 1 (scaling to zero is not supported)",
        );
    }
    if scaling.max_replicas == 0 || i32::try_from(scaling.max_replicas).is_err() {
        errors.push(
            format!("{field}.maxReplicas"),
            "must be between 1 and 2147483647",
        );
    } else if scaling.min() > scaling.max_replicas {
        errors.push(
            format!("{field}.minReplicas"),
            format!(
                "{} is above maxReplicas ({})",
                scaling.min(),
                scaling.max_replicas
            ),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, metric) in scaling.metrics.iter().enumerate() {
        let field = format!("{field}.metrics[{i}]");
        let target = metric.target;
        match metric.type_ {
            MetricType::Cpu | MetricType::Memory => {
                if metric.metric.is_some() {
                    errors.push(format!("{field}.metric"), "applies only to type custom");
                }
                if !(target.fract() == 0.0 && (1.0..=100.0).contains(&target)) {
                    errors.push(
                        format!("{field}.target"),
                        "must be a whole percentage of the requests between 1 and 100",
                    );
                }
            }
            MetricType::Custom => {
                match metric.metric.as_deref() {
                    None => errors.push(
                        format!("{field}.metric"),
                        "is required for type custom: the Prometheus metric name",
                    ),
                    Some(name) if !is_metric_name(name) => errors.push(
                        format!("{field}.metric"),
                        format!(
                            "{name:?} is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)"
                        ),
                    ),
                    Some(_) => {}
                }
                if !(target.is_finite() && target > 0.0) {
                    errors.push(
                        format!("{field}.target"),
                        "must be a positive number: the desired average value per pod",
                    );
                }
                if !ctx.monitoring.enabled {
                    errors.push(
                        &field,
                        "MonitoringRequired: custom metrics need the cluster's metrics stack, which is disabled on this cluster",
                    );
                }
            }
        }
        if !seen.insert((metric.type_, metric.metric.clone())) {
            errors.push(&field, "this metric is listed twice");
        }
    }
}
