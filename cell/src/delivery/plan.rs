//! Level-triggered delivery planning, pure: given what a cluster should hold (the current
//! revision of every live spec placed on it) and what the connected agent holds or was already
//! sent, the commands that converge the two. A command already sent is not sent again while the
//! session lasts (a failed apply is retried on reconnect or when a newer revision exists), so a
//! failing object cannot turn into a hot loop.

use std::collections::{BTreeMap, BTreeSet};

use crate::spec_key::SpecKey;

/// A command sent and not superseded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// `Apply` of this revision.
    Apply(String),
    /// `Remove`.
    Remove,
}

/// A command to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Apply `revision` of `key`.
    Apply {
        /// The spec.
        key: SpecKey,
        /// The revision id.
        revision: String,
    },
    /// Remove everything the agent manages for `key`.
    Remove {
        /// The spec.
        key: SpecKey,
    },
}

/// What the cell knows of one connected agent's state during a session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentView {
    /// Revisions the agent holds (from Hello, then from successful results).
    pub held: BTreeMap<SpecKey, String>,
    /// Commands sent in this session, by spec.
    pub attempted: BTreeMap<SpecKey, Attempt>,
    /// Specs whose held revision (from Hello) is the cell's last send without a recorded successful
    /// result: the agent applied it but the result was lost (the cell died, the stream broke). The
    /// revision is sent again; the agent re-applies it idempotently and answers with per-object
    /// results, so the delivery is recorded instead of staying "sent" forever.
    pub unconfirmed: BTreeSet<SpecKey>,
}

impl AgentView {
    /// The view at the start of a session, from the `held` list of Hello.
    pub fn from_hello(held: impl IntoIterator<Item = (SpecKey, String)>) -> Self {
        Self {
            held: held.into_iter().collect(),
            attempted: BTreeMap::new(),
            unconfirmed: BTreeSet::new(),
        }
    }

    /// The view at the start of a session, from the `held` list of Hello and, per spec, the
    /// revision the cell last sent to this cluster without recording a successful result for it
    /// (`unacknowledged`). A held revision that is such a send is [`AgentView::unconfirmed`]; a
    /// held revision the cell has no unanswered send of is trusted as before.
    pub fn from_hello_and_records(
        held: impl IntoIterator<Item = (SpecKey, String)>,
        unacknowledged: &BTreeMap<SpecKey, String>,
    ) -> Self {
        let mut view = Self::from_hello(held);
        view.unconfirmed = view
            .held
            .iter()
            .filter(|(key, revision)| unacknowledged.get(*key) == Some(*revision))
            .map(|(key, _)| key.clone())
            .collect();
        view
    }

    /// The part of the view about the specs `keep` selects (the fleet policies, for a session
    /// that plans only those), so a plan against it proposes nothing about the others.
    pub fn restricted_to(&self, keep: impl Fn(&SpecKey) -> bool) -> Self {
        Self {
            held: self
                .held
                .iter()
                .filter(|(k, _)| keep(k))
                .map(|(k, r)| (k.clone(), r.clone()))
                .collect(),
            attempted: self
                .attempted
                .iter()
                .filter(|(k, _)| keep(k))
                .map(|(k, a)| (k.clone(), a.clone()))
                .collect(),
            unconfirmed: self
                .unconfirmed
                .iter()
                .filter(|k| keep(k))
                .cloned()
                .collect(),
        }
    }

    /// Notes a command as sent.
    pub fn sent(&mut self, command: &Command) {
        match command {
            Command::Apply { key, revision } => {
                self.attempted
                    .insert(key.clone(), Attempt::Apply(revision.clone()));
            }
            Command::Remove { key } => {
                self.attempted.insert(key.clone(), Attempt::Remove);
            }
        }
    }

