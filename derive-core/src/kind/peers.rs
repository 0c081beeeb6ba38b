//! The peers of a [`DeriveContext`], from specs of any [`SpecKind`]: each spec that is a mesh
//! peer is known to its callers under `<namespace>/<name>` with what it offers them.

use super::AnySpec;
use crate::context::DeriveContext;
use crate::spec::LatticeMeshMember;

impl DeriveContext {
    /// Adds every spec in `specs` that is a mesh peer ([`AnySpec::mesh_peer`]) as a known peer
    /// (specs without name or namespace are skipped; deriving them reports that).
    /// Generic over [`AnySpec`], so specs of different kinds held together (`&dyn AnySpec`)
    /// are peers as well as a slice of one kind.
    pub fn with_peers<'a, K: AnySpec + ?Sized + 'a>(
        mut self,
        specs: impl IntoIterator<Item = &'a K>,
    ) -> Self {
        for spec in specs {
            let meta = spec.metadata();
            let (Some(name), Some(namespace)) = (&meta.name, &meta.namespace) else {
                continue;
            };
            if let Some(peer) = spec.mesh_peer() {
                self.peers.insert(format!("{namespace}/{name}"), peer);
            }
        }
        self
    }

    /// [`DeriveContext::with_peers`] for `LatticeMeshMember`s (kept for callers that name the
    /// kind; callers resolve a member's `${resources.<name>.port}` like a service's).
    pub fn with_member_peers<'a>(
        self,
        members: impl IntoIterator<Item = &'a LatticeMeshMember>,
    ) -> Self {
        self.with_peers(members)
    }
}
