//! Writes the cluster's compliance results as `wgpolicyk8s.io/v1alpha2` reports: a
//! `PolicyReport` named `lattice-compliance` in every namespace with results, one
//! `ClusterPolicyReport` for cluster-scoped objects and cluster-wide probes (rendered by the pure
//! `lattice_derive::compliance::render_policy_reports`). Server-side applied with field manager
//! `lattice-compliance`, forced, `fieldValidation=Strict` against the installed CRDs; the reports
//! of namespaces no longer named are deleted. A failure (the CRDs not installed) is retried every
//! [`RETRY`] with the latest results.

use std::collections::BTreeSet;
use std::time::Duration;

use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use lattice_derive::compliance::policy_report::REPORT_NAME;
use lattice_derive::compliance::{ComplianceResult, PolicyReports, render_policy_reports};
use lattice_protocol::v1::ComplianceResults;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::kube_error::{is_not_found, server_message};

/// Field manager of the reports.
pub const FIELD_MANAGER: &str = "lattice-compliance";
/// Label selecting the reports the agent writes.
pub const REPORT_SELECTOR: &str = "app.kubernetes.io/managed-by=lattice";
/// Wait before writing again after a failure.
pub const RETRY: Duration = Duration::from_secs(30);

/// Why the reports could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PolicyReportError {
    /// A result from the cell does not read.
    #[error("compliance result {index} from the cell does not read: {source}")]
    Result {
        /// Its index in the message.
        index: usize,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// The API server refused a write, a list or a delete.
    #[error("{what}: {message}")]
    Kube {
        /// What was attempted (`apply PolicyReport shop/lattice-compliance`).
        what: String,
        /// The API server's message.
        message: String,
    },
}

/// The reports of `results`, rendered.
pub fn reports_of(results: &ComplianceResults) -> Result<PolicyReports, PolicyReportError> {
    let parsed = results
        .results
        .iter()
        .enumerate()
        .map(|(index, bytes)| {
            serde_json::from_slice::<ComplianceResult>(bytes)
                .map_err(|source| PolicyReportError::Result { index, source })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(render_policy_reports(&parsed, results.evaluated_at_unix))
}

/// The API resource of `PolicyReport` (namespaced) or `ClusterPolicyReport`.
pub fn report_resource(cluster_scoped: bool) -> ApiResource {
    let (kind, plural) = if cluster_scoped {
        ("ClusterPolicyReport", "clusterpolicyreports")
    } else {
        ("PolicyReport", "policyreports")
    };
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("wgpolicyk8s.io", "v1alpha2", kind),
        plural,
    )
}

/// What a write did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Namespaces whose `PolicyReport` was applied.
    pub namespaces: Vec<String>,
    /// Whether the `ClusterPolicyReport` was applied (else deleted if present).
    pub cluster: bool,
    /// Stale reports deleted.
    pub deleted: usize,
}

