//! The namespaces a batch goes into exist on the target before its objects are created, as
//! clusterctl's `ensureNamespaces` does: a missing one is created (bare, by field manager
//! `lattice-pivot`); an existing one is left as it is.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, PostParams};

use crate::kube_error::is_not_found;
use crate::pivot::FIELD_MANAGER;
use crate::pivot::error::StepError;

/// Creates every namespace of `namespaces` that does not exist yet.
pub async fn ensure_namespaces(
    client: &Client,
    namespaces: &BTreeSet<String>,
) -> Result<(), StepError> {
    let api: Api<Namespace> = Api::all(client.clone());
    for name in namespaces {
        let object = format!("Namespace {name}");
        match api.get(name).await {
            Ok(_) => continue,
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(StepError::api("reading", &object, &e)),
        }
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        let params = PostParams {
            field_manager: Some(FIELD_MANAGER.to_string()),
            ..PostParams::default()
        };
        match api.create(&params, &namespace).await {
            Ok(_) => tracing::info!(namespace = %name, "namespace created for the pivot"),
            Err(kube::Error::Api(status)) if status.reason == "AlreadyExists" => {}
            Err(e) => return Err(StepError::api("creating", &object, &e)),
        }
    }
    Ok(())
}
