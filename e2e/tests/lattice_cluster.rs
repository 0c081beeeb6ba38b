//! A `LatticeCluster` end to end (issue 12, deliverable 1; decision 0043), every part a separate
//! process: `latticectl apply -f` a LatticeCluster managed by a real test cluster; the cell derives
//! its Cluster API objects and delivers them to the managing cluster's real agent, which applies
//! them to its API server with the vendored Cluster API CRDs under strict server-side apply →
//! `Provisioning`; then the new cluster's own agent enrols with a token made by `latticectl` →
//! `Provisioned`. No Cluster API controller runs: the test cluster standing in for the new
//! cluster is another API server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use lattice_e2e::lattice::objects::{ObjectRef, applied_by, get_object};
use lattice_e2e::lattice::{Agent, AgentOptions, Cell, edge_3_managed_by, wait_for_cluster_phase};
use lattice_e2e::{TestCluster, install_crds, lattice_crd_files, vendored_project_crd_files};
use support::FIELD_MANAGER;

const MANAGER: &str = "mgmt";
const NAME: &str = "edge-3";

#[tokio::test]
async fn a_lattice_cluster_is_provisioned_through_its_managing_clusters_agent() {
    // The managing cluster has the Cluster API CRDs (as a management cluster does).
    let manager = TestCluster::start(MANAGER).await.unwrap();
    let mut crds = vendored_project_crd_files(&["cluster-api"]);
    crds.extend(lattice_crd_files());
    install_crds(&manager, &crds).await.unwrap();
    let cell = Cell::start().await.unwrap();
    let ctl = cell.ctl().unwrap();
    let _manager_agent = Agent::register(&cell, &manager, AgentOptions::default())
        .await
        .unwrap();

    // Bad input first: an unknown managing cluster is refused naming the field; nothing stored.
    let refused = ctl
        .run(&[
            "apply",
            "-f",
            &edge_3_managed_by(manager.dir(), "nowhere")
                .unwrap()
                .display()
                .to_string(),
        ])
        .await
        .unwrap();
    assert!(!refused.success(), "{refused:?}");
    assert!(
        refused.stderr.contains("spec.managedBy"),
        "{}",
        refused.stderr
    );
    let listed = ctl.json(&["get", "latticeclusters"]).await.unwrap();
    assert_eq!(listed["items"], serde_json::json!([]), "{listed}");

    let applied = ctl
        .apply(&edge_3_managed_by(manager.dir(), MANAGER).unwrap())
        .await
        .unwrap();
    assert_eq!(
        (applied[0]["kind"].as_str(), applied[0]["result"].as_str()),
        (Some("LatticeCluster"), Some("created")),
        "{applied:?}"
    );
    let provisioning = wait_for_cluster_phase(&ctl, NAME, "Provisioning")
        .await
        .unwrap();
    assert_eq!(provisioning["status"]["managedBy"], MANAGER);
    assert_eq!(provisioning["status"]["cluster"], MANAGER);

    // Every object the managing agent reported is in its API server, applied by Lattice.
    let client = manager.client().await.unwrap();
    let delivery = &provisioning["status"]["clusters"][0];
    assert_eq!(delivery["cluster"], MANAGER, "{provisioning:#}");
    let reported: Vec<ObjectRef> = delivery["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(ObjectRef::from_status)
        .collect();
    for kind in [
        "Cluster",
        "DockerCluster",
        "KubeadmControlPlane",
        "DockerMachineTemplate",
        "MachineDeployment",
        "KubeadmConfigTemplate",
    ] {
        assert!(
            reported.iter().any(|r| r.kind == kind),
            "{kind} not reported: {reported:?}"
        );
    }
    for reference in &reported {
        let object = get_object(&client, reference)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{reference:?} is not in the managing cluster"));
        assert!(applied_by(&object, FIELD_MANAGER), "{reference:?}");
        assert_eq!(
            reference.namespace.as_deref(),
            Some("lattice-cluster-edge-3"),
            "{reference:?}"
        );
    }
    let md = reported
        .iter()
        .find(|r| r.kind == "MachineDeployment" && r.name == "edge-3-gpu")
        .unwrap();
    let md = get_object(&client, md).await.unwrap().unwrap();
    let annotations = md.metadata.annotations.unwrap_or_default();
    assert_eq!(
        annotations
            .get("cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size")
            .map(String::as_str),
        Some("4")
    );

    // The table people read shows the phase and the managing cluster.
    let table = ctl.run_ok(&["get", "latticeclusters"]).await.unwrap();
    let row = table.lines().find(|l| l.contains(NAME)).unwrap_or_default();
    assert!(
        row.contains(MANAGER) && row.contains("Provisioning"),
        "{table}"
    );

    // The new cluster's own agent enrols: its name was registered by the apply, so a token is
    // made without `cluster create`.
    let own = TestCluster::start(NAME).await.unwrap();
    let token = ctl
        .create_token(NAME, &own.dir().join("cell-ca.pem"), None)
        .await
        .unwrap();
    let own_agent = Agent::enrol(&own, &cell.agent_url(), &token, AgentOptions::default()).unwrap();
    own_agent.wait_for_session().await.unwrap();
    let provisioned = wait_for_cluster_phase(&ctl, NAME, "Provisioned")
        .await
        .unwrap();
    assert_eq!(provisioned["status"]["reason"], "AgentConnected");
    let described = ctl.run_ok(&["get", "latticecluster", NAME]).await.unwrap();
    assert!(
        described.contains("Phase:       Provisioned") && described.contains(MANAGER),
        "{described}"
    );
}
