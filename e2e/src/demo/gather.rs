//! Waiting for the applied services to settle, then reading back what happened: the cell's
//! status of every service and, from each cluster's API server, every object its agent reported;
//! and the phase of every applied LatticeCluster (its Cluster API objects applied by its managing
//! cluster's agent: `Provisioning`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::DemoError;
use super::apply::{Applied, ApplyOutcome, OtherDocument};
use super::fleet::Fleet;
use super::fleet_policies::fleet_policies_delivered;
use super::report::{ClusterSection, ObjectLine, Report, ServiceSection, judge};
use crate::lattice::objects::{ObjectRef, field_managers, get_object};
use crate::lattice::{Ctl, ServiceView};
use crate::wait_until;

/// Upper bound for every service to be Ready or Failed on a loaded machine; after it the report
/// shows what is still pending. It turns a hang into a report, it times nothing.
const SETTLE_LIMIT: Duration = Duration::from_secs(300);

/// Waits until every accepted service has settled (Ready, Failed or denied). Returns the keys
/// still unsettled when the limit passed (empty when all settled).
pub async fn wait_settled(ctl: &Ctl, applied: &ApplyOutcome) -> Result<Vec<String>, DemoError> {
    let wanted: Vec<String> = applied
        .services
        .iter()
        .filter(|s| matches!(s.applied, Applied::Accepted(_)))
        .map(|s| s.key())
        .collect();
    let pending = std::cell::RefCell::new(wanted.clone());
    let settled = wait_until("every applied service to settle", SETTLE_LIMIT, || {
        let (wanted, pending) = (&wanted, &pending);
        async move {
            let views = service_views(ctl).await?;
            let left: Vec<String> = wanted
                .iter()
                .filter(|key| !views.get(*key).is_some_and(ServiceView::is_settled))
                .cloned()
                .collect();
            let done = left.is_empty();
            *pending.borrow_mut() = left;
            Ok(done.then_some(()))
        }
    })
    .await;
    match settled {
        Ok(()) => Ok(Vec::new()),
        Err(crate::HarnessError::Timeout { .. }) => Ok(pending.into_inner()),
        Err(err) => Err(err.into()),
    }
}

/// The phases a LatticeCluster the demo applied may end in: its managing cluster's agent applied
/// its Cluster API objects (no Cluster API controller runs, so it is not provisioned further
/// unless an agent of that name connects).
const CLUSTER_PHASES_AS_EXPECTED: [&str; 4] = ["Provisioning", "Provisioned", "Pivoted", "Ready"];

/// Waits until every applied LatticeCluster has left `Pending` and writes its phase into its
/// document's outcome: as expected, or not (`Failed`, still `Pending`), with the reason. Returns
/// what the cell shows of each (`latticectl get latticecluster NAME -o json`).
pub async fn lattice_cluster_phases(
    ctl: &Ctl,
    others: &mut [OtherDocument],
) -> Result<Vec<Value>, DemoError> {
    let mut shown_all = Vec::new();
    for other in others
        .iter_mut()
        .filter(|o| o.kind == "LatticeCluster" && o.outcome.is_ok())
    {
        let what = format!("LatticeCluster {} to leave Pending", other.name);
        let name = other.name.clone();
        let shown = wait_until(&what, SETTLE_LIMIT, || {
            let name = &name;
            async move {
                let shown = ctl.json(&["get", "latticecluster", name.as_str()]).await?;
                let pending = shown["status"]["phase"]
                    .as_str()
                    .is_none_or(|p| p == "Pending");
                Ok((!pending).then_some(shown))
            }
        })
        .await;
        let shown = match shown {
            Ok(shown) => shown,
            Err(crate::HarnessError::Timeout { .. }) => {
                other.outcome = Err(
                    "applied, but still Pending: its managing cluster's agent applied nothing"
                        .to_owned(),
                );
                other.acceptable = false;
                continue;
            }
            Err(err) => return Err(err.into()),
        };
        shown_all.push(shown.clone());
        let status = &shown["status"];
        let text = |key: &str| status[key].as_str().unwrap_or("-").to_owned();
        let phase = text("phase");
        if CLUSTER_PHASES_AS_EXPECTED.contains(&phase.as_str()) {
            other.outcome = Ok(format!(
                "applied; phase {phase} ({}), its Cluster API objects on cluster {}",
                text("reason"),
                text("cluster")
            ));
        } else {
            other.outcome = Err(format!("applied, but phase {phase}: {}", text("message")));
            other.acceptable = false;
        }
    }
    Ok(shown_all)
}

/// The objects the agent of `cluster` reported for the LatticeClusters in `shown` (their
/// Cluster API objects on their managing cluster), read back from `client`'s API server.
async fn lattice_cluster_objects(
    client: &kube::Client,
    cluster: &str,
    shown: &[Value],
) -> Result<Vec<ObjectLine>, DemoError> {
    let mut lines = Vec::new();
    for lc in shown {
        let owner = format!(
            "LatticeCluster {}",
            lc["metadata"]["name"].as_str().unwrap_or("-")
        );
        let deliveries = lc["status"]["clusters"].as_array().into_iter().flatten();
        for delivery in deliveries.filter(|d| d["cluster"] == cluster) {
            for entry in delivery["objects"].as_array().into_iter().flatten() {
                let Some(reference) = ObjectRef::from_status(entry) else {
                    continue;
                };
                let found = get_object(client, &reference).await?;
                lines.push(ObjectLine {
                    reference,
                    service: owner.clone(),
                    reported: entry["outcome"].as_str().unwrap_or("-").to_owned(),
                    managers: found.as_ref().map(field_managers),
                });
            }
        }
    }
    Ok(lines)
}

