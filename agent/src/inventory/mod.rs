//! The agent's state: per spec, the revision it holds and the objects it manages. Kept in memory
//! for the command executor and written through to ConfigMaps before memory changes, so what the
//! agent believes is never ahead of what survives a restart. Held revisions are published on a
//! watch channel for the session's `Hello`.

pub mod record;
pub mod store;

use std::collections::BTreeMap;

use kube::Client;
use lattice_protocol::v1::HeldRevision;
use tokio::sync::watch;

pub use record::{SpecRecord, held_revisions};
pub use store::{InventoryError, InventoryStore, config_map_name};

/// The in-memory inventory with its persistent store.
pub struct Inventory {
    store: InventoryStore,
    specs: BTreeMap<String, SpecRecord>,
    held: watch::Sender<Vec<HeldRevision>>,
}

impl Inventory {
    /// Loads every record from the ConfigMaps in `namespace`.
    pub async fn load(client: Client, namespace: &str) -> Result<Self, InventoryError> {
        let store = InventoryStore::new(client, namespace);
        let specs: BTreeMap<String, SpecRecord> = store
            .load_all()
            .await?
            .into_iter()
            .map(|r| (r.spec_key.clone(), r))
            .collect();
        let (held, _) = watch::channel(held_revisions(specs.values()));
        Ok(Self { store, specs, held })
    }

    /// The record of `spec_key`, if the agent knows the spec.
    pub fn record(&self, spec_key: &str) -> Option<&SpecRecord> {
        self.specs.get(spec_key)
    }

    /// The ApplySet id of `spec_key`'s objects (the `part-of` label they carry).
    pub fn applyset_id(&self, spec_key: &str) -> String {
        self.store.applyset_id(spec_key)
    }

    /// Every record, ordered by spec key.
    pub fn records(&self) -> impl Iterator<Item = &SpecRecord> {
        self.specs.values()
    }

    /// The revisions currently held, ordered by spec key.
    pub fn held_revisions(&self) -> Vec<HeldRevision> {
        held_revisions(self.specs.values())
    }

    /// A receiver that always sees the current held revisions.
    pub fn subscribe(&self) -> watch::Receiver<Vec<HeldRevision>> {
        self.held.subscribe()
    }

    /// Persists `record`, then makes it the current state of its spec.
    pub async fn save(&mut self, record: SpecRecord) -> Result<(), InventoryError> {
        if self.specs.get(&record.spec_key) == Some(&record) {
            return Ok(());
        }
        self.store.save(&record).await?;
        self.specs.insert(record.spec_key.clone(), record);
        self.publish();
        Ok(())
    }

    /// Deletes the record of `spec_key` from the store and from memory.
    pub async fn forget(&mut self, spec_key: &str) -> Result<(), InventoryError> {
        self.store.delete(spec_key).await?;
        self.specs.remove(spec_key);
        self.publish();
        Ok(())
    }

    fn publish(&self) {
        self.held.send_replace(self.held_revisions());
    }
}
