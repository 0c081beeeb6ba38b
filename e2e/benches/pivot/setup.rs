//! The bench's world: two real API servers with the Cluster API CRDs, a real cell, the managing
//! cluster's agent, the LatticeCluster `edge-3` delivered through it, the large provisioned CAPI
//! cluster on the source (`capi_fixture` + `capi_scale`), and the cluster's own agent enrolled
//! (`Provisioned`) — what a pivot starts from.

use std::time::Duration;

use kube::Client;
use kube::api::{Api, DynamicObject, ListParams};
use lattice_e2e::bins::workspace_root;
use lattice_e2e::capi_fixture::{self, BOOTSTRAP, CAPI, CONTROL_PLANE, INFRA};
use lattice_e2e::capi_scale::scale_out;
use lattice_e2e::lattice::{Agent, AgentOptions, Cell};
use lattice_e2e::{
    TestCluster, install_crds, lattice_crd_files, vendored_project_crd_files, wait_until,
};

/// The pivoted cluster (the example `edge-3`) and its managing cluster.
pub const CLUSTER: &str = "edge-3";
const MANAGER: &str = "mgmt";
/// Bounds the waits of the setup; it times nothing.
const SETTLE: Duration = Duration::from_secs(300);

/// Every kind the fixture makes that moves, as (apiVersion, kind).
const MOVED_KINDS: [(&str, &str); 12] = [
    (CAPI, "Cluster"),
    (CAPI, "MachineDeployment"),
    (CAPI, "MachineSet"),
    (CAPI, "Machine"),
    (CONTROL_PLANE, "KubeadmControlPlane"),
    (BOOTSTRAP, "KubeadmConfig"),
    (BOOTSTRAP, "KubeadmConfigTemplate"),
    (INFRA, "DockerCluster"),
    (INFRA, "DockerMachine"),
    (INFRA, "DockerMachineTemplate"),
    ("v1", "Secret"),
    ("v1", "ConfigMap"),
];

/// The running parts; dropping it stops them.
pub struct World {
    pub source: TestCluster,
    pub target: TestCluster,
    pub cell: Cell,
    agents: Vec<Agent>,
    /// Objects of the cluster on the source before the pivot.
    pub source_objects: usize,
    /// What the source agent's discovery answer carries, in bytes of JSON.
    pub discovery_bytes: usize,
}

impl World {
    /// Starts everything and makes the cluster with `sets` more MachineSets and `machines` more
    /// worker Machines.
    pub async fn start(sets: usize, machines: usize) -> anyhow::Result<Self> {
        let (source, target) =
            tokio::try_join!(TestCluster::start(MANAGER), TestCluster::start(CLUSTER))?;
        let mut crds = vendored_project_crd_files(&["cluster-api"]);
        crds.extend(lattice_crd_files());
        tokio::try_join!(install_crds(&source, &crds), install_crds(&target, &crds))?;
        let cell = Cell::start().await?;
        let ctl = cell.ctl()?;
        let manager_agent = Agent::register(&cell, &source, AgentOptions::default()).await?;

        // The LatticeCluster, managed by the source: the cell delivers its derived objects there.
        let text = std::fs::read_to_string(workspace_root().join("examples/clusters/edge-3.yaml"))?
            .replace("managedBy: edge-1", &format!("managedBy: {MANAGER}"));
        let file = source.dir().join("edge-3.yaml");
        std::fs::write(&file, text)?;
        ctl.apply(&file).await?;
        wait_phase(&cell, "Provisioning").await?;

        let client = source.client().await?;
        let (_, derived) = capi_fixture::edge_3()?;
        capi_fixture::play_capi_controllers(&client, &derived).await?;
        scale_out(&client, &derived, sets, machines).await?;

        let token = ctl
            .create_token(CLUSTER, &target.dir().join("cell-ca.pem"), None)
            .await?;
        let own_agent = Agent::enrol(&target, &cell.agent_url(), &token, AgentOptions::default())?;
        own_agent.wait_for_session().await?;
        wait_phase(&cell, "Provisioned").await?;

        let listed = list_moved(&client).await?;
        let discovery_bytes = listed
            .iter()
            .map(|o| serde_json::to_vec(o).map_or(0, |b| b.len()))
            .sum();
        Ok(Self {
            source_objects: listed.len(),
            discovery_bytes,
            source,
            target,
            cell,
            agents: vec![manager_agent, own_agent],
        })
    }

    /// The processes a pivot keeps busy, by role.
    pub fn processes(&self) -> Vec<crate::cpu::Taking> {
        let role = |role: &str, pid: u32| crate::cpu::Taking {
            role: role.to_string(),
            pid,
            with_children: false,
        };
        vec![
            role("cell", self.cell.process().pid()),
            role("source agent", self.agents[0].process().pid()),
            role("target agent", self.agents[1].process().pid()),
            role("source apiserver", self.source.apiserver().pid()),
            role("source etcd", self.source.etcd().pid()),
            role("target apiserver", self.target.apiserver().pid()),
            role("target etcd", self.target.etcd().pid()),
            crate::cpu::Taking {
                role: "postgres".to_string(),
                pid: self.cell.postgres_pid().map_or(0, |p| p.unsigned_abs()),
                with_children: true,
            },
        ]
    }

    /// Stops both agents and the cell, so nothing of Lattice acts on the clusters any more.
    pub async fn stop_lattice(&mut self) -> anyhow::Result<()> {
        for agent in &mut self.agents {
            agent.stop().await?;
        }
        self.cell.stop().await?;
        Ok(())
    }
}

/// Waits until the LatticeCluster's phase is `phase`; fails at once on `Failed`.
async fn wait_phase(cell: &Cell, phase: &str) -> anyhow::Result<()> {
    let ctl = cell.ctl()?;
    let now = wait_until(
        &format!("LatticeCluster {CLUSTER} {phase}"),
        SETTLE,
        || async {
            let shown = ctl.json(&["get", "latticecluster", CLUSTER]).await?;
            let now = shown["status"]["phase"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            Ok((now == phase || now == "Failed").then_some(shown))
        },
    )
    .await?;
    anyhow::ensure!(
        now["status"]["phase"] == phase,
        "LatticeCluster {CLUSTER}: {now:#}"
    );
    Ok(())
}

/// The objects of the cluster's namespace (`capi_fixture::NAMESPACE`) of the moved kinds but the
/// fixture's two unrelated ones and the API server's `kube-root-ca.crt` — every object the
/// fixture makes for the cluster — without managedFields, as the source agent lists them.
async fn list_moved(client: &Client) -> anyhow::Result<Vec<DynamicObject>> {
    let mut found = Vec::new();
    for (api_version, kind) in MOVED_KINDS {
        let api: Api<DynamicObject> = capi_fixture::api(client, api_version, kind).await?;
        for mut object in api.list(&ListParams::default()).await?.items {
            object.metadata.managed_fields = None;
            found.push(object);
        }
    }
    // The fixture's two unrelated objects stay; everything else is the cluster's.
    found.retain(|o| {
        !matches!(
            o.metadata.name.as_deref(),
            Some(
                capi_fixture::UNRELATED_SECRET
                    | capi_fixture::UNRELATED_CONFIG_MAP
                    | "kube-root-ca.crt"
            )
        )
    });
    Ok(found)
}

/// How many objects of the cluster are on `cluster`.
pub async fn count_moved(cluster: &TestCluster) -> anyhow::Result<usize> {
    Ok(list_moved(&cluster.client().await?).await?.len())
}
