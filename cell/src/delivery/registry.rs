//! Connected agents, one session per cluster. Each registration gets a generation number: a newer
//! session for the same cluster supersedes (and cancels) the older one, and an older session that
//! ends late cannot unregister the newer one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::outbound::Outbound;

/// What a live session registered.
#[derive(Debug, Clone)]
struct Entry {
    generation: u64,
    nudge: Arc<Notify>,
    superseded: CancellationToken,
    revoked: CancellationToken,
    /// Cancelled when the session ends (unregistered or superseded).
    ended: CancellationToken,
    /// The session's sender, once it sent `Welcome` (commands must not overtake it).
    outbound: Option<Outbound>,
    connected_at: DateTime<Utc>,
}

/// A live session as a sender of commands sees it (the pivot's steps).
#[derive(Debug, Clone)]
pub struct SessionHandle {
    /// The registration's generation.
    pub generation: u64,
    /// Sends to the agent.
    pub outbound: Outbound,
    /// Cancelled when this session ends: an answer will not come on it.
    pub ended: CancellationToken,
}

/// A session's handle on its registration.
#[derive(Debug)]
pub struct Registration {
    /// The cluster.
    pub cluster: String,
    /// The registration's generation.
    pub generation: u64,
    /// Fires when the cluster's desired state changed.
    pub nudge: Arc<Notify>,
    /// Cancelled when a newer session of the same cluster registers.
    pub superseded: CancellationToken,
    /// Cancelled when the cluster's certificates are revoked: the session must end at once.
    pub revoked: CancellationToken,
}

/// The registry of live sessions. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ConnectionRegistry {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    next_generation: u64,
    sessions: HashMap<String, Entry>,
}

impl ConnectionRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock leaves only plain data behind; keep serving.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a session for `cluster`, superseding any earlier one.
    pub fn register(&self, cluster: &str) -> Registration {
        let mut inner = self.lock();
        inner.next_generation += 1;
        let entry = Entry {
            generation: inner.next_generation,
            nudge: Arc::new(Notify::new()),
            superseded: CancellationToken::new(),
            revoked: CancellationToken::new(),
            ended: CancellationToken::new(),
            outbound: None,
            connected_at: Utc::now(),
        };
        if let Some(old) = inner.sessions.insert(cluster.to_string(), entry.clone()) {
            old.superseded.cancel();
            old.ended.cancel();
        }
        Registration {
            cluster: cluster.to_string(),
            generation: entry.generation,
            nudge: entry.nudge,
            superseded: entry.superseded,
            revoked: entry.revoked,
        }
    }

    /// Ends the live session of `cluster`, if any, because its certificates were revoked;
    /// returns whether one was live.
    pub fn revoke(&self, cluster: &str) -> bool {
        match self.lock().sessions.get(cluster) {
            Some(entry) => {
                entry.revoked.cancel();
                true
            }
            None => false,
        }
    }

    /// Removes the session of `cluster` if it is still `generation`; returns whether it did.
    pub fn unregister(&self, cluster: &str, generation: u64) -> bool {
        let mut inner = self.lock();
        if inner
            .sessions
            .get(cluster)
            .is_some_and(|e| e.generation == generation)
        {
            if let Some(entry) = inner.sessions.remove(cluster) {
                entry.ended.cancel();
            }
            true
        } else {
            false
        }
    }

    /// Makes the session of `cluster` (if it is still `generation`) reachable for commands, once
    /// its `Welcome` is on the way.
    pub fn attach(&self, cluster: &str, generation: u64, outbound: Outbound) {
        if let Some(entry) = self.lock().sessions.get_mut(cluster)
            && entry.generation == generation
        {
            entry.outbound = Some(outbound);
        }
    }

    /// The live session of `cluster`, if it is connected and welcomed.
    pub fn session(&self, cluster: &str) -> Option<SessionHandle> {
        let inner = self.lock();
        let entry = inner.sessions.get(cluster)?;
        Some(SessionHandle {
            generation: entry.generation,
            outbound: entry.outbound.clone()?,
            ended: entry.ended.clone(),
        })
    }

    /// Tells the session of `cluster`, if any, that its desired state changed.
    pub fn nudge(&self, cluster: &str) {
        if let Some(entry) = self.lock().sessions.get(cluster) {
            entry.nudge.notify_one();
        }
    }

    /// When the current session of `cluster` connected, if it is connected.
    pub fn connected_since(&self, cluster: &str) -> Option<DateTime<Utc>> {
        self.lock().sessions.get(cluster).map(|e| e.connected_at)
    }

    /// Number of connected clusters.
    pub fn connected_count(&self) -> usize {
        self.lock().sessions.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_session_cannot_unregister_a_newer_one() {
        let registry = ConnectionRegistry::new();
        let old = registry.register("edge-1");
        let new = registry.register("edge-1");
        assert!(old.superseded.is_cancelled());
        assert!(!new.superseded.is_cancelled());
        assert!(!registry.unregister("edge-1", old.generation));
        assert!(registry.connected_since("edge-1").is_some());
        assert!(registry.unregister("edge-1", new.generation));
        assert_eq!(registry.connected_count(), 0);
    }

    #[test]
    fn revoking_ends_only_the_session_of_that_cluster() {
        let registry = ConnectionRegistry::new();
        let one = registry.register("edge-1");
        let two = registry.register("edge-2");
        assert!(registry.revoke("edge-1"));
        assert!(one.revoked.is_cancelled());
        assert!(!two.revoked.is_cancelled());
        assert!(!registry.revoke("edge-3"));
    }

    #[tokio::test]
    async fn a_nudge_before_waiting_is_not_lost() {
        let registry = ConnectionRegistry::new();
        let reg = registry.register("edge-1");
        registry.nudge("edge-1");
        reg.nudge.notified().await;
    }
}
