//! `DriftCorrected`: the agent put back an object of a held revision that was edited or deleted
//! on its cluster. Stored (bounded history, total per spec and cluster) and counted; not
//! answered. The session has already checked that the message claims the certificate's cluster.

use chrono::{DateTime, Utc};
use lattice_protocol::v1::DriftCorrected;
use tonic::Status;

use super::Session;
use crate::metrics::DriftLabels;
use crate::spec_key::SpecKey;
use crate::state::CellState;
use crate::store::drift::DriftEvent;

/// Handles one `DriftCorrected` (message `message_id`). A malformed event ends the session
/// like any other malformed message.
pub async fn handle(
    state: &CellState,
    session: &Session,
    message_id: &str,
    event: DriftCorrected,
) -> Result<(), Status> {
    check(&event)?;
    let dropped_before = i64::try_from(event.dropped_before).unwrap_or(i64::MAX);
    let stored = DriftEvent {
        spec_key: &event.spec_key,
        revision_id: &event.revision_id,
        api_version: &event.api_version,
        kind: &event.kind,
        namespace: &event.namespace,
        name: &event.name,
        deleted: event.deleted,
        fields: &event.fields,
        corrected_at: corrected_at(event.corrected_at_unix, Utc::now()),
        dropped_before,
    };
    state
        .store
        .record_drift_correction(session.cluster.as_str(), &stored)
        .await
        .map_err(super::unavailable)?;
    state
        .metrics
        .drift_corrections
        .get_or_create(&DriftLabels {
            cluster: session.cluster.to_string(),
            kind: event.kind.clone(),
        })
        .inc_by(1 + event.dropped_before);
    tracing::info!(cluster = %session.cluster, id = message_id, spec = %event.spec_key, object = %format!("{} {} {}/{}", event.api_version, event.kind, event.namespace, event.name), deleted = event.deleted, fields = ?event.fields, dropped_before = event.dropped_before, "drift corrected by the agent");
    Ok(())
}

/// The fields every event must carry.
fn check(event: &DriftCorrected) -> Result<(), Status> {
    if SpecKey::parse(&event.spec_key).is_none() {
        return Err(Status::invalid_argument(format!(
            "DriftCorrected.spec_key: {:?} is not a Kind/namespace/name spec key",
            event.spec_key
        )));
    }
    for (field, value) in [
        ("revision_id", &event.revision_id),
        ("api_version", &event.api_version),
        ("kind", &event.kind),
        ("name", &event.name),
    ] {
        if value.is_empty() {
            return Err(Status::invalid_argument(format!(
                "DriftCorrected.{field} is empty"
            )));
        }
    }
    Ok(())
}

/// The agent's correction time; `now` when it is missing or not a valid time.
fn corrected_at(unix: i64, now: DateTime<Utc>) -> DateTime<Utc> {
    (unix > 0)
        .then(|| DateTime::from_timestamp(unix, 0))
        .flatten()
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> DriftCorrected {
        DriftCorrected {
            spec_key: "LatticeService/shop/web".into(),
            revision_id: "r1".into(),
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: "shop".into(),
            name: "web".into(),
            ..DriftCorrected::default()
        }
    }

    #[test]
    fn events_without_a_spec_key_or_identity_are_refused_by_field() {
        assert!(check(&event()).is_ok());
        let mut bad = event();
        bad.spec_key = "web".into();
        assert!(check(&bad).unwrap_err().message().contains("spec_key"));
        let mut bad = event();
        bad.kind.clear();
        assert_eq!(
            check(&bad).unwrap_err().message(),
            "DriftCorrected.kind is empty"
        );
    }

    #[test]
    fn a_missing_time_is_the_time_of_arrival() {
        let now = Utc::now();
        assert_eq!(corrected_at(0, now), now);
        assert_eq!(corrected_at(i64::MAX, now), now);
        assert_eq!(corrected_at(60, now).timestamp(), 60);
    }
}