    /// Notes an `ApplyResult`. A success means the agent now holds `revision`; a failure keeps
    /// the attempt, so the same revision is not re-sent in this session.
    pub fn apply_result(&mut self, key: &SpecKey, revision: &str, success: bool) {
        if success {
            self.held.insert(key.clone(), revision.to_string());
            self.unconfirmed.remove(key);
            if self.attempted.get(key) == Some(&Attempt::Apply(revision.to_string())) {
                self.attempted.remove(key);
            }
        }
    }

    /// Notes a `RemoveResult`.
    pub fn remove_result(&mut self, key: &SpecKey, success: bool) {
        if success {
            self.held.remove(key);
            if self.attempted.get(key) == Some(&Attempt::Remove) {
                self.attempted.remove(key);
            }
        }
    }
}

/// The commands that bring the agent from `view` to `desired` (spec → revision id): applies in
/// key order, then removals of what it holds but should not.
pub fn plan(desired: &BTreeMap<SpecKey, String>, view: &AgentView) -> Vec<Command> {
    let applies = desired.iter().filter_map(|(key, revision)| {
        let holds_it = view.held.get(key) == Some(revision) && !view.unconfirmed.contains(key);
        let sent_it = view.attempted.get(key) == Some(&Attempt::Apply(revision.clone()));
        (!holds_it && !sent_it).then(|| Command::Apply {
            key: key.clone(),
            revision: revision.clone(),
        })
    });
    let removals = view.held.keys().filter_map(|key| {
        let unwanted = !desired.contains_key(key);
        let sent_it = view.attempted.get(key) == Some(&Attempt::Remove);
        (unwanted && !sent_it).then(|| Command::Remove { key: key.clone() })
    });
    applies.chain(removals).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(name: &str) -> SpecKey {
        SpecKey::new("LatticeService", "ns", name)
    }

    fn desired(items: &[(&str, &str)]) -> BTreeMap<SpecKey, String> {
        items.iter().map(|(k, r)| (key(k), r.to_string())).collect()
    }

    #[test]
    fn missing_and_older_revisions_are_applied_and_unwanted_ones_removed() {
        let view = AgentView::from_hello([
            (key("a"), "r1".to_string()),
            (key("b"), "old".to_string()),
            (key("gone"), "x".to_string()),
        ]);
        let commands = plan(&desired(&[("a", "r1"), ("b", "new"), ("c", "r3")]), &view);
        assert_eq!(
            commands,
            vec![
                Command::Apply {
                    key: key("b"),
                    revision: "new".into()
                },
                Command::Apply {
                    key: key("c"),
                    revision: "r3".into()
                },
                Command::Remove { key: key("gone") },
            ]
        );
    }

    #[test]
    fn a_sent_command_is_not_resent_and_a_success_settles_it() {
        let want = desired(&[("a", "r1")]);
        let mut view = AgentView::default();
        let first = plan(&want, &view);
        assert_eq!(first.len(), 1);
        view.sent(&first[0]);
        assert!(plan(&want, &view).is_empty());
        view.apply_result(&key("a"), "r1", true);
        assert!(plan(&want, &view).is_empty());
        assert!(view.attempted.is_empty());
    }

    #[test]
    fn a_failed_apply_is_not_retried_in_the_session_but_a_newer_revision_is_sent() {
        let mut view = AgentView::default();
        view.sent(&Command::Apply {
            key: key("a"),
            revision: "r1".into(),
        });
        view.apply_result(&key("a"), "r1", false);
        assert!(plan(&desired(&[("a", "r1")]), &view).is_empty());
        assert_eq!(plan(&desired(&[("a", "r2")]), &view).len(), 1);
    }

    #[test]
    fn a_replayed_result_changes_nothing() {
        let want = desired(&[("a", "r1")]);
        let mut view = AgentView::default();
        view.sent(&plan(&want, &view)[0]);
        view.apply_result(&key("a"), "r1", true);
        let settled = view.clone();
        view.apply_result(&key("a"), "r1", true);
        assert_eq!(view, settled);
        assert!(plan(&want, &view).is_empty());
    }

    #[test]
    fn a_held_revision_whose_result_the_cell_never_recorded_is_sent_again_once() {
        // The cell died after sending a@r2 and before recording the agent's result for it; b@r1
        // was sent and acknowledged; c@r1 was never sent by this cell's records (trusted).
        let unacknowledged = desired(&[("a", "r2")]);
        let mut view = AgentView::from_hello_and_records(
            [
                (key("a"), "r2".to_string()),
                (key("b"), "r1".to_string()),
                (key("c"), "r1".to_string()),
            ],
            &unacknowledged,
        );
        let want = desired(&[("a", "r2"), ("b", "r1"), ("c", "r1")]);
        let commands = plan(&want, &view);
        assert_eq!(
            commands,
            vec![Command::Apply {
                key: key("a"),
                revision: "r2".into()
            }]
        );
        view.sent(&commands[0]);
        assert!(plan(&want, &view).is_empty(), "not sent twice in a session");
        view.apply_result(&key("a"), "r2", true);
        assert!(view.unconfirmed.is_empty());
        assert!(plan(&want, &view).is_empty());
    }

    #[test]
    fn a_held_revision_older_than_the_unanswered_send_is_simply_outdated() {
        // Sent r2, no result; the agent holds r1 (it died before applying r2): r2 is sent, as
        // for any outdated revision.
        let view = AgentView::from_hello_and_records(
            [(key("a"), "r1".to_string())],
            &desired(&[("a", "r2")]),
        );
        assert!(view.unconfirmed.is_empty());
        assert_eq!(plan(&desired(&[("a", "r2")]), &view).len(), 1);
    }

    #[test]
    fn an_unconfirmed_held_spec_that_is_no_longer_desired_is_removed() {
        let view = AgentView::from_hello_and_records(
            [(key("gone"), "r1".to_string())],
            &desired(&[("gone", "r1")]),
        );
        assert_eq!(
            plan(&BTreeMap::new(), &view),
            vec![Command::Remove { key: key("gone") }]
        );
    }

    #[test]
    fn a_plan_against_a_restricted_view_touches_only_the_kept_specs() {
        let fleet = SpecKey::new("LatticeFleetPolicy", "-", "proxy");
        let mut view = AgentView::from_hello([
            (key("a"), "r1".to_string()),
            (fleet.clone(), "old".to_string()),
        ]);
        view.sent(&Command::Apply {
            key: key("b"),
            revision: "r1".into(),
        });
        let restricted = view.restricted_to(|k| k.kind == "LatticeFleetPolicy");
        assert_eq!(restricted.held.len(), 1);
        assert!(restricted.attempted.is_empty());
        let want = BTreeMap::from([(fleet.clone(), "new".to_string())]);
        assert_eq!(
            plan(&want, &restricted),
            vec![Command::Apply {
                key: fleet,
                revision: "new".into()
            }]
        );
    }

    proptest! {
        /// Sending every planned command and acknowledging each with success converges: the agent
        /// then holds exactly the desired set and nothing more is planned.
        #[test]
        fn acknowledged_plans_converge(
            held in proptest::collection::btree_map("[a-e]", "r[0-2]", 0..5),
            want in proptest::collection::btree_map("[a-e]", "r[0-2]", 0..5),
        ) {
            let desired: BTreeMap<SpecKey, String> = want.into_iter().map(|(k, r)| (key(&k), r)).collect();
            let mut view = AgentView::from_hello(held.into_iter().map(|(k, r)| (key(&k), r)));
            for command in plan(&desired, &view) {
                view.sent(&command);
                match command {
                    Command::Apply { key, revision } => view.apply_result(&key, &revision, true),
                    Command::Remove { key } => view.remove_result(&key, true),
                }
            }
            prop_assert_eq!(&view.held, &desired);
            prop_assert!(plan(&desired, &view).is_empty());
        }
    }
}
