//! `POST /v1/apply[?strict=true]`: apply `LatticeService`, `CedarPolicy`, `LatticeQuota`,
//! `LatticeComplianceProfile` and `Namespace` documents (YAML or JSON, mixed) all or nothing. The answer lists every document
//! with its result and, for a service, the status the derivation loop left it in (a quota refusal
//! is a `QuotaExceeded=True` condition); policy analysis warnings; and the other specs a policy
//! change or freed budget re-derived.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use lattice_api::apply::{AppliedItem, ApplyQuery, ApplyResponse};

use super::error::ApiError;
use super::views::{rederived_item, spec_view};
use crate::apply::{ApplyOptions, apply_body};
use crate::policies::status::finding_view;
use crate::state::CellState;

/// `POST /v1/apply`.
pub async fn apply(
    State(state): State<CellState>,
    Query(query): Query<ApplyQuery>,
    body: Bytes,
) -> Result<Json<ApplyResponse>, ApiError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("the body is not UTF-8 text"))?;
    let options = ApplyOptions {
        strict: query.strict,
    };
    let report = apply_body(&state, text, "admin", options).await?;
    let mut items: Vec<(usize, AppliedItem)> = Vec::new();
    if let Some(change) = &report.policies {
        for w in &change.written {
            items.push((
                w.index,
                AppliedItem {
                    kind: "CedarPolicy".into(),
                    namespace: None,
                    name: w.name.clone(),
                    generation: Some(w.generation),
                    result: w.result.as_str().into(),
                    revision: None,
                    status: None,
                    policy_set_version: Some(change.after.number),
                    fingerprint: Some(change.after.policies.fingerprint().to_string()),
                    warnings: w.warnings.iter().map(finding_view).collect(),
                },
            ));
        }
    }
    for applied in &report.services {
        let key = &applied.stored.key;
        let status = match state.store.spec(key).await? {
            Some(record) => spec_view(&state, record).await?.get("status").cloned(),
            None => None,
        };
        items.push((
            applied.index,
            AppliedItem {
                kind: key.kind.clone(),
                // A cluster-scoped spec (a LatticeCluster) has none.
                namespace: Some(key.namespace.clone()).filter(|ns| !ns.is_empty()),
                name: key.name.clone(),
                generation: Some(applied.stored.generation),
                result: match (applied.stored.changed, applied.stored.generation) {
                    (false, _) => "unchanged",
                    (true, 1) => "created",
                    (true, _) => "configured",
                }
                .into(),
                revision: applied.outcome.current_revision.clone(),
                status,
                policy_set_version: None,
                fingerprint: None,
                warnings: Vec::new(),
            },
        ));
    }
    for q in &report.quotas {
        items.push((
            q.index,
            AppliedItem {
                kind: lattice_derive::quota::QUOTA_KIND.into(),
                namespace: None,
                name: q.name.clone(),
                generation: Some(q.applied.generation),
                result: result_word(q.applied.created, q.applied.changed).into(),
                revision: None,
                status: None,
                policy_set_version: None,
                fingerprint: None,
                warnings: Vec::new(),
            },
        ));
    }
    for n in &report.namespaces {
        items.push((
            n.index,
            AppliedItem {
                kind: "Namespace".into(),
                namespace: None,
                name: n.name.clone(),
                generation: None,
                result: result_word(n.applied.created, n.applied.changed).into(),
                revision: None,
                status: None,
                policy_set_version: None,
                fingerprint: None,
                warnings: Vec::new(),
            },
        ));
    }
    for p in &report.compliance_profiles {
        items.push((
            p.index,
            AppliedItem {
                kind: lattice_derive::compliance::spec::COMPLIANCE_PROFILE_KIND.into(),
                namespace: None,
                name: p.name.clone(),
                generation: Some(p.applied.generation),
                result: result_word(p.applied.created, p.applied.changed).into(),
                revision: None,
                status: None,
                policy_set_version: None,
                fingerprint: None,
                warnings: Vec::new(),
            },
        ));
    }
    for p in &report.fleet_policies {
        items.push((
            p.index,
            AppliedItem {
                kind: lattice_derive::fleet_policy::FLEET_POLICY_KIND.into(),
                namespace: None,
                name: p.name.clone(),
                generation: Some(p.applied.generation),
                result: result_word(p.applied.created, p.applied.changed).into(),
                revision: Some(p.revision.clone()),
                status: None,
                policy_set_version: None,
                fingerprint: None,
                warnings: Vec::new(),
            },
        ));
    }
    items.sort_by_key(|(index, _)| *index);
    Ok(Json(ApplyResponse {
        items: items.into_iter().map(|(_, item)| item).collect(),
        rederived: report.rederived.iter().map(rederived_item).collect(),
    }))
}

/// `created`, `configured` or `unchanged`.
fn result_word(created: bool, changed: bool) -> &'static str {
    match (changed, created) {
        (false, _) => "unchanged",
        (true, true) => "created",
        (true, false) => "configured",
    }
}
