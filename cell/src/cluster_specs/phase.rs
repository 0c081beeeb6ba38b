//! The lifecycle of a `LatticeCluster`, as stored in `specs.status` next to the derivation
//! loop's attempt record: `phase` (`Provisioning → Provisioned → Pivoting → Pivoted → Ready`, or
//! `Failed`), `reason`, `message` and `phaseTransitionTime`. Pure: what an event does to a phase.

use serde::{Deserialize, Serialize};

/// A `LatticeCluster`'s phase. Absent before its managing cluster acknowledged a revision (the
/// status view shows `Pending`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClusterPhase {
    /// The managing cluster's agent applied the Cluster API objects; the cluster's own agent
    /// has not connected yet.
    Provisioning,
    /// The cluster's own agent has connected at least once.
    Provisioned,
    /// A pivot is moving the Cluster API objects into the cluster (written by the pivot).
    Pivoting,
    /// The cluster holds its own Cluster API objects (written by the pivot).
    Pivoted,
    /// An unpivot is moving the Cluster API objects back to the managing cluster (written by
    /// the unpivot; it ends `Provisioned`, or `Pivoted` again when it rolled back).
    Unpivoting,
    /// After the pivot, the cluster's own agent acknowledged the `LatticeCluster` revision.
    Ready,
    /// Something failed; `reason` and `message` say what.
    Failed,
}

impl ClusterPhase {
    /// The phase as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterPhase::Provisioning => "Provisioning",
            ClusterPhase::Provisioned => "Provisioned",
            ClusterPhase::Pivoting => "Pivoting",
            ClusterPhase::Pivoted => "Pivoted",
            ClusterPhase::Unpivoting => "Unpivoting",
            ClusterPhase::Ready => "Ready",
            ClusterPhase::Failed => "Failed",
        }
    }

    /// Reads a stored phase.
    pub fn parse(text: &str) -> Option<Self> {
        [
            ClusterPhase::Provisioning,
            ClusterPhase::Provisioned,
            ClusterPhase::Pivoting,
            ClusterPhase::Pivoted,
            ClusterPhase::Unpivoting,
            ClusterPhase::Ready,
            ClusterPhase::Failed,
        ]
        .into_iter()
        .find(|p| p.as_str() == text)
    }

    /// Whether a pivot started: the managing cluster may no longer hold the Cluster API objects,
    /// so the spec stays where the pivot put it and cannot simply be deleted.
    pub fn pivot_started(self) -> bool {
        matches!(
            self,
            ClusterPhase::Pivoting
                | ClusterPhase::Pivoted
                | ClusterPhase::Unpivoting
                | ClusterPhase::Ready
        )
    }
}

/// `reason` of a `Failed` phase written because an agent failed to apply the revision.
pub const APPLY_FAILED: &str = "ApplyFailed";

/// The stored lifecycle of one `LatticeCluster` (what the events below read).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lifecycle {
    /// The phase, if one was written.
    pub phase: Option<ClusterPhase>,
    /// Its reason (`ApplyFailed`, or the pivot's).
    pub reason: Option<String>,
}

/// What an agent reported about a `LatticeCluster`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterEvent {
    /// The managing cluster's agent applied the current revision; `own_agent_seen` says whether
    /// the cluster's own agent has ever connected.
    ManagingApplied {
        /// The cluster's own agent connected at least once.
        own_agent_seen: bool,
    },
    /// An agent (managing, or the cluster's own after a pivot) failed to apply the revision.
    ApplyFailed {
        /// The agent's error.
        error: String,
    },
    /// The cluster's own agent connected.
    OwnAgentConnected,
    /// The cluster's own agent applied the current revision (it holds it after a pivot).
    OwnAgentApplied,
}

/// A phase to write: the phase, its reason and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseChange {
    /// The new phase.
    pub phase: ClusterPhase,
    /// CamelCase reason.
    pub reason: String,
    /// For people.
    pub message: String,
}

fn change(phase: ClusterPhase, reason: &str, message: impl Into<String>) -> Option<PhaseChange> {
    Some(PhaseChange {
        phase,
        reason: reason.to_string(),
        message: message.into(),
    })
}

