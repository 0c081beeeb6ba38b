//! Applying revisions to the agent's own cluster: server-side apply layer by layer, prune of
//! what a revision no longer contains, and removal of a whole spec. The [`Applier`] owns the
//! inventory; the executor runs one command at a time through it.

pub mod delete;
pub mod layers;
pub mod namespaces;
pub mod plan;
pub mod prune;
pub mod release;
pub mod remove;
pub mod resolver;
pub mod revision;
pub mod server_side;
pub mod takeover;

use kube::Client;

use crate::inventory::Inventory;
use crate::revisions::Revisions;
pub use resolver::ApiResolver;

/// Applies and removes specs in one cluster, keeping the inventory up to date.
pub struct Applier {
    client: Client,
    resolver: ApiResolver,
    inventory: Inventory,
    /// Desired manifests of held revisions, for drift correction (absent in tests of apply alone).
    revisions: Option<Revisions>,
}

impl Applier {
    /// An applier for `client`'s cluster with the loaded `inventory`.
    pub fn new(client: Client, inventory: Inventory) -> Self {
        Self {
            resolver: ApiResolver::new(client.clone()),
            client,
            inventory,
            revisions: None,
        }
    }

    /// Also persists the manifests of every revision before marking it held, and releases them
    /// when a spec is removed (drift correction re-applies them).
    pub fn with_revisions(mut self, revisions: Revisions) -> Self {
        self.revisions = Some(revisions);
        self
    }

    /// The client of this cluster (the pivot steps list, create and delete through it).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The resolver, for drift correction (which runs on the executor, between commands).
    pub fn resolver_mut(&mut self) -> &mut ApiResolver {
        &mut self.resolver
    }

    /// The inventory (read-only; it changes only through commands).
    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }
}
