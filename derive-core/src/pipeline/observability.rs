//! Stage 7a, observability: a VictoriaMetrics `VMServiceScrape` for a service with a metrics
//! port — the port named in `observability.metrics.port`, or else a port named `metrics`.

use serde_json::json;

use super::ServiceRef;
use super::objects::{custom, owner_labels_json};
use crate::derived::{ApplyLayer, DerivedObject};
use crate::labels;
use crate::spec::LatticeService;

/// Scrape interval when the spec names none.
pub(crate) const DEFAULT_SCRAPE_INTERVAL: &str = "30s";

/// The VMServiceScrape, when the service has a metrics port.
pub(crate) fn service_scrape(service: &ServiceRef, svc: &LatticeService) -> Option<DerivedObject> {
    let obs = svc.spec.observability.as_ref();
    let endpoint = obs.and_then(|o| o.metrics.as_ref());
    let port = match endpoint {
        Some(e) => e.port.clone(),
        None if svc.ports().contains_key("metrics") => "metrics".to_string(),
        None => return None,
    };
    let path = endpoint
        .and_then(|e| e.path.clone())
        .unwrap_or_else(|| "/metrics".to_string());
    let interval = obs
        .and_then(|o| o.scrape_interval.clone())
        .unwrap_or_else(|| DEFAULT_SCRAPE_INTERVAL.to_string());
    Some(custom(
        ApplyLayer::Infrastructure,
        json!({
            "apiVersion": "operator.victoriametrics.com/v1beta1",
            "kind": "VMServiceScrape",
            "metadata": {
                "name": service.name,
                "namespace": service.namespace,
                "labels": owner_labels_json(service),
            },
            "spec": {
                "selector": { "matchLabels": labels::owner_selector(&service.name) },
                "endpoints": [{ "port": port, "path": path, "interval": interval }],
            },
        }),
    ))
}
