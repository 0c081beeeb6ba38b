//! A LatticeService as `latticectl get service -o json` shows it, read into plain fields, and
//! waiting for it to settle.

use std::time::Duration;

use serde_json::Value;

use super::ctl::Ctl;
use super::objects::ObjectRef;
use crate::HarnessError;
use crate::wait::wait_until;

/// One condition of a service's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionView {
    /// `Derived`, `Delivered`, …
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// CamelCase reason.
    pub reason: String,
    /// For people.
    pub message: String,
}

/// Conditions whose `True` is the bad news (Kubernetes' "abnormal-true" polarity), unlike
/// `Derived`, `PolicyAuthorized` or `Delivered`.
const ABNORMAL_TRUE: &[&str] = &["QuotaExceeded"];

impl ConditionView {
    /// Whether the condition reports a problem: `True` for an abnormal-true type
    /// (`QuotaExceeded`), `False` for the others.
    pub fn reports_a_problem(&self) -> bool {
        if ABNORMAL_TRUE.contains(&self.type_.as_str()) {
            self.status == "True"
        } else {
            self.status == "False"
        }
    }
}

/// The result the agent reported for one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectResultView {
    /// The object.
    pub reference: ObjectRef,
    /// `Applied`, `Failed`, `Pruned`, `Skipped`.
    pub outcome: String,
    /// The API server's message, if any.
    pub message: Option<String>,
}

/// Delivery of a service to one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryView {
    /// The cluster.
    pub cluster: String,
    /// `Pending`, `Applied`, `Failed`, `Removing`.
    pub state: String,
    /// The error of the last result.
    pub error: Option<String>,
    /// Per-object results of the last result.
    pub objects: Vec<ObjectResultView>,
}

/// A LatticeService and its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceView {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The `lattice.dev/cluster` label.
    pub cluster: String,
    /// `metadata.generation`.
    pub generation: i64,
    /// `Pending`, `Ready`, `Failed` (empty if the cell gave none).
    pub phase: String,
    /// `status.observedGeneration`.
    pub observed_generation: i64,
    /// The current revision id.
    pub revision: Option<String>,
    /// Conditions, in the cell's order.
    pub conditions: Vec<ConditionView>,
    /// Delivery per cluster.
    pub deliveries: Vec<DeliveryView>,
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

impl ServiceView {
    /// Reads a service document (as the REST API returns it).
    pub fn from_json(service: &Value) -> Self {
        let status = &service["status"];
        let conditions = status["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| ConditionView {
                type_: text(&c["type"]),
                status: text(&c["status"]),
                reason: text(&c["reason"]),
                message: text(&c["message"]),
            })
            .collect();
        let deliveries = status["clusters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| DeliveryView {
                cluster: text(&d["cluster"]),
                state: text(&d["state"]),
                error: d["error"].as_str().map(str::to_owned),
                objects: d["objects"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|o| {
                        Some(ObjectResultView {
                            reference: ObjectRef::from_status(o)?,
                            outcome: text(&o["outcome"]),
                            message: o["message"]
                                .as_str()
                                .filter(|m| !m.is_empty())
                                .map(str::to_owned),
                        })
                    })
                    .collect(),
            })
            .collect();
        Self {
            namespace: text(&service["metadata"]["namespace"]),
            name: text(&service["metadata"]["name"]),
            cluster: text(&service["metadata"]["labels"]["lattice.dev/cluster"]),
            generation: service["metadata"]["generation"].as_i64().unwrap_or(0),
            phase: text(&status["phase"]),
            observed_generation: status["observedGeneration"].as_i64().unwrap_or(0),
            revision: status["revision"].as_str().map(str::to_owned),
            conditions,
            deliveries,
        }
    }

    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The condition of `type_`, if present.
    pub fn condition(&self, type_: &str) -> Option<&ConditionView> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }

    /// The delivery to the service's own cluster, if any.
    pub fn delivery(&self) -> Option<&DeliveryView> {
        self.deliveries.iter().find(|d| d.cluster == self.cluster)
    }

    /// Whether the cell has a final answer for the current generation: `Ready`, `Failed`, or a
    /// condition that reports a problem (a denial or a quota refusal is final until the spec,
    /// the policy or the quota changes).
    pub fn is_settled(&self) -> bool {
        let current = self.observed_generation >= self.generation;
        current
            && (matches!(self.phase.as_str(), "Ready" | "Failed")
                || self.conditions.iter().any(ConditionView::reports_a_problem))
    }
}

/// Polls `latticectl get service` until the service's phase is one of `phases` (for the current
/// generation), and returns it. `limit` turns a hang into an error showing the last status.
pub async fn wait_for_phase(
    ctl: &Ctl,
    namespace: &str,
    name: &str,
    phases: &[&str],
    limit: Duration,
) -> Result<ServiceView, HarnessError> {
    let what = format!("LatticeService {namespace}/{name} to reach phase {phases:?}");
    // The last status seen, for the error message.
    let last = std::cell::RefCell::new(None);
    let found = wait_until(&what, limit, || {
        let last = &last;
        async move {
            let view = ServiceView::from_json(&ctl.service(namespace, name).await?);
            let done = phases.contains(&view.phase.as_str())
                && view.observed_generation >= view.generation;
            let answer = done.then(|| view.clone());
            *last.borrow_mut() = Some(view);
            Ok(answer)
        }
    })
    .await;
    match found {
        Err(HarnessError::Timeout { what, waited, .. }) => Err(HarnessError::Timeout {
            what,
            waited,
            details: format!("; last status: {:?}", last.borrow()),
        }),
        other => other,
    }
}
