//! Steps sent and not answered yet, by command id: the session that receives a
//! `PivotStepResult` hands it, by `reply_to`, to the pivot driver waiting for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use lattice_protocol::v1::PivotStepResult;
use tokio::sync::oneshot;

/// What became of an answer handed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handed {
    /// The driver waiting for it has it.
    Delivered,
    /// No step with that id is waiting (answered already, resent since, or sent by a cell that
    /// restarted since): the answer is dropped; the driver resends what it still needs.
    Unknown,
    /// The step was sent to another cluster, or belongs to another pivot: refused.
    Mismatch(String),
}

#[derive(Debug)]
struct Waiting {
    cluster: String,
    pivot_id: String,
    answer: oneshot::Sender<PivotStepResult>,
}

/// The steps waiting for an answer. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct PendingSteps {
    inner: Arc<Mutex<HashMap<String, Waiting>>>,
}

impl PendingSteps {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Waiting>> {
        // Plain data: a panic while holding the lock leaves nothing half-changed.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for the answer to command `id`, sent to `cluster` for `pivot_id`.
    pub fn expect(
        &self,
        id: &str,
        cluster: &str,
        pivot_id: &str,
    ) -> oneshot::Receiver<PivotStepResult> {
        let (answer, receiver) = oneshot::channel();
        self.lock().insert(
            id.to_string(),
            Waiting {
                cluster: cluster.to_string(),
                pivot_id: pivot_id.to_string(),
                answer,
            },
        );
        receiver
    }

    /// Stops waiting for command `id` (it is sent again under a new id, or given up).
    pub fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Hands `result`, which `cluster`'s agent sent in reply to `reply_to`, to its driver.
    pub fn hand(&self, reply_to: &str, cluster: &str, result: PivotStepResult) -> Handed {
        let mut waiting = self.lock();
        let Some(step) = waiting.get(reply_to) else {
            return Handed::Unknown;
        };
        if step.cluster != cluster || step.pivot_id != result.pivot_id {
            return Handed::Mismatch(format!(
                "command {reply_to} was sent to cluster {:?} for pivot {}, but the answer comes \
                 from cluster {cluster:?} for pivot {:?}",
                step.cluster, step.pivot_id, result.pivot_id
            ));
        }
        if let Some(step) = waiting.remove(reply_to) {
            // The driver may have given up on this send an instant ago; it resends.
            let _ = step.answer.send(result);
        }
        Handed::Delivered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(pivot: &str) -> PivotStepResult {
        PivotStepResult {
            pivot_id: pivot.into(),
            success: true,
            error: String::new(),
            detail: None,
        }
    }

    #[tokio::test]
    async fn an_answer_reaches_only_the_step_it_replies_to_from_the_right_cluster() {
        let pending = PendingSteps::default();
        let receiver = pending.expect("c1", "mgmt", "p1");
        assert!(matches!(
            pending.hand("c1", "edge", result("p1")),
            Handed::Mismatch(_)
        ));
        assert_eq!(pending.hand("c2", "mgmt", result("p1")), Handed::Unknown);
        assert_eq!(pending.hand("c1", "mgmt", result("p1")), Handed::Delivered);
        assert_eq!(receiver.await.unwrap().pivot_id, "p1");
        assert_eq!(pending.hand("c1", "mgmt", result("p1")), Handed::Unknown);
    }
}