/// Marks a LatticeCluster whose reported Cluster API objects are not all in its managing
/// cluster as applied by Lattice as not as expected.
fn check_lattice_cluster_objects(others: &mut [OtherDocument], clusters: &[ClusterSection]) {
    for other in others
        .iter_mut()
        .filter(|o| o.kind == "LatticeCluster" && o.outcome.is_ok())
    {
        let owner = format!("LatticeCluster {}", other.name);
        let lines: Vec<&ObjectLine> = clusters
            .iter()
            .flat_map(|c| &c.objects)
            .filter(|o| o.service == owner)
            .collect();
        let missing: Vec<String> = lines
            .iter()
            .filter(|o| !o.applied_by_lattice())
            .map(|o| format!("{} {}", o.reference.kind, o.reference.path()))
            .collect();
        if lines.is_empty() || !missing.is_empty() {
            other.outcome = Err(format!(
                "its Cluster API objects are not all in its managing cluster as applied by Lattice: {}",
                if lines.is_empty() {
                    "none reported".to_owned()
                } else {
                    missing.join(", ")
                }
            ));
            other.acceptable = false;
        }
    }
}

/// Every service the cell knows, by `namespace/name`.
async fn service_views(ctl: &Ctl) -> Result<BTreeMap<String, ServiceView>, crate::HarnessError> {
    Ok(ctl
        .services()
        .await?
        .iter()
        .map(ServiceView::from_json)
        .map(|v| (v.key(), v))
        .collect())
}

/// Builds the report: statuses from the cell, objects from the clusters.
pub async fn gather(fleet: &Fleet, mut applied: ApplyOutcome) -> Result<Report, DemoError> {
    let ctl = fleet.cell.ctl()?;
    let lattice_clusters = lattice_cluster_phases(&ctl, &mut applied.others).await?;
    let has_compliance_profiles = applied
        .others
        .iter()
        .any(|o| o.kind == "LatticeComplianceProfile" && o.outcome.is_ok());
    let has_lattice_clusters = applied.others.iter().any(|o| o.kind == "LatticeCluster");
    let views = service_views(&ctl).await?;
    let summaries = ctl.clusters().await?;
    let mut clusters = Vec::new();
    for cluster in &fleet.clusters {
        let client = cluster.client().await?;
        let mut objects = Vec::new();
        for view in views.values().filter(|v| v.cluster == cluster.name()) {
            for delivery in view
                .deliveries
                .iter()
                .filter(|d| d.cluster == cluster.name())
            {
                for result in &delivery.objects {
                    let found = get_object(&client, &result.reference).await?;
                    objects.push(ObjectLine {
                        reference: result.reference.clone(),
                        service: view.key(),
                        reported: result.outcome.clone(),
                        managers: found.as_ref().map(field_managers),
                    });
                }
            }
        }
        objects.extend(lattice_cluster_objects(&client, cluster.name(), &lattice_clusters).await?);
        let summary = summaries
            .iter()
            .find(|s| s["name"] == cluster.name())
            .cloned()
            .unwrap_or_default();
        clusters.push(ClusterSection {
            name: cluster.name().to_owned(),
            summary,
            objects,
        });
    }
    check_lattice_cluster_objects(&mut applied.others, &clusters);
    let fleet_policies = fleet_policies_delivered(fleet, &mut applied.others).await?;
    let services = applied
        .services
        .into_iter()
        .map(|entry| {
            let view = views.get(&entry.key()).cloned();
            let lines: Vec<&ObjectLine> = clusters
                .iter()
                .flat_map(|c| &c.objects)
                .filter(|o| o.service == entry.key())
                .collect();
            let verdict = judge(&entry, view.as_ref(), &lines);
            ServiceSection {
                entry,
                view,
                verdict,
            }
        })
        .collect();
    Ok(Report {
        clusters_table: ctl.run_ok(&["get", "clusters"]).await?,
        services_table: ctl.run_ok(&["get", "services"]).await?,
        policies_table: ctl.run_ok(&["get", "cedarpolicies"]).await.ok(),
        quotas_table: ctl.run_ok(&["get", "quotas"]).await.ok(),
        lattice_clusters_table: if has_lattice_clusters {
            ctl.run_ok(&["get", "latticeclusters"]).await.ok()
        } else {
            None
        },
        compliance_table: if has_compliance_profiles {
            ctl.run_ok(&["compliance", "report"]).await.ok()
        } else {
            None
        },
        services,
        clusters,
        others: applied.others,
        fleet_policies,
        trace: None,
        drift: None,
        pivot: None,
    })
}
