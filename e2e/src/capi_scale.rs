//! A large provisioned Cluster API cluster for the pivot benchmark: [`scale_out`] adds, to the
//! cluster [`crate::capi_fixture::play_capi_controllers`] made, `sets` more MachineSets of pool
//! `general` (owned by its MachineDeployment) and `machines` worker Machines spread over them,
//! each with its KubeadmConfig, DockerMachine and bootstrap-data Secret, provisioned — what CAPI's
//! controllers leave after scaling the pool out. [`moved_objects`] says how many objects then
//! belong to the cluster; [`machines_for`] picks the machine count for a wanted total.

use futures::{StreamExt, TryStreamExt};
use kube::Client;
use lattice_derive::Derived;
use serde_json::json;

use crate::HarnessError;
use crate::capi_fixture::{
    CAPI, CLUSTER, Kube, MOVED_OBJECTS, derived_name, labels, owner_reference,
};

/// Objects one worker machine brings: Machine, KubeadmConfig, DockerMachine, bootstrap Secret.
pub const OBJECTS_PER_MACHINE: usize = 4;
/// How many machines are written at once (each is nine requests, one after the other).
const CONCURRENCY: usize = 16;

/// The objects of the cluster after [`scale_out`] with `sets` and `machines`.
pub fn moved_objects(sets: usize, machines: usize) -> usize {
    MOVED_OBJECTS + sets + OBJECTS_PER_MACHINE * machines
}

/// The largest machine count with which `sets` MachineSets give at most `objects` objects.
pub fn machines_for(objects: usize, sets: usize) -> usize {
    objects.saturating_sub(MOVED_OBJECTS + sets) / OBJECTS_PER_MACHINE
}

/// The name of the `index`th added MachineSet.
pub fn machine_set_name(index: usize) -> String {
    format!("{CLUSTER}-general-s{index:03}")
}

/// Adds `sets` MachineSets and `machines` provisioned worker Machines (round robin over the sets)
/// to the cluster on `client`, once [`crate::capi_fixture::play_capi_controllers`] ran.
pub async fn scale_out(
    client: &Client,
    derived: &Derived,
    sets: usize,
    machines: usize,
) -> Result<(), HarnessError> {
    let k = Kube { client };
    let worker_template = derived_name(derived, "DockerMachineTemplate", "edge-3-general-");
    let config_template = derived_name(derived, "KubeadmConfigTemplate", "edge-3-general-");
    let md = k
        .owner(CAPI, "MachineDeployment", "edge-3-general", true)
        .await?;
    // Machines need a MachineSet to own them.
    let machines = if sets == 0 { 0 } else { machines };
    let mut owners = Vec::with_capacity(sets);
    for index in 0..sets {
        let name = machine_set_name(index);
        let replicas = machines / sets + usize::from(index < machines % sets);
        let selector = json!({
            "cluster.x-k8s.io/cluster-name": CLUSTER,
            "cluster.x-k8s.io/deployment-name": "edge-3-general",
            "cluster.x-k8s.io/set-name": name
        });
        k.create(json!({
            "apiVersion": CAPI, "kind": "MachineSet",
            "metadata": {
                "name": name,
                "labels": labels(&[("cluster.x-k8s.io/deployment-name", "edge-3-general")]),
                "ownerReferences": [md.clone()]
            },
            "spec": {
                "clusterName": CLUSTER, "replicas": replicas,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": selector},
                    "spec": {
                        "clusterName": CLUSTER, "version": "v1.32.0",
                        "bootstrap": {"configRef": {"apiGroup": "bootstrap.cluster.x-k8s.io", "kind": "KubeadmConfigTemplate", "name": config_template}},
                        "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DockerMachineTemplate", "name": worker_template}
                    }
                }
            }
        }))
        .await?;
        owners.push((
            name.clone(),
            owner_reference(client, CAPI, "MachineSet", &name, true).await?,
        ));
    }
    futures::stream::iter(0..machines)
        .map(|index| {
            let (set, owner) = &owners[index % sets];
            let name = format!("{set}-m{index:04}");
            let k = Kube { client };
            let worker_template = worker_template.clone();
            let owner = owner.clone();
            async move {
                k.provisioned_machine(&name, owner, Some(set), &worker_template)
                    .await
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<()>()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_count_fills_the_wanted_total_without_passing_it() {
        let machines = machines_for(1_000, 5);
        assert_eq!(machines, 242);
        assert_eq!(moved_objects(5, machines), 1_000);
        assert!(moved_objects(4, machines_for(1_000, 4)) <= 1_000);
        assert_eq!(machines_for(10, 5), 0);
    }
}
