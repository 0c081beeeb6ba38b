//! `Hello`, the first message of every session: the protocol version is checked, the agent's facts
//! recorded, the session registered (superseding an older one of the same cluster) and `Welcome`
//! sent. What the agent says it holds seeds level-triggered delivery; a held revision that the cell
//! sent and never recorded a successful result for (lost when the cell died) is sent again, to be
//! acknowledged.

use lattice_protocol::check_protocol_version;
use lattice_protocol::v1::cell_message::Payload;
use lattice_protocol::v1::{Hello, Welcome};
use tonic::Status;

use super::Session;
use crate::cluster_specs::events;
use crate::delivery::plan::AgentView;
use crate::grpc::identity::{AgentIdentity, recheck};
use crate::outbound::Outbound;
use crate::spec_key::SpecKey;
use crate::state::CellState;
use crate::store::clusters::AgentFacts;

/// Accepts `hello` (message `message_id`) from the agent of `identity` and starts the session.
pub async fn handle(
    state: &CellState,
    identity: AgentIdentity,
    message_id: &str,
    hello: Hello,
    outbound: &Outbound,
) -> Result<Session, Status> {
    let cluster = identity.cluster.clone();
    let version = check_protocol_version(hello.protocol_version)
        .map_err(|e| Status::failed_precondition(e.to_string()))?;
    let mut held = Vec::new();
    for h in hello.held {
        let key = SpecKey::parse(&h.spec_key).ok_or_else(|| {
            Status::invalid_argument(format!(
                "Hello.held: {:?} is not a Kind/namespace/name spec key",
                h.spec_key
            ))
        })?;
        held.push((key, h.revision_id));
    }
    state
        .store
        .record_hello(
            cluster.as_str(),
            AgentFacts {
                agent_version: &hello.agent_version,
                protocol_version: version,
                kubernetes_version: &hello.kubernetes_version,
            },
        )
        .await
        .map_err(super::unavailable)?;
    // The agent of a cluster a LatticeCluster provisions has connected: it is Provisioned.
    events::after_hello(&state.store, cluster.as_str())
        .await
        .map_err(super::unavailable)?;
    let unacknowledged = state
        .store
        .unacknowledged_applies(cluster.as_str())
        .await
        .map_err(super::unavailable)?
        .into_iter()
        .filter_map(|(key, revision)| Some((SpecKey::parse(&key)?, revision)))
        .collect();
    let registration = state.registry.register(cluster.as_str());
    // A revocation committed after `authenticate` but before this registration found no session
    // to cut; reading the certificate's record again now that the session is registered closes
    // that window (the revoke cuts what is registered after its commit).
    if let Err(status) = recheck(state, &identity).await {
        state
            .registry
            .unregister(cluster.as_str(), registration.generation);
        return Err(status);
    }
    state
        .metrics
        .connected_agents
        .set(i64::try_from(state.registry.connected_count()).unwrap_or(i64::MAX));
    let welcome = Welcome {
        protocol_version: version,
        cluster_id: cluster.to_string(),
        heartbeat_interval_seconds: u32::try_from(state.settings.heartbeat_interval.as_secs())
            .unwrap_or(u32::MAX),
    };
    let session = Session {
        cluster: cluster.clone(),
        identity,
        registration,
        view: AgentView::from_hello_and_records(held, &unacknowledged),
    };
    outbound
        .send(Payload::Welcome(welcome), message_id)
        .await
        .map_err(|_| Status::cancelled("the agent went away during Hello"))?;
    // From now on commands of others (a pivot's steps) may be sent on this session.
    state.registry.attach(
        cluster.as_str(),
        session.registration.generation,
        outbound.clone(),
    );
    tracing::info!(
        %cluster,
        agent_version = %hello.agent_version,
        kubernetes_version = %hello.kubernetes_version,
        protocol_version = version,
        held = session.view.held.len(),
        unconfirmed = session.view.unconfirmed.len(),
        "agent session started"
    );
    Ok(session)
}
