//! Layer ordering and result aggregation. Every object of a layer is applied (objects within a
//! layer do not depend on each other, so one failure should not hide the others' errors); the
//! first layer with a failure stops the revision and every object of later layers is reported
//! SKIPPED. Fault point `apply:after-object:<n>` kills the process once the n-th object of a
//! revision is applied (crash tests). The actual API call is behind [`ApplyObject`], which keeps this logic pure and
//! unit-tested.

use lattice_protocol::v1::{ObjectOutcome, ObjectResult};

use crate::apply::plan::{LayerPlan, Manifest};
use crate::object_ref::ObjectRef;

/// Why one object was not applied; `message` is the API server's (or the agent's) explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectFailure {
    /// Human-readable reason, reported as the object's `message`.
    pub message: String,
}

/// What applying a revision's layers did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LayersOutcome {
    /// One result per object of the revision, in apply order.
    pub results: Vec<ObjectResult>,
    /// Objects the API server accepted.
    pub applied: Vec<ObjectRef>,
    /// Name of the layer that failed, if one did.
    pub failed_layer: Option<String>,
}

impl LayersOutcome {
    /// True when every object was applied.
    pub fn succeeded(&self) -> bool {
        self.failed_layer.is_none()
    }
}

/// Something that applies one object (server-side apply against the cluster, in the agent).
pub trait ApplyObject {
    /// Applies `manifest`.
    fn apply_object(
        &mut self,
        manifest: &Manifest,
    ) -> impl Future<Output = Result<(), ObjectFailure>> + Send;
}

/// Applies `layers` in order through `target`, stopping after the first layer with a failure.
pub async fn apply_layers(layers: &[LayerPlan], target: &mut impl ApplyObject) -> LayersOutcome {
    let mut outcome = LayersOutcome::default();
    for layer in layers {
        if let Some(failed) = &outcome.failed_layer {
            let message = format!("not applied: layer {failed:?} failed");
            outcome.results.extend(
                layer
                    .manifests
                    .iter()
                    .map(|m| m.object.result(ObjectOutcome::Skipped, message.clone())),
            );
            continue;
        }
        let mut layer_failed = false;
        for manifest in &layer.manifests {
            match target.apply_object(manifest).await {
                Ok(()) => {
                    outcome
                        .results
                        .push(manifest.object.result(ObjectOutcome::Applied, ""));
                    outcome.applied.push(manifest.object.clone());
                    // Crash tests: die with exactly this many objects of the revision applied
                    // (and its result not sent), wherever the apply's timing would have put a
                    // kill from outside (`docs/testing.md`, "Fault points").
                    lattice_fault::point_at("apply:after-object", outcome.applied.len());
                }
                Err(failure) => {
                    layer_failed = true;
                    outcome.results.push(
                        manifest
                            .object
                            .result(ObjectOutcome::Failed, failure.message),
                    );
                }
            }
        }
        if layer_failed {
            outcome.failed_layer = Some(layer.name.clone());
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest(name: &str) -> Manifest {
        Manifest {
            object: ObjectRef {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: Some("shop".into()),
                name: name.into(),
            },
            body: json!({}),
        }
    }

    fn layers() -> Vec<LayerPlan> {
        vec![
            LayerPlan {
                name: "infrastructure".into(),
                manifests: vec![manifest("i1"), manifest("i2")],
            },
            LayerPlan {
                name: "workload".into(),
                manifests: vec![manifest("w1"), manifest("w2"), manifest("w3")],
            },
            LayerPlan {
                name: "autoscaling".into(),
                manifests: vec![manifest("a1")],
            },
        ]
    }

    /// Records calls and fails the objects named in `fail`.
    struct Recorder {
        calls: Vec<String>,
        fail: &'static [&'static str],
    }

    impl Recorder {
        fn failing(fail: &'static [&'static str]) -> Self {
            Self {
                calls: Vec::new(),
                fail,
            }
        }
    }

    impl ApplyObject for Recorder {
        async fn apply_object(&mut self, m: &Manifest) -> Result<(), ObjectFailure> {
            self.calls.push(m.object.name.clone());
            if self.fail.contains(&m.object.name.as_str()) {
                Err(ObjectFailure {
                    message: format!("{} rejected", m.object.name),
                })
            } else {
                Ok(())
            }
        }
    }

    fn outcomes(o: &LayersOutcome) -> Vec<(String, ObjectOutcome)> {
        o.results
            .iter()
            .map(|r| (r.name.clone(), r.outcome()))
            .collect()
    }

    #[tokio::test]
    async fn all_layers_are_applied_in_order_when_nothing_fails() {
        let mut target = Recorder::failing(&[]);
        let outcome = apply_layers(&layers(), &mut target).await;
        assert_eq!(target.calls, vec!["i1", "i2", "w1", "w2", "w3", "a1"]);
        assert!(outcome.succeeded());
        assert_eq!(outcome.applied.len(), 6);
        assert!(
            outcomes(&outcome)
                .iter()
                .all(|(_, o)| *o == ObjectOutcome::Applied)
        );
    }

    #[tokio::test]
    async fn a_failure_finishes_its_layer_then_skips_later_layers() {
        let mut target = Recorder::failing(&["w1"]);
        let outcome = apply_layers(&layers(), &mut target).await;
        assert_eq!(target.calls, vec!["i1", "i2", "w1", "w2", "w3"]);
        assert_eq!(outcome.failed_layer.as_deref(), Some("workload"));
        assert!(!outcome.succeeded());
        use ObjectOutcome::*;
        assert_eq!(
            outcomes(&outcome),
            vec![
                ("i1".into(), Applied),
                ("i2".into(), Applied),
                ("w1".into(), Failed),
                ("w2".into(), Applied),
                ("w3".into(), Applied),
                ("a1".into(), Skipped),
            ]
        );
        assert_eq!(outcome.results[2].message, "w1 rejected");
        assert_eq!(
            outcome.results[5].message,
            "not applied: layer \"workload\" failed"
        );
        let applied: Vec<_> = outcome.applied.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(applied, vec!["i1", "i2", "w2", "w3"]);
    }

    #[tokio::test]
    async fn a_failure_in_the_first_layer_applies_nothing_later() {
        let mut target = Recorder::failing(&["i2"]);
        let outcome = apply_layers(&layers(), &mut target).await;
        assert_eq!(target.calls, vec!["i1", "i2"]);
        assert_eq!(outcome.failed_layer.as_deref(), Some("infrastructure"));
        let skipped = outcome
            .results
            .iter()
            .filter(|r| r.outcome() == ObjectOutcome::Skipped)
            .count();
        assert_eq!(skipped, 4);
    }
}
