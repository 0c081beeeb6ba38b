//! A spec kind as one unit: [`SpecKind`] says, for one kind of Lattice document, its name, how
//! it validates, how it derives, whom Cedar sees asking, which mesh peers it declares and what it
//! offers them, and what it asks of a quota. Everything generic over kinds ([`authorized_derivation`], the peers of a
//! [`crate::DeriveContext`]) goes through it, so adding a kind is its spec module, its pipeline,
//! one `impl SpecKind` here and one line in the cell's table of kinds.

mod authorize;
mod cluster;
mod mesh_member;
mod peers;
mod service;

pub use authorize::{AuthorizedDerivation, authorized_derivation, derive_and_authorize};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::authz::{PolicySetVersion, ServicePrincipal, WorkloadKind};
use crate::context::{DeriveContext, PeerService};
use crate::demand::ResourceDemand;
use crate::derived::Derived;
use crate::error::{DeriveError, FieldError};
use crate::membership::ServiceKey;

/// One kind of Lattice spec document (`LatticeService`, `LatticeMeshMember`, …).
///
/// How the cell uses it: its table of kinds has one row per kind, and each row's code is
/// generic over `K: SpecKind` (e.g. `authorized_derivation::<K>`); rows that must sit together
/// in one collection (parsed documents of different kinds, the REST routes) hold them as
/// `&dyn AnySpec` / `Box<dyn AnySpec>`, the object-safe face every `SpecKind` gets for free, or
/// in an enum of kinds whose arms each call the generic code. Strict parsing of the JSON document
/// (envelope, unknown fields, field paths) stays the cell's, keyed by [`SpecKind::KIND`]; the
/// trait validates the parsed value.
///
/// Kinds that follow fill only what they have: the defaults say "declares no mesh peer"
/// ([`SpecKind::declared_peers`]), "no one calls it on the mesh" ([`SpecKind::mesh_peer`]), "no
/// quota demand" ([`SpecKind::demand`]) and "a `service` workload principal named by the
/// metadata" ([`SpecKind::principal`], overridden through [`SpecKind::WORKLOAD_KIND`] by a job or
/// a model). A kind that derives no mesh policy simply leaves [`Derived::mesh`] empty.
pub trait SpecKind: Sized {
    /// The document's `kind`, e.g. `LatticeService`.
    const KIND: &'static str;

    /// The `kind` attribute of the kind's Cedar principal (`service`, `job`, `model`).
    const WORKLOAD_KIND: WorkloadKind = WorkloadKind::Service;

    /// The document's metadata: name, namespace, labels (placement), annotations.
    fn metadata(&self) -> &ObjectMeta;

    /// Every structural problem of the spec with its field path, empty when it is valid.
    /// Derivation runs the same checks (and may add ones that need the derived objects), so a
    /// spec that derives is valid.
    fn validate(&self, ctx: &DeriveContext) -> Vec<FieldError>;

    /// Derives the spec for the cluster of `ctx`: its objects, mesh membership, quota demand
    /// and the Cedar gate requests it raises (not yet answered; see [`authorized_derivation`]).
    fn derive(&self, ctx: &DeriveContext) -> Result<Derived, DeriveError>;

    /// The principal of the spec's gate requests, `Lattice::Service::"<namespace>/<name>"`
    /// (missing parts, reported by validation, are empty).
    fn principal(&self) -> ServicePrincipal {
        let meta = self.metadata();
        ServicePrincipal::new(
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone().unwrap_or_default(),
            Self::WORKLOAD_KIND,
        )
    }

    /// The mesh peers the spec names (callers and dependencies, any direction, without `"*"`),
    /// sorted, read from the spec alone: the cell loads these (and the members naming it) to
    /// derive its mesh policy. Empty for a kind that takes no part in the mesh.
    fn declared_peers(&self) -> Vec<ServiceKey> {
        Vec::new()
    }

    /// What the spec offers its callers on the mesh (named ports, primary port), the entry its
    /// callers' [`DeriveContext::peers`] hold under `<namespace>/<name>`; `None` for a kind no
    /// one can call.
    fn mesh_peer(&self) -> Option<PeerService> {
        None
    }

    /// The resources quota admission counts for the spec; `None` for a kind that asks for none.
    fn demand(&self) -> Option<ResourceDemand> {
        None
    }
}

/// The object-safe face of a [`SpecKind`], implemented for every one: what a table of kinds
/// needs when it holds specs of different kinds together (`&dyn AnySpec`). Each method is the
/// [`SpecKind`] method of the same name; [`AnySpec::kind`] is [`SpecKind::KIND`].
pub trait AnySpec {
    /// The document's `kind`.
    fn kind(&self) -> &'static str;
    /// See [`SpecKind::metadata`].
    fn metadata(&self) -> &ObjectMeta;
    /// See [`SpecKind::validate`].
    fn validate(&self, ctx: &DeriveContext) -> Vec<FieldError>;
    /// See [`SpecKind::derive`].
    fn derive(&self, ctx: &DeriveContext) -> Result<Derived, DeriveError>;
    /// [`authorized_derivation`] of this spec.
    fn authorized_derivation(
        &self,
        ctx: &DeriveContext,
        policies: &PolicySetVersion,
    ) -> AuthorizedDerivation;
    /// See [`SpecKind::principal`].
    fn principal(&self) -> ServicePrincipal;
    /// See [`SpecKind::declared_peers`].
    fn declared_peers(&self) -> Vec<ServiceKey>;
    /// See [`SpecKind::mesh_peer`].
    fn mesh_peer(&self) -> Option<PeerService>;
    /// See [`SpecKind::demand`].
    fn demand(&self) -> Option<ResourceDemand>;
}

impl<K: SpecKind> AnySpec for K {
    fn kind(&self) -> &'static str {
        K::KIND
    }
    fn metadata(&self) -> &ObjectMeta {
        SpecKind::metadata(self)
    }
    fn validate(&self, ctx: &DeriveContext) -> Vec<FieldError> {
        SpecKind::validate(self, ctx)
    }
    fn derive(&self, ctx: &DeriveContext) -> Result<Derived, DeriveError> {
        SpecKind::derive(self, ctx)
    }
    fn authorized_derivation(
        &self,
        ctx: &DeriveContext,
        policies: &PolicySetVersion,
    ) -> AuthorizedDerivation {
        authorized_derivation(self, ctx, policies)
    }
    fn principal(&self) -> ServicePrincipal {
        SpecKind::principal(self)
    }
    fn declared_peers(&self) -> Vec<ServiceKey> {
        SpecKind::declared_peers(self)
    }
    fn mesh_peer(&self) -> Option<PeerService> {
        SpecKind::mesh_peer(self)
    }
    fn demand(&self) -> Option<ResourceDemand> {
        SpecKind::demand(self)
    }
}
