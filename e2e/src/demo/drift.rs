//! The demo's drift step: the Kubernetes `Service` of the first Ready service is deleted by hand
//! in its cluster, as a person with kubectl might; the agent puts it back on its own (no command
//! from the cell), and the cell counts the correction it was told about. Shown in the report.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, DeleteParams};

use super::DemoError;
use super::fleet::Fleet;
use super::report::{DriftShown, Report};
use crate::wait::wait_until;

/// How long the agent may take to put the object back before the report marks it ✗.
const LIMIT: Duration = Duration::from_secs(60);

/// Deletes the `Service` object of the first Ready service that has one and waits until the
/// agent recreates it and the cell has counted the correction. `None` if no service qualifies.
pub async fn show_drift_correction(
    fleet: &Fleet,
    report: &Report,
) -> Result<Option<DriftShown>, DemoError> {
    let Some((namespace, name, cluster)) = report.services.iter().find_map(|section| {
        let view = section.view.as_ref().filter(|v| v.phase == "Ready")?;
        let has_service = report.clusters.iter().any(|c| {
            c.name == view.cluster
                && c.objects.iter().any(|o| {
                    o.service == view.key()
                        && o.reference.kind == "Service"
                        && o.reference.name == view.name
                })
        });
        has_service.then(|| {
            (
                view.namespace.clone(),
                view.name.clone(),
                view.cluster.clone(),
            )
        })
    }) else {
        return Ok(None);
    };
    let Some(test_cluster) = fleet.clusters.iter().find(|c| c.name() == cluster) else {
        return Ok(None);
    };
    let services: Api<Service> = Api::namespaced(test_cluster.client().await?, &namespace);
    let deleted_uid = services
        .get(&name)
        .await
        .map_err(crate::HarnessError::from)?
        .metadata
        .uid;
    services
        .delete(&name, &DeleteParams::default())
        .await
        .map_err(crate::HarnessError::from)?;
    let started = Instant::now();
    let recreated = wait_until(
        "the agent to recreate the deleted Service",
        LIMIT,
        || async {
            let live = services.get_opt(&name).await?;
            Ok(live.filter(|s| s.metadata.uid != deleted_uid).map(|_| ()))
        },
    )
    .await;
    let outcome = match recreated {
        Err(e) => Err(format!("not put back: {e}")),
        Ok(()) => {
            let took = started.elapsed();
            let ctl = fleet.cell.ctl()?;
            let counted = wait_until("the cell to count the correction", LIMIT, || async {
                let view = ctl.service(&namespace, &name).await?;
                let total = view["status"]["driftCorrections"]["total"]
                    .as_u64()
                    .unwrap_or(0);
                Ok((total > 0).then_some(total))
            })
            .await;
            match counted {
                Ok(total) => Ok(format!(
                    "Service {namespace}/{name} deleted by hand on {cluster}; recreated by its agent in {} ms; the cell counts {total} drift correction(s) (`latticectl describe service {namespace}/{name}`)",
                    took.as_millis()
                )),
                Err(e) => Err(format!(
                    "recreated in {} ms, but the cell did not count it: {e}",
                    took.as_millis()
                )),
            }
        }
    };
    Ok(Some(DriftShown {
        service: format!("{namespace}/{name}"),
        cluster,
        outcome,
    }))
}
