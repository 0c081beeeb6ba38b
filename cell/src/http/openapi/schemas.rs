//! The document's schemas: the request and answer types of `lattice_api` (generated from their
//! `#[derive(ToSchema)]`), the list envelopes, and the spec documents (`documents.json`).
//!
//! The spec documents (LatticeService, CedarPolicy, …) are parsed from YAML or JSON by
//! `lattice_api::documents` into the derivation's types, which are not serde shapes of the REST
//! bodies; their schemas are described by hand in `documents.json`, and their full field
//! reference is the CRDs (`deploy/crds`, `docs/crd-reference.md`).

use std::collections::BTreeMap;

use lattice_api::apply::{AppliedItem, ApplyResponse, RederivedItem};
use lattice_api::clusters::{
    ClusterHealth, ClusterResources, ClusterRevoked, ClusterStatus, ClusterView, CreateCluster,
    CreateToken, ResourceAmounts, TokenCreated,
};
use lattice_api::compliance::{ComplianceEvidence, ComplianceReport, ControlStatus, ResultChange};
use lattice_api::kinds::WORKLOAD_KINDS;
use lattice_api::pivots::{PivotEventView, PivotList, PivotStarted, PivotView};
use lattice_api::showback::ShowbackReport;
use lattice_api::{ErrorBody, ErrorDetail};
use utoipa::OpenApi;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Components, Ref, RefOr};

/// Schemas of the spec documents, described by hand (see the module comment).
const DOCUMENTS_JSON: &str = include_str!("documents.json");

/// Document kinds listed as `{apiVersion, kind: "<Kind>List", items}` besides the workload kinds.
const OTHER_LISTED_KINDS: &[&str] = &[
    "LatticeQuota",
    "Namespace",
    "LatticeComplianceProfile",
    "LatticeFleetPolicy",
];

#[derive(OpenApi)]
#[openapi(components(schemas(
    ErrorBody,
    ErrorDetail,
    ClusterView,
    ClusterStatus,
    ClusterHealth,
    ClusterResources,
    ResourceAmounts,
    CreateCluster,
    CreateToken,
    TokenCreated,
    ClusterRevoked,
    AppliedItem,
    RederivedItem,
    ApplyResponse,
    PivotStarted,
    PivotList,
    PivotView,
    PivotEventView,
    ComplianceEvidence,
    ControlStatus,
    ResultChange,
    ComplianceReport,
    ShowbackReport
)))]
struct Generated;

/// Every schema and the bearer security scheme.
pub fn components() -> Components {
    let mut components = Generated::openapi().components.unwrap_or_default();
    // Compiled in and checked by the document's tests (every reference resolves).
    let documents: BTreeMap<String, RefOr<Schema>> =
        serde_json::from_str(DOCUMENTS_JSON).unwrap_or_default();
    components.schemas.extend(documents);
    components
        .schemas
        .insert("ClusterList".into(), items_of("ClusterView", false));
    let listed = WORKLOAD_KINDS
        .iter()
        .map(|row| row.kind)
        .chain(OTHER_LISTED_KINDS.iter().copied());
    for kind in listed {
        components
            .schemas
            .insert(format!("{kind}List"), items_of(kind, true));
    }
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
    );
    components
}

/// `{items: [<schema>]}`, with `apiVersion` and `kind` for Kubernetes-style lists.
fn items_of(schema: &str, kubernetes_style: bool) -> RefOr<Schema> {
    let mut object = ObjectBuilder::new().schema_type(Type::Object);
    if kubernetes_style {
        object = object
            .property("apiVersion", ObjectBuilder::new().schema_type(Type::String))
            .property("kind", ObjectBuilder::new().schema_type(Type::String));
    }
    object
        .property(
            "items",
            ArrayBuilder::new().items(Ref::from_schema_name(schema)),
        )
        .required("items")
        .into()
}
