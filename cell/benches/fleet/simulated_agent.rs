//! A simulated agent: its own TLS connection with its enrolled certificate, one `Session` stream,
//! `Hello` first, a heartbeat every interval the cell's `Welcome` names, and every `Apply` or
//! `Remove` acknowledged with a successful result (an `ApplyResult` listing each object of the
//! revision as applied), as a real agent does once its cluster took the objects. No Kubernetes
//! behind it: what is measured is the cell.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use lattice_protocol::PROTOCOL_VERSION;
use lattice_protocol::v1::agent_message::Payload as AgentPayload;
use lattice_protocol::v1::agent_service_client::AgentServiceClient;
use lattice_protocol::v1::cell_message::Payload as CellPayload;
use lattice_protocol::v1::{
    AgentMessage, AgentState, Apply, ApplyResult, ClusterResources, Heartbeat, Hello,
    ObjectOutcome, ObjectResult, RemoveResult, ResourceAmounts,
};
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio::time::{Instant, sleep_until};
use tokio_stream::wrappers::ReceiverStream;

use super::enrolment::{Credentials, Endpoint};

/// One acknowledged command.
#[derive(Debug, Clone)]
pub struct Ack {
    pub agent: usize,
    pub spec_key: String,
    pub received: Instant,
    pub acked: Instant,
}

/// What all simulated agents report, shared.
#[derive(Default)]
pub struct Fleet {
    /// Sessions that received `Welcome` (streams held).
    pub welcomed: AtomicUsize,
    /// Sessions that ended (the cell closed the stream or the connection broke).
    pub ended: AtomicUsize,
    /// Heartbeats sent.
    pub heartbeats: AtomicU64,
    /// Heartbeat acknowledgements received.
    pub heartbeat_acks: AtomicU64,
    /// Commands acknowledged, in order.
    pub acks: Mutex<Vec<Ack>>,
    /// Fires on every acknowledgement and every session start or end.
    pub changed: Notify,
    /// Set when the driver stops the cell: sessions ending then are expected.
    pub stopping: AtomicBool,
}