/// The phase `event` moves `current` to, or `None` when it changes nothing. A `Failed` the pivot
/// wrote (another reason than [`APPLY_FAILED`]) is left for the pivot to resolve; so are
/// `Pivoting` and `Pivoted` except for the own agent's acknowledgement, which makes a pivoted
/// cluster `Ready`.
pub fn next_phase(current: &Lifecycle, event: &ClusterEvent) -> Option<PhaseChange> {
    use ClusterPhase::*;
    let ours_failed =
        current.phase == Some(Failed) && current.reason.as_deref() == Some(APPLY_FAILED);
    match event {
        ClusterEvent::ManagingApplied { own_agent_seen } => {
            let before_pivot = matches!(current.phase, None | Some(Provisioning)) || ours_failed;
            if !before_pivot {
                return None;
            }
            let (phase, reason, message) = if *own_agent_seen {
                (
                    Provisioned,
                    "AgentConnected",
                    "the managing cluster applied the Cluster API objects and the cluster's own agent has connected",
                )
            } else {
                (
                    Provisioning,
                    "ObjectsApplied",
                    "the managing cluster applied the Cluster API objects; waiting for the cluster's own agent to connect",
                )
            };
            (current.phase != Some(phase)).then(|| change(phase, reason, message))?
        }
        ClusterEvent::ApplyFailed { error } => {
            let failable = matches!(
                current.phase,
                None | Some(Provisioning) | Some(Provisioned) | Some(Pivoted) | Some(Ready)
            ) || ours_failed;
            if !failable || (ours_failed && current.reason.as_deref() == Some(error.as_str())) {
                return None;
            }
            change(Failed, APPLY_FAILED, error.clone())
        }
        ClusterEvent::OwnAgentConnected => (current.phase == Some(Provisioning)).then(|| {
            change(
                Provisioned,
                "AgentConnected",
                "the cluster's own agent has connected",
            )
        })?,
        ClusterEvent::OwnAgentApplied => (current.phase == Some(Pivoted)
            || (ours_failed && current.phase.is_some()))
        .then(|| {
            change(
                Ready,
                "SelfManaged",
                "the cluster holds its Cluster API objects and its own agent applied the revision",
            )
        })?,
    }
}

/// Whether a pivot may start from `current`: the cluster is `Provisioned` (its Cluster API objects
/// applied on the managing cluster, its own agent connected), or `Failed` by an earlier pivot that
/// rolled back (the source is as it was; a retry is how it is resolved). Not while `Pending`,
/// `Provisioning` or failed to apply. `Pivoting` passes here: the active-pivot check refuses it
/// naming the pivot to follow; `Pivoted` and `Ready` are refused as self-managed (the spec is on
/// the cluster itself).
pub fn may_pivot(current: &Lifecycle) -> bool {
    match current.phase {
        Some(ClusterPhase::Provisioned | ClusterPhase::Pivoting) => true,
        Some(ClusterPhase::Failed) => current.reason.as_deref() != Some(APPLY_FAILED),
        _ => false,
    }
}

