//! A simulated agent for the pivot tests: a real gRPC session with the cell (its enrolled
//! certificate, `Hello`, heartbeats), answering every `PivotCommand` faithfully from an in-memory
//! object store that stands for its cluster's API server — pause read back, discovery of the
//! movable groups in the namespace, create-or-adopt by `lattice.dev/source-uid` with owner
//! references checked against the UIDs that exist, deletes only of the moved UID — and every
//! `Apply`/`Remove` acknowledged. The store outlives a session, as a cluster outlives its agent.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use lattice_derive::pivot::membership::is_movable;
use lattice_derive::pivot::{ObjectKey, SOURCE_UID_ANNOTATION};
use lattice_protocol::PROTOCOL_VERSION;
use lattice_protocol::v1::agent_message::Payload as AgentPayload;
use lattice_protocol::v1::cell_message::Payload as CellPayload;
use lattice_protocol::v1::pivot_command::Step;
use lattice_protocol::v1::pivot_step_result::Detail;
use lattice_protocol::v1::{
    AgentMessage, AgentState, ApplyResult, Heartbeat, Hello, PivotBatchCreated, PivotBatchDeleted,
    PivotCommand, PivotCreateBatch, PivotCreatedObject, PivotDeleteBatch, PivotDiscovered,
    PivotPausedState, PivotStepResult, RemoveResult,
};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use crate::common::{TestAgent, TestCell, open_session};

/// What a simulated cluster's agent does besides answering faithfully.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Fail `CreateBatch` of this batch index at this object position: the objects before it
    /// are created (and listed in the failed answer), as an API server refusing one object would.
    pub fail_create: Option<(u32, usize)>,
    /// On `CreateBatch` of this batch index: create it, then never answer (the answer is lost,
    /// as when the cell dies before reading it).
    pub swallow_create: Option<u32>,
    /// On `DeleteBatch` of this batch index: delete it, then never answer.
    pub swallow_delete: Option<u32>,
}

/// A cluster: its objects and what its agent was asked.
#[derive(Debug, Default)]
pub struct ClusterSim {
    name: String,
    state: Mutex<SimState>,
    /// Fires whenever the agent handled a command.
    pub changed: Notify,
}

#[derive(Debug, Default)]
struct SimState {
    objects: BTreeMap<ObjectKey, Value>,
    next_uid: u64,
    /// Every pivot step received, e.g. `pause`, `unpause`, `discover`, `create 2/5`, and every
    /// `apply SPEC` / `remove SPEC`.
    log: Vec<String>,
    /// Specs released by `DeleteBatch.release_spec_key`.
    released: Vec<String>,
    behaviour: Behaviour,
}

fn key_of(value: &Value) -> ObjectKey {
    ObjectKey::new(
        value["apiVersion"].as_str().unwrap_or_default(),
        value["kind"].as_str().unwrap_or_default(),
        value["metadata"]["namespace"].as_str().unwrap_or_default(),
        value["metadata"]["name"].as_str().unwrap_or_default(),
    )
}

fn uid_of(value: &Value) -> &str {
    value["metadata"]["uid"].as_str().unwrap_or_default()
}

impl ClusterSim {
    /// An empty cluster.
    pub fn new(name: &str) -> Arc<Self> {
        Arc::new(Self {
            name: name.to_string(),
            ..Self::default()
        })
    }

    fn lock(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts `objects` (with their UIDs) into the cluster.
    pub fn insert(&self, objects: Vec<Value>) {
        let mut state = self.lock();
        for object in objects {
            state.objects.insert(key_of(&object), object);
        }
    }

    /// Sets what the agent does besides answering.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        self.lock().behaviour = behaviour;
    }

    /// Every object.
    pub fn objects(&self) -> Vec<Value> {
        self.lock().objects.values().cloned().collect()
    }

    /// The object `kind` `namespace/name` of `api_version`'s group.
    pub fn get(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        self.lock()
            .objects
            .get(&ObjectKey::new(api_version, kind, namespace, name))
            .cloned()
    }