impl Fleet {
    /// The acknowledgements so far, leaving none behind.
    pub fn take_acks(&self) -> Vec<Ack> {
        std::mem::take(&mut *self.acks.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The number of acknowledgements of specs whose key starts with `prefix`.
    pub fn acks_of(&self, prefix: &str) -> usize {
        self.acks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|a| a.spec_key.starts_with(prefix))
            .count()
    }
}

/// Starts one task per agent; each dials once `dial` gives it a permit, keeps its stream until the
/// process ends, and reports into `fleet`.
pub fn start_all(
    credentials: Vec<Credentials>,
    endpoint: &Endpoint,
    fleet: &Arc<Fleet>,
    dial: &Arc<Semaphore>,
) {
    for (i, creds) in credentials.into_iter().enumerate() {
        let endpoint = endpoint.clone();
        let fleet = fleet.clone();
        let dial = dial.clone();
        tokio::spawn(async move {
            if let Err(status) = run(i, creds, endpoint, &fleet, dial).await
                && !fleet.stopping.load(Ordering::Relaxed)
            {
                eprintln!("fleet: agent {i}: {status}");
            }
            fleet.ended.fetch_add(1, Ordering::Relaxed);
            fleet.changed.notify_waiters();
        });
    }
}

async fn run(
    i: usize,
    creds: Credentials,
    endpoint: Endpoint,
    fleet: &Fleet,
    dial: Arc<Semaphore>,
) -> Result<(), tonic::Status> {
    let started = Instant::now();
    let permit = dial.acquire_owned().await;
    let channel = endpoint.connect(Some(creds.identity)).await?;
    let cluster = creds.cluster;
    let (tx, rx) = mpsc::channel(16);
    let send = |payload: AgentPayload, reply_to: &str| AgentMessage {
        id: lattice_protocol::new_message_id(),
        cluster_id: cluster.clone(),
        reply_to: reply_to.to_string(),
        trace_context: Default::default(),
        payload: Some(payload),
    };
    let hello = AgentPayload::Hello(Hello {
        protocol_version: PROTOCOL_VERSION,
        agent_version: "fleet-sim".into(),
        kubernetes_version: "v1.35.0".into(),
        held: Vec::new(),
    });
    let closed = || tonic::Status::cancelled("the session's sender is gone");
    tx.send(send(hello, "")).await.map_err(|_| closed())?;
    let mut inbound = AgentServiceClient::new(channel)
        .session(ReceiverStream::new(rx))
        .await?
        .into_inner();
    drop(permit);
    let mut next_heartbeat: Option<Instant> = None;
    let mut interval = Duration::from_secs(15);
    let mut sequence = 0u64;
    let mut managed_objects = 0u64;
    loop {
        let heartbeat_due =
            next_heartbeat.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            message = inbound.message() => {
                let Some(message) = message? else { return Ok(()) };
                let received = Instant::now();
                match message.payload {
                    Some(CellPayload::Welcome(welcome)) => {
                        interval = Duration::from_secs(welcome.heartbeat_interval_seconds.max(1).into());
                        // Spread the fleet's heartbeats over the interval, as agents started at
                        // different times are.
                        let offset = interval.mul_f64(((i * 7919) % 1000) as f64 / 1000.0);
                        next_heartbeat = Some(Instant::now() + offset);
                        fleet.welcomed.fetch_add(1, Ordering::Relaxed);
                        fleet.changed.notify_waiters();
                    }
                    Some(CellPayload::Apply(apply)) => {
                        let key = apply.spec_key.clone();
                        let result = applied(apply);
                        managed_objects += result.objects.len() as u64;
                        tx.send(send(AgentPayload::ApplyResult(result), &message.id)).await.map_err(|_| closed())?;
                        record(fleet, i, key, received);
                    }
                    Some(CellPayload::Remove(remove)) => {
                        let key = remove.spec_key.clone();
                        let result = RemoveResult { spec_key: remove.spec_key, success: true, objects: Vec::new(), error: String::new() };
                        tx.send(send(AgentPayload::RemoveResult(result), &message.id)).await.map_err(|_| closed())?;
                        record(fleet, i, key, received);
                    }
                    Some(CellPayload::HeartbeatAck(_)) => {
                        fleet.heartbeat_acks.fetch_add(1, Ordering::Relaxed);
                    }
                    // Simulated agents never ask for a renewal: a run ends long before the
                    // certificates reach two thirds of their 24 h.
                    Some(
                        CellPayload::CertificateIssued(_)
                        | CellPayload::PivotCommand(_)
                        | CellPayload::InventoryWatch(_)
                        | CellPayload::ComplianceResults(_),
                    )
                    | None => {}
                }
            }
            () = sleep_until(heartbeat_due) => {
                sequence += 1;
                let heartbeat = heartbeat(sequence, started.elapsed(), managed_objects);
                tx.send(send(AgentPayload::Heartbeat(heartbeat), "")).await.map_err(|_| closed())?;
                fleet.heartbeats.fetch_add(1, Ordering::Relaxed);
                next_heartbeat = Some(heartbeat_due + interval);
            }
        }
    }
}

fn record(fleet: &Fleet, agent: usize, spec_key: String, received: Instant) {
    fleet
        .acks
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Ack {
            agent,
            spec_key,
            received,
            acked: Instant::now(),
        });
    fleet.changed.notify_waiters();
}

/// The result of applying every object of `apply` successfully.
fn applied(apply: Apply) -> ApplyResult {
    let objects = apply
        .layers
        .iter()
        .flat_map(|layer| &layer.manifests)
        .map(|manifest| {
            let object: serde_json::Value = serde_json::from_slice(manifest).unwrap_or_default();
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
            ObjectResult {
                api_version: text(&object["apiVersion"]),
                kind: text(&object["kind"]),
                namespace: text(&object["metadata"]["namespace"]),
                name: text(&object["metadata"]["name"]),
                outcome: ObjectOutcome::Applied.into(),
                message: String::new(),
            }
        })
        .collect();
    ApplyResult {
        spec_key: apply.spec_key,
        revision_id: apply.revision_id,
        success: true,
        objects,
        error: String::new(),
    }
}

/// A heartbeat of a small three-node cluster.
fn heartbeat(sequence: u64, uptime: Duration, managed_objects: u64) -> Heartbeat {
    let amounts = |cpu_millicores, memory_bytes| ResourceAmounts {
        cpu_millicores,
        memory_bytes,
        gpus: 0,
    };
    Heartbeat {
        sequence,
        uptime_seconds: uptime.as_secs(),
        state: AgentState::Ready.into(),
        agent_version: "fleet-sim".into(),
        kubernetes_version: "v1.35.0".into(),
        managed_objects,
        failed_applies: 0,
        resources: Some(ClusterResources {
            node_count: 3,
            allocatable: Some(amounts(12_000, 48 << 30)),
            requested: Some(amounts(3_500, 10 << 30)),
        }),
    }
}
