//! `PivotDiscover`: list, in the cluster's namespace, every object of the movable API groups the
//! API server serves (`lattice_derive::pivot::membership::MOVED_GROUPS`, each at its chosen
//! version) and every Secret and ConfigMap, as JSON with status. The cell decides what moves.
//! Objects are never logged: Secrets are among them. The agent's own objects (its credentials,
//! inventory and stored manifests, labelled `app.kubernetes.io/managed-by=lattice-agent`) are
//! never listed, whatever namespace is asked for. Fault points: `pivot:mid-discover` once the
//! first kind is listed, `pivot:after-discover` once all are, before the answer.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, TypeMeta};
use kube::discovery::{Discovery, Scope, verbs};
use lattice_derive::pivot::membership::MOVED_GROUPS;

use crate::pivot::error::StepError;
use crate::pivot::served::chosen_resources;

/// Excludes the agent's own objects (`crate::own_objects::own_labels`).
const NOT_THE_AGENTS_OWN: &str = "app.kubernetes.io/managed-by!=lattice-agent";

/// Every object of `namespace` a pivot may move, each as JSON (`apiVersion` and `kind` set).
pub async fn discover(client: &Client, namespace: &str) -> Result<Vec<Vec<u8>>, StepError> {
    let discovery = Discovery::new(client.clone())
        .filter(&MOVED_GROUPS)
        .run()
        .await
        .map_err(|e| StepError::api("discovering", MOVED_GROUPS.join(", "), &e))?;
    let mut resources: Vec<ApiResource> = discovery
        .groups()
        .flat_map(chosen_resources)
        .filter(|(_, caps)| caps.scope == Scope::Namespaced && caps.supports_operation(verbs::LIST))
        .map(|(resource, _)| resource)
        .collect();
    resources.push(ApiResource::erase::<Secret>(&()));
    resources.push(ApiResource::erase::<ConfigMap>(&()));

    let mut objects = Vec::new();
    for (position, resource) in resources.iter().enumerate() {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, resource);
        let listed = api
            .list(&ListParams::default().labels(NOT_THE_AGENTS_OWN))
            .await
            .map_err(|e| {
                StepError::api(
                    "listing",
                    format!("{} in namespace {namespace}", resource.plural),
                    &e,
                )
            })?;
        for mut object in listed.items {
            // Who wrote which field does not move (`prepare_for_target` drops it) and is often
            // half of an object: left out, the answer stays far below the stream's 4 MiB limit.
            object.metadata.managed_fields = None;
            // List items of built-in kinds come without apiVersion and kind.
            object.types = Some(TypeMeta {
                api_version: resource.api_version.clone(),
                kind: resource.kind.clone(),
            });
            let json = serde_json::to_vec(&object).map_err(|e| StepError::Api {
                action: "encoding",
                object: format!(
                    "{} {namespace}/{}",
                    resource.kind,
                    object.metadata.name.clone().unwrap_or_default()
                ),
                message: e.to_string(),
            })?;
            objects.push(json);
        }
        // One kind listed, the rest not yet (docs/testing.md, fault points).
        if position == 0 {
            lattice_fault::point("pivot:mid-discover");
        }
    }
    tracing::info!(
        namespace,
        objects = objects.len(),
        kinds = resources.len(),
        "pivot discovery listed the namespace"
    );
    lattice_fault::point("pivot:after-discover");
    Ok(objects)
}
