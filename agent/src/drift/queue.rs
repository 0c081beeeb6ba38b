//! Objects waiting for a drift check. An object is queued at most once however many watch events
//! or resyncs ask for it before the executor gets to it (this coalescing is the debounce: a burst
//! of edits costs one check, made against the object as it is when the check runs).

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;

use crate::object_ref::ObjectRef;

#[derive(Default)]
struct Pending {
    order: VecDeque<ObjectRef>,
    queued: BTreeSet<ObjectRef>,
}

/// A first-in first-out set of objects to check.
#[derive(Clone, Default)]
pub struct DriftQueue {
    pending: Arc<Mutex<Pending>>,
    notify: Arc<Notify>,
}

impl DriftQueue {
    /// Queues `object` unless it is queued already.
    pub fn push(&self, object: ObjectRef) {
        let mut pending = self.lock();
        if pending.queued.insert(object.clone()) {
            pending.order.push_back(object);
            drop(pending);
            self.notify.notify_one();
        }
    }

    /// The next queued object, if any.
    pub fn pop(&self) -> Option<ObjectRef> {
        let mut pending = self.lock();
        let object = pending.order.pop_front()?;
        pending.queued.remove(&object);
        Some(object)
    }

    /// Waits for the next queued object.
    pub async fn next(&self) -> ObjectRef {
        loop {
            if let Some(object) = self.pop() {
                return object;
            }
            self.notify.notified().await;
        }
    }

    /// Objects waiting.
    pub fn len(&self) -> usize {
        self.lock().order.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // Every update under the lock is a single insert or remove, so a poisoned lock is consistent.
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(name: &str) -> ObjectRef {
        ObjectRef {
            api_version: "v1".into(),
            kind: "Service".into(),
            namespace: Some("shop".into()),
            name: name.into(),
        }
    }

    #[tokio::test]
    async fn an_object_is_queued_once_until_taken_and_order_is_kept() {
        let q = DriftQueue::default();
        q.push(obj("a"));
        q.push(obj("b"));
        q.push(obj("a"));
        assert_eq!(q.len(), 2);
        assert_eq!(q.next().await, obj("a"));
        q.push(obj("a"));
        assert_eq!(q.pop(), Some(obj("b")));
        assert_eq!(q.pop(), Some(obj("a")));
        assert!(q.is_empty());
    }
}
