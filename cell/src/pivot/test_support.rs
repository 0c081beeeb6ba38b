//! Test helpers of the pivot's phase modules: a pivot in a given phase and a small plan.

use lattice_derive::pivot::CapiCluster;

use crate::pivot_state::{Phase, PivotState, PlannedObject, StoredPlan};

/// A pivot of `w1` from `mgmt` in `phase`.
pub(crate) fn state_in(phase: Phase) -> PivotState {
    let mut state = PivotState::new(
        "p1".into(),
        "w1",
        "mgmt",
        CapiCluster::new("lattice-cluster-w1", "w1"),
    );
    state.phase = phase;
    state
}

/// A plan of three batches: the Cluster; a KubeadmControlPlane and a MachineDeployment; a
/// Secret.
pub(crate) fn plan() -> StoredPlan {
    let object = |api: &str, kind: &str, name: &str, uid: &str| PlannedObject {
        api_version: api.into(),
        kind: kind.into(),
        namespace: "lattice-cluster-w1".into(),
        name: name.into(),
        uid: uid.into(),
    };
    StoredPlan {
        batches: vec![
            vec![object("cluster.x-k8s.io/v1beta2", "Cluster", "w1", "s-c")],
            vec![
                object(
                    "controlplane.cluster.x-k8s.io/v1beta2",
                    "KubeadmControlPlane",
                    "w1-cp",
                    "s-kcp",
                ),
                object(
                    "cluster.x-k8s.io/v1beta2",
                    "MachineDeployment",
                    "w1-md",
                    "s-md",
                ),
            ],
            vec![object("v1", "Secret", "w1-kubeconfig", "s-kc")],
        ],
    }
}
