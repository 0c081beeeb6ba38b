//! Level-triggered delivery on one session: plan against what the cluster should hold and send
//! what is missing, each command recorded before it is sent.
//!
//! - [`reconcile`] plans everything: the cluster's own specs (read from the store) and the
//!   fleet-wide policies (the in-memory set, `crate::delivery::fleet`).
//! - [`deliver_fleet`] plans the fleet policies only, without reading the store: what a session
//!   does on a fleet-wide change and after a fleet policy's result, so one change reaches every
//!   cluster with no per-cluster read (decision 0048).

use std::collections::BTreeMap;

use lattice_derive::fleet_policy::FLEET_POLICY_KIND;
use lattice_protocol::v1::cell_message::Payload as CellPayload;
use lattice_protocol::v1::{Apply, Layer, Remove};
use tonic::Status;
use tracing::Instrument;

use super::{Session, unavailable};
use crate::delivery::fleet::{FleetSet, is_fleet_key};
use crate::delivery::plan::{Command, plan};
use crate::metrics::Metrics;
use crate::outbound::Outbound;
use crate::spec_key::SpecKey;
use crate::state::CellState;
use crate::store::deliveries::SentCommand;

/// Whether a spec key as the agent sent it is a fleet policy's.
pub fn is_fleet_key_text(key: &str) -> bool {
    key.split('/').next() == Some(FLEET_POLICY_KIND)
}

/// Plans against the cluster's desired state (its specs and the fleet policies) and sends what
/// is missing.
pub async fn reconcile(
    state: &CellState,
    session: &mut Session,
    outbound: &Outbound,
) -> Result<(), Status> {
    let cluster = session.cluster.as_str();
    let fleet = state.fleet.current();
    let mut desired: BTreeMap<_, _> = state
        .store
        .desired_revisions(cluster)
        .await
        .map_err(unavailable)?
        .into_iter()
        .collect();
    desired.extend(fleet.desired());
    // The LatticeCluster of a pivot emptying this cluster is neither re-applied nor removed here
    // (`Store::pivot_frozen_specs`).
    let frozen = state
        .store
        .pivot_frozen_specs(cluster)
        .await
        .map_err(unavailable)?;
    let commands = plan(&desired, &session.view)
        .into_iter()
        .filter(|c| !frozen.contains(command_key(c)))
        .collect();
    send(state, session, outbound, &fleet, commands).await
}

/// Plans the fleet policies only (the current set against what the agent holds of them) and
/// sends what is missing: applies of new revisions, removals of deleted policies.
pub async fn deliver_fleet(
    state: &CellState,
    session: &mut Session,
    outbound: &Outbound,
) -> Result<(), Status> {
    let fleet = state.fleet.current();
    let desired: BTreeMap<_, _> = fleet.desired().collect();
    let commands = plan(&desired, &session.view.restricted_to(is_fleet_key));
    send(state, session, outbound, &fleet, commands).await
}

fn command_key(command: &Command) -> &SpecKey {
    match command {
        Command::Apply { key, .. } | Command::Remove { key } => key,
    }
}

/// The layers of `revision` of `key`: a fleet policy's from the set in memory, a spec's from the
/// store. `None` if it is not there (logged).
async fn layers(
    state: &CellState,
    fleet: &FleetSet,
    key: &SpecKey,
    revision: &str,
) -> Result<Option<Vec<Layer>>, Status> {
    if let Some(stored) = fleet.revisions.get(key).filter(|r| r.id == revision) {
        return Ok(Some(stored.layers.clone()));
    }
    let Some(stored) = state.store.revision(revision).await.map_err(unavailable)? else {
        tracing::error!(spec = %key, %revision, "current revision is missing from the store");
        return Ok(None);
    };
    Ok(Some(
        stored
            .layers
            .iter()
            .map(|l| Layer {
                name: l.name.clone(),
                manifests: l
                    .manifests
                    .iter()
                    .map(|m| serde_json::to_vec(m).unwrap_or_default())
                    .collect(),
            })
            .collect(),
    ))
}

/// Sends `commands`, each recorded before it is sent, each in a `deliver` span.
async fn send(
    state: &CellState,
    session: &mut Session,
    outbound: &Outbound,
    fleet: &FleetSet,
    commands: Vec<Command>,
) -> Result<(), Status> {
    for command in commands {
        let span = delivery_span(state, session.cluster.as_str(), &command);
        send_one(state, session, outbound, fleet, command)
            .instrument(span)
            .await?;
    }
    Ok(())
}

/// The span of one command's delivery: an Apply's is a child of the reconcile that released
/// its revision, when the cell still knows it (`crate::delivery::traces`), so the agent's apply
/// (which continues the context the command carries) is in the same trace.
fn delivery_span(state: &CellState, cluster: &str, command: &Command) -> tracing::Span {
    match command {
        Command::Apply { key, revision } => {
            let span = tracing::info_span!(
                "deliver",
                %cluster,
                spec = %key,
                %revision,
                command = "apply",
            );
            if let Some(released_in) = state.traces.get(revision) {
                lattice_telemetry::propagation::set_remote_parent(&span, &released_in);
            }
            span
        }
        Command::Remove { key } => {
            tracing::info_span!("deliver", %cluster, spec = %key, command = "remove")
        }
    }
}

/// Sends one command, recorded before it is sent.
async fn send_one(
    state: &CellState,
    session: &mut Session,
    outbound: &Outbound,
    fleet: &FleetSet,
    command: Command,
) -> Result<(), Status> {
    let cluster = session.cluster.as_str();
    let (payload, sent) = match &command {
        Command::Apply { key, revision } => {
            let Some(layers) = layers(state, fleet, key, revision).await? else {
                return Ok(());
            };
            let apply = Apply {
                spec_key: key.to_string(),
                revision_id: revision.clone(),
                layers,
            };
            (CellPayload::Apply(apply), SentCommand::Apply { revision })
        }
        Command::Remove { key } => (
            CellPayload::Remove(Remove {
                spec_key: key.to_string(),
            }),
            SentCommand::Remove,
        ),
    };
    let key = command_key(&command);
    // Recorded before sending: if the send fails the agent reconnects, and its Hello (not this
    // record) decides what is sent again.
    let id = lattice_protocol::new_message_id();
    state
        .store
        .record_sent(cluster, key, sent, &id)
        .await
        .map_err(unavailable)?;
    outbound
        .send_with_id(id.clone(), payload)
        .await
        .map_err(|_| Status::cancelled("the agent went away"))?;
    session.view.sent(&command);
    match command {
        Command::Apply { .. } => {
            Metrics::count(&state.metrics.applies, "sent");
            state.metrics.stream_message("sent", "apply");
        }
        Command::Remove { .. } => {
            Metrics::count(&state.metrics.removes, "sent");
            state.metrics.stream_message("sent", "remove");
        }
    }
    tracing::info!(%cluster, spec = %key, command_id = %id, "command sent");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_keys_are_recognised_from_their_text() {
        assert!(is_fleet_key_text("LatticeFleetPolicy/-/corp-proxy"));
        assert!(!is_fleet_key_text("LatticeService/shop/api"));
        assert!(!is_fleet_key_text("LatticeFleetPolicyX/-/a"));
    }
}