/// Applies the reports of `results` and deletes the stale ones.
pub async fn write(
    client: &Client,
    results: &ComplianceResults,
) -> Result<Written, PolicyReportError> {
    let reports = reports_of(results)?;
    let params = PatchParams::apply(FIELD_MANAGER)
        .force()
        .validation_strict();
    let kube = |what: String| {
        move |e: kube::Error| PolicyReportError::Kube {
            what,
            message: server_message(&e),
        }
    };
    let namespaced = report_resource(false);
    let mut written = Written::default();
    for report in &reports.namespaced {
        let namespace = report["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &namespaced);
        api.patch(REPORT_NAME, &params, &Patch::Apply(report))
            .await
            .map_err(kube(format!(
                "apply PolicyReport {namespace}/{REPORT_NAME}"
            )))?;
        written.namespaces.push(namespace);
    }
    let clusterwide = report_resource(true);
    let cluster_api: Api<DynamicObject> = Api::all_with(client.clone(), &clusterwide);
    match &reports.cluster {
        Some(report) => {
            cluster_api
                .patch(REPORT_NAME, &params, &Patch::Apply(report))
                .await
                .map_err(kube(format!("apply ClusterPolicyReport {REPORT_NAME}")))?;
            written.cluster = true;
        }
        None => match cluster_api
            .delete(REPORT_NAME, &DeleteParams::default())
            .await
        {
            Ok(_) => written.deleted += 1,
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(kube(format!("delete ClusterPolicyReport {REPORT_NAME}"))(e)),
        },
    }
    let keep: BTreeSet<&str> = written.namespaces.iter().map(String::as_str).collect();
    let all: Api<DynamicObject> = Api::all_with(client.clone(), &namespaced);
    let existing = all
        .list(&ListParams::default().labels(REPORT_SELECTOR))
        .await
        .map_err(kube("list PolicyReports".to_string()))?;
    for stale in existing.items.iter().filter(|r| {
        r.metadata.name.as_deref() == Some(REPORT_NAME)
            && !keep.contains(r.metadata.namespace.as_deref().unwrap_or_default())
    }) {
        let namespace = stale.metadata.namespace.clone().unwrap_or_default();
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &namespaced);
        match api.delete(REPORT_NAME, &DeleteParams::default()).await {
            Ok(_) => written.deleted += 1,
            Err(e) if is_not_found(&e) => {}
            Err(e) => {
                return Err(kube(format!(
                    "delete PolicyReport {namespace}/{REPORT_NAME}"
                ))(e));
            }
        }
    }
    Ok(written)
}

/// Starts the writer: it writes the latest results whenever they change, until `cancel` fires.
pub fn spawn(
    client: Client,
    results: watch::Receiver<Option<ComplianceResults>>,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(run(client, results, cancel))
}

async fn run(
    client: Client,
    mut results: watch::Receiver<Option<ComplianceResults>>,
    cancel: CancellationToken,
) {
    let mut retry_at: Option<Instant> = None;
    // Results sent before this task started count as new.
    results.mark_changed();
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            changed = results.changed() => if changed.is_err() { return },
            () = tokio::time::sleep_until(retry_at.unwrap_or_else(Instant::now)), if retry_at.is_some() => {}
        }
        retry_at = None;
        let Some(latest) = results.borrow_and_update().clone() else {
            continue;
        };
        match write(&client, &latest).await {
            Ok(w) => tracing::info!(
                namespaces = w.namespaces.len(),
                cluster = w.cluster,
                deleted = w.deleted,
                "PolicyReports written"
            ),
            Err(error) => {
                tracing::warn!(%error, retry_in_seconds = RETRY.as_secs(), "could not write the PolicyReports");
                retry_at = Some(Instant::now() + RETRY);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_that_does_not_read_is_named_by_its_index() {
        let good = serde_json::json!({"profile": "p", "profileVersion": 1, "control": "C",
            "severity": "high", "probe": "x", "cluster": "c", "expected": "e",
            "result": "fail", "message": "m",
            "object": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"}});
        let reports = reports_of(&ComplianceResults {
            evaluated_at_unix: 7,
            results: vec![serde_json::to_vec(&good).unwrap()],
        })
        .unwrap();
        assert_eq!(reports.namespaced.len(), 1);
        assert_eq!(reports.namespaced[0]["summary"]["fail"], 1);
        assert!(reports.cluster.is_none());
        let err = reports_of(&ComplianceResults {
            evaluated_at_unix: 7,
            results: vec![serde_json::to_vec(&good).unwrap(), b"{}".to_vec()],
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("compliance result 1 from the cell does not read")
        );
    }

    #[test]
    fn reports_are_addressed_by_their_plural() {
        assert_eq!(report_resource(false).plural, "policyreports");
        assert_eq!(report_resource(true).plural, "clusterpolicyreports");
        assert_eq!(report_resource(true).api_version, "wgpolicyk8s.io/v1alpha2");
    }
}