    /// The pivot steps received, in order.
    pub fn log(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    /// The specs released.
    pub fn released(&self) -> Vec<String> {
        self.lock().released.clone()
    }

    /// Whether the `Cluster` `namespace/name` has `spec.paused: true`.
    pub fn is_paused(&self, namespace: &str, name: &str) -> Option<bool> {
        self.get("cluster.x-k8s.io/v1beta2", "Cluster", namespace, name)
            .map(|c| c["spec"]["paused"] == json!(true))
    }

    /// Acknowledges an `Apply` (logged as `apply SPEC`).
    fn applied(&self, apply: lattice_protocol::v1::Apply) -> ApplyResult {
        self.lock().log.push(format!("apply {}", apply.spec_key));
        ApplyResult {
            spec_key: apply.spec_key,
            revision_id: apply.revision_id,
            success: true,
            objects: Vec::new(),
            error: String::new(),
        }
    }

    /// Acknowledges a `Remove` (logged as `remove SPEC`).
    fn removed(&self, remove: lattice_protocol::v1::Remove) -> RemoveResult {
        self.lock().log.push(format!("remove {}", remove.spec_key));
        RemoveResult {
            spec_key: remove.spec_key,
            success: true,
            objects: Vec::new(),
            error: String::new(),
        }
    }

    /// The answer to `command` (`None`: none is sent).
    fn answer(&self, command: PivotCommand) -> Option<PivotStepResult> {
        let mut state = self.lock();
        let result = |success: bool, error: String, detail: Option<Detail>| PivotStepResult {
            pivot_id: command.pivot_id.clone(),
            success,
            error,
            detail,
        };
        let (ns, name) = (&command.cluster_namespace, &command.cluster_name);
        match command.step.clone() {
            Some(Step::SetPaused(set)) => {
                state
                    .log
                    .push(if set.paused { "pause" } else { "unpause" }.into());
                let key = ObjectKey::new("cluster.x-k8s.io/v1beta2", "Cluster", ns, name);
                let Some(cluster) = state.objects.get_mut(&key) else {
                    return Some(result(false, format!("{key} not found"), None));
                };
                let spec = cluster["spec"].as_object_mut().unwrap();
                if set.paused {
                    spec.insert("paused".into(), json!(true));
                } else {
                    spec.remove("paused");
                }
                let paused = set.paused;
                Some(result(
                    true,
                    String::new(),
                    Some(Detail::Paused(PivotPausedState { paused })),
                ))
            }
            Some(Step::Discover(_)) => {
                state.log.push("discover".into());
                let objects = state
                    .objects
                    .iter()
                    .filter(|(key, _)| key.namespace == *ns && is_movable(key))
                    .map(|(_, value)| serde_json::to_vec(value).unwrap())
                    .collect();
                Some(result(
                    true,
                    String::new(),
                    Some(Detail::Discovered(PivotDiscovered { objects })),
                ))
            }
            Some(Step::CreateBatch(batch)) => {
                let index = batch.batch_index;
                state
                    .log
                    .push(format!("create {}/{}", index + 1, batch.batch_count));
                let (created, error) = self.create(&mut state, &batch);
                let detail = Some(Detail::BatchCreated(PivotBatchCreated {
                    batch_index: index,
                    objects: created,
                }));
                if state.behaviour.swallow_create == Some(index) {
                    state.behaviour.swallow_create = None;
                    state.log.push(format!("swallowed create {}", index + 1));
                    return None;
                }
                Some(match error {
                    None => result(true, String::new(), detail),
                    Some(error) => result(false, error, detail),
                })
            }
            Some(Step::DeleteBatch(batch)) => {
                state.log.push(format!(
                    "delete {}/{}{}",
                    batch.batch_index + 1,
                    batch.batch_count,
                    if batch.release_spec_key.is_empty() {
                        String::new()
                    } else {
                        format!(" releasing {}", batch.release_spec_key)
                    }
                ));
                let (deleted, already_absent) = Self::delete(&mut state, &batch);
                if state.behaviour.swallow_delete == Some(batch.batch_index) {
                    state.behaviour.swallow_delete = None;
                    state
                        .log
                        .push(format!("swallowed delete {}", batch.batch_index + 1));
                    return None;
                }
                Some(result(
                    true,
                    String::new(),
                    Some(Detail::BatchDeleted(PivotBatchDeleted {
                        batch_index: batch.batch_index,
                        deleted,
                        already_absent,
                        // The simulated source never finds a name holding another UID.
                        left_alone: Vec::new(),
                    })),
                ))
            }
            None => Some(result(false, "no step".into(), None)),
        }
    }

    /// Creates or adopts each object, as the real agent does; stops at the first refusal.
    fn create(
        &self,
        state: &mut SimState,
        batch: &PivotCreateBatch,
    ) -> (Vec<PivotCreatedObject>, Option<String>) {
        let mut created = Vec::new();
        for (position, object) in batch.objects.iter().enumerate() {
            let mut manifest: Value = serde_json::from_slice(&object.manifest).unwrap();
            let key = key_of(&manifest);
            if state.behaviour.fail_create == Some((batch.batch_index, position)) {
                return (
                    created,
                    Some(format!(
                        "{key}: admission webhook denied the request (simulated)"
                    )),
                );
            }
            for owner in manifest["metadata"]["ownerReferences"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let uid = owner["uid"].as_str().unwrap_or_default();
                if !state.objects.values().any(|o| uid_of(o) == uid) {
                    return (
                        created,
                        Some(format!(
                            "{key}: owner uid {uid} does not exist on {}",
                            self.name
                        )),
                    );
                }
            }
            let existing = state.objects.get(&key);
            let (target_uid, adopted) = match existing {
                Some(existing)
                    if existing["metadata"]["annotations"][SOURCE_UID_ANNOTATION]
                        == json!(object.source_uid) =>
                {
                    (uid_of(existing).to_string(), true)
                }
                Some(existing) => {
                    return (
                        created,
                        Some(format!(
                            "{key} already exists (uid {}) and was not made by this pivot",
                            uid_of(existing)
                        )),
                    );
                }
                None => {
                    state.next_uid += 1;
                    let uid = format!("{}-uid-{}", self.name, state.next_uid);
                    manifest["metadata"]["uid"] = json!(uid);
                    if !object.status.is_empty() {
                        manifest["status"] = serde_json::from_slice(&object.status).unwrap();
                    }
                    state.objects.insert(key, manifest);
                    (uid, false)
                }
            };
            created.push(PivotCreatedObject {
                source_uid: object.source_uid.clone(),
                target_uid,
                adopted,
            });
        }
        (created, None)
    }

    fn delete(state: &mut SimState, batch: &PivotDeleteBatch) -> (u32, u32) {
        if !batch.release_spec_key.is_empty() && !state.released.contains(&batch.release_spec_key) {
            state.released.push(batch.release_spec_key.clone());
        }
        let (mut deleted, mut absent) = (0, 0);
        for reference in &batch.objects {
            let key = ObjectKey::new(
                &reference.api_version,
                &reference.kind,
                &reference.namespace,
                &reference.name,
            );
            if state
                .objects
                .get(&key)
                .is_some_and(|o| uid_of(o) == reference.uid)
            {
                state.objects.remove(&key);
                deleted += 1;
            } else {
                absent += 1;
            }
        }
        (deleted, absent)
    }
}

/// A running simulated agent (one session).
pub struct SimAgent {
    task: JoinHandle<()>,
}

impl SimAgent {
    /// Opens a session for `agent` (enrolled) on `cell`, answering from `cluster`. Returns once
    /// the cell welcomed it.
    pub async fn start(cell: &TestCell, agent: &TestAgent, cluster: Arc<ClusterSim>) -> Self {
        let channel = TestAgent::channel(cell, Some(agent.identity()))
            .await
            .unwrap();
        let mut stream = open_session(channel, &agent.cluster).await.unwrap();
        let name = agent.cluster.clone();
        let message = move |payload: AgentPayload, reply_to: &str| AgentMessage {
            id: lattice_protocol::new_message_id(),
            cluster_id: name.clone(),
            reply_to: reply_to.to_string(),
            trace_context: Default::default(),
            payload: Some(payload),
        };
        let hello = AgentPayload::Hello(Hello {
            protocol_version: PROTOCOL_VERSION,
            agent_version: "pivot-sim".into(),
            kubernetes_version: "v1.35.0".into(),
            held: Vec::new(),
        });
        stream.tx.send(message(hello, "")).await.unwrap();
        let welcome = stream.rx.message().await.unwrap().unwrap();
        assert!(matches!(welcome.payload, Some(CellPayload::Welcome(_))));
        let tx: mpsc::Sender<AgentMessage> = stream.tx.clone();
        let task = tokio::spawn(async move {
            let mut heartbeat = tokio::time::interval(Duration::from_secs(5));
            let mut sequence = 0;
            loop {
                tokio::select! {
                    next = stream.rx.message() => {
                        let Ok(Some(received)) = next else { return };
                        let reply = match received.payload {
                            Some(CellPayload::PivotCommand(command)) => {
                                let answer = cluster.answer(command);
                                cluster.changed.notify_waiters();
                                answer.map(AgentPayload::PivotStepResult)
                            }
                            Some(CellPayload::Apply(apply)) => Some(AgentPayload::ApplyResult(cluster.applied(apply))),
                            Some(CellPayload::Remove(remove)) => Some(AgentPayload::RemoveResult(cluster.removed(remove))),
                            _ => None,
                        };
                        if let Some(reply) = reply
                            && tx.send(message(reply, &received.id)).await.is_err()
                        {
                            return;
                        }
                    }
                    _ = heartbeat.tick() => {
                        sequence += 1;
                        let beat = AgentPayload::Heartbeat(Heartbeat {
                            sequence,
                            uptime_seconds: sequence * 5,
                            state: AgentState::Ready.into(),
                            agent_version: "pivot-sim".into(),
                            kubernetes_version: "v1.35.0".into(),
                            managed_objects: 0,
                            failed_applies: 0,
                            resources: None,
                        });
                        if tx.send(message(beat, "")).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Self { task }
    }

    /// Ends the session (the agent goes away).
    pub fn stop(self) {
        self.task.abort();
    }
}

/// The Cluster API objects of a provisioned Docker cluster `name` in `namespace` with `workers`
/// worker machines, as its managing cluster holds them (UIDs `src-…`), plus two objects that must
/// not move: an unrelated ConfigMap and a Pod. `provisioned: false` leaves the first worker
/// without a node.
pub fn docker_cluster(
    namespace: &str,
    name: &str,
    workers: usize,
    provisioned: bool,
) -> Vec<Value> {
    let capi = "cluster.x-k8s.io/v1beta2";
    let infra = "infrastructure.cluster.x-k8s.io/v1beta2";
    let object = |api: &str, kind: &str, object_name: &str, owner: Option<(&str, &str, &str)>| {
        let mut value = json!({
            "apiVersion": api, "kind": kind,
            "metadata": {
                "name": object_name, "namespace": namespace,
                "uid": format!("src-{kind}-{object_name}"),
                "resourceVersion": "17",
                "labels": {"cluster.x-k8s.io/cluster-name": name},
            },
            "spec": {},
        });
        if let Some((owner_api, owner_kind, owner_name)) = owner {
            value["metadata"]["ownerReferences"] = json!([{
                "apiVersion": owner_api, "kind": owner_kind, "name": owner_name,
                "uid": format!("src-{owner_kind}-{owner_name}"), "controller": true,
            }]);
        }
        value
    };
    let cluster_owner = Some((capi, "Cluster", name));
    let mut cluster = object(capi, "Cluster", name, None);
    cluster["spec"] = json!({"controlPlaneRef": {"kind": "KubeadmControlPlane", "name": format!("{name}-control-plane")}});
    cluster["status"] = json!({"initialization": {"infrastructureProvisioned": true, "controlPlaneInitialized": true}});
    let kcp = format!("{name}-control-plane");
    let md = format!("{name}-md-0");
    let ms = format!("{name}-md-0-abcde");
    let mut objects = vec![
        cluster,
        object(infra, "DockerCluster", name, cluster_owner),
        object(
            "controlplane.cluster.x-k8s.io/v1beta2",
            "KubeadmControlPlane",
            &kcp,
            cluster_owner,
        ),
        object(
            infra,
            "DockerMachineTemplate",
            &format!("{name}-workers-1a2b3c4d"),
            cluster_owner,
        ),
        object(capi, "MachineDeployment", &md, cluster_owner),
        object(
            capi,
            "MachineSet",
            &ms,
            Some((capi, "MachineDeployment", &md)),
        ),
    ];
    for purpose in ["kubeconfig", "ca"] {
        let mut secret = object(
            "v1",
            "Secret",
            &format!("{name}-{purpose}"),
            Some((
                "controlplane.cluster.x-k8s.io/v1beta2",
                "KubeadmControlPlane",
                &kcp,
            )),
        );
        secret.as_object_mut().unwrap().remove("spec");
        secret["data"] = json!({"value": "c2VjcmV0LWtleS1tYXRlcmlhbA=="});
        objects.push(secret);
    }
    for i in 0..workers {
        let machine_name = format!("{name}-md-0-abcde-{i}");
        let mut machine = object(
            capi,
            "Machine",
            &machine_name,
            Some((capi, "MachineSet", &ms)),
        );
        if provisioned || i > 0 {
            machine["status"] = json!({"nodeRef": {"name": machine_name}});
        }
        objects.push(machine);
        objects.push(object(
            infra,
            "DockerMachine",
            &machine_name,
            Some((capi, "Machine", &machine_name)),
        ));
        let bootstrap = "bootstrap.cluster.x-k8s.io/v1beta2";
        objects.push(object(
            bootstrap,
            "KubeadmConfig",
            &machine_name,
            Some((capi, "Machine", &machine_name)),
        ));
        let mut data = object(
            "v1",
            "Secret",
            &machine_name,
            Some((bootstrap, "KubeadmConfig", &machine_name)),
        );
        data.as_object_mut().unwrap().remove("spec");
        objects.push(data);
    }
    let mut unrelated = object("v1", "ConfigMap", "someone-elses", None);
    unrelated["metadata"]["labels"] = json!({});
    objects.push(unrelated);
    objects.push(object(
        "v1",
        "Pod",
        "capd-helper",
        Some((capi, "Machine", &format!("{name}-md-0-abcde-0"))),
    ));
    objects
}