/// Why a delete of cluster `name` in `phase` is refused, if it is: the cluster holds (or is
/// being handed) its own Cluster API objects, and the managing cluster's agent — which deletes a
/// removed spec's objects — no longer has them. Decision 0045: the delete does not start the
/// unpivot itself; it names the command that does.
pub fn delete_refusal(phase: Option<ClusterPhase>, name: &str) -> Option<String> {
    match phase {
        Some(ClusterPhase::Pivoting) => Some(format!(
            "a pivot of cluster {name} is in progress; wait for it to finish, then unpivot first (`latticectl cluster unpivot {name}`)"
        )),
        Some(ClusterPhase::Unpivoting) => Some(format!(
            "an unpivot of cluster {name} is in progress; delete it once it finished (follow it with `latticectl describe cluster {name}`)"
        )),
        Some(p @ (ClusterPhase::Pivoted | ClusterPhase::Ready)) => Some(format!(
            "cluster {name} is {} and holds its own Cluster API objects; unpivot first (`latticectl cluster unpivot {name}`), then delete it",
            p.as_str()
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::ClusterPhase::*;
    use super::*;

    fn at(phase: Option<ClusterPhase>, reason: Option<&str>) -> Lifecycle {
        Lifecycle {
            phase,
            reason: reason.map(str::to_string),
        }
    }

    fn phase_after(current: &Lifecycle, event: &ClusterEvent) -> Option<ClusterPhase> {
        next_phase(current, event).map(|c| c.phase)
    }

    const APPLIED: ClusterEvent = ClusterEvent::ManagingApplied {
        own_agent_seen: false,
    };
    const APPLIED_SEEN: ClusterEvent = ClusterEvent::ManagingApplied {
        own_agent_seen: true,
    };

    fn failed(error: &str) -> ClusterEvent {
        ClusterEvent::ApplyFailed {
            error: error.to_string(),
        }
    }

    #[test]
    fn the_provisioning_path() {
        assert_eq!(phase_after(&at(None, None), &APPLIED), Some(Provisioning));
        assert_eq!(phase_after(&at(Some(Provisioning), None), &APPLIED), None);
        assert_eq!(
            phase_after(
                &at(Some(Provisioning), None),
                &ClusterEvent::OwnAgentConnected
            ),
            Some(Provisioned)
        );
        // The own agent may have enrolled before the managing cluster acknowledged.
        assert_eq!(
            phase_after(&at(None, None), &APPLIED_SEEN),
            Some(Provisioned)
        );
        assert_eq!(phase_after(&at(Some(Provisioned), None), &APPLIED), None);
        assert_eq!(
            phase_after(&at(None, None), &ClusterEvent::OwnAgentConnected),
            None
        );
    }

    #[test]
    fn an_apply_failure_fails_and_a_later_success_recovers() {
        let f = next_phase(&at(Some(Provisioning), None), &failed("no CRD")).unwrap();
        assert_eq!((f.phase, f.reason.as_str()), (Failed, APPLY_FAILED));
        assert_eq!(f.message, "no CRD");
        let now = at(Some(Failed), Some(APPLY_FAILED));
        assert_eq!(phase_after(&now, &APPLIED), Some(Provisioning));
        assert_eq!(phase_after(&now, &failed("other")), Some(Failed));
    }

    #[test]
    fn pivot_phases_are_left_to_the_pivot_except_ready() {
        assert!(
            may_pivot(&at(Some(Pivoting), None)),
            "the active pivot refuses"
        );
        for phase in [Pivoted, Ready] {
            assert_eq!(phase_after(&at(Some(phase), None), &APPLIED_SEEN), None);
            assert_eq!(
                phase_after(&at(Some(phase), None), &ClusterEvent::OwnAgentConnected),
                None
            );
        }
        assert_eq!(
            phase_after(&at(Some(Pivoted), None), &ClusterEvent::OwnAgentApplied),
            Some(Ready)
        );
        assert_eq!(
            phase_after(&at(Some(Provisioned), None), &ClusterEvent::OwnAgentApplied),
            None
        );
        assert_eq!(phase_after(&at(Some(Pivoting), None), &failed("x")), None);
        let pivot_failed = at(Some(Failed), Some("PivotFailed"));
        for event in [APPLIED, failed("x"), ClusterEvent::OwnAgentApplied] {
            assert_eq!(phase_after(&pivot_failed, &event), None, "{event:?}");
        }
    }

    #[test]
    fn deletes_are_refused_once_a_pivot_started() {
        for phase in [None, Some(Provisioning), Some(Provisioned), Some(Failed)] {
            assert_eq!(delete_refusal(phase, "w1"), None);
        }
        assert!(
            may_pivot(&at(Some(Pivoting), None)),
            "the active pivot refuses"
        );
        for phase in [Pivoted, Ready] {
            assert!(
                delete_refusal(Some(phase), "w1")
                    .unwrap()
                    .contains("unpivot first (`latticectl cluster unpivot w1`)")
            );
            assert!(phase.pivot_started());
            assert_eq!(ClusterPhase::parse(phase.as_str()), Some(phase));
        }
        let unpivoting = delete_refusal(Some(Unpivoting), "w1").unwrap();
        assert!(unpivoting.contains("unpivot of cluster w1 is in progress"));
        assert!(Unpivoting.pivot_started());
    }

    #[test]
    fn an_unpivot_in_progress_is_left_to_the_unpivot() {
        let now = at(Some(Unpivoting), None);
        for event in [
            APPLIED_SEEN,
            failed("x"),
            ClusterEvent::OwnAgentConnected,
            ClusterEvent::OwnAgentApplied,
        ] {
            assert_eq!(phase_after(&now, &event), None, "{event:?}");
        }
        // A finished unpivot leaves the cluster Provisioned: the manager's acks change nothing.
        assert_eq!(
            phase_after(&at(Some(Provisioned), None), &APPLIED_SEEN),
            None
        );
    }

    #[test]
    fn a_pivot_starts_only_from_provisioned_or_a_failed_pivot() {
        assert!(may_pivot(&at(Some(Provisioned), Some("AgentConnected"))));
        assert!(may_pivot(&at(Some(Failed), Some("PivotFailed"))));
        assert!(!may_pivot(&at(None, None)));
        assert!(!may_pivot(&at(Some(Provisioning), Some("ObjectsApplied"))));
        assert!(!may_pivot(&at(Some(Failed), Some(APPLY_FAILED))));
        assert!(
            may_pivot(&at(Some(Pivoting), None)),
            "the active pivot refuses"
        );
        for phase in [Pivoted, Ready] {
            assert!(!may_pivot(&at(Some(phase), None)), "{phase:?}");
        }
    }
}
