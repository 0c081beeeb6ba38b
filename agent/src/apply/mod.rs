//! Applying revisions to the agent's own cluster: server-side apply layer by layer, prune of
//! what a revision no longer contains, and removal of a whole spec. The [`Applier`] owns the
//! inventory; the executor runs one command at a time through it.

pub mod delete;
pub mod layers;
pub mod namespaces;
pub mod plan;
pub mod prune;
pub mod remove;
pub mod resolver;
pub mod revision;
pub mod server_side;

use kube::Client;

use crate::inventory::Inventory;
pub use resolver::ApiResolver;

/// Applies and removes specs in one cluster, keeping the inventory up to date.
pub struct Applier {
    client: Client,
    resolver: ApiResolver,
    inventory: Inventory,
}

impl Applier {
    /// An applier for `client`'s cluster with the loaded `inventory`.
    pub fn new(client: Client, inventory: Inventory) -> Self {
        Self {
            resolver: ApiResolver::new(client.clone()),
            client,
            inventory,
        }
    }

    /// The inventory (read-only; it changes only through commands).
    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }
}
