//! Installing CustomResourceDefinitions into a test cluster: the vendored upstream CRDs under
//! `e2e/crds/` and Lattice's own under `deploy/crds/`.
//!
//! Server-side apply, because several upstream CRDs exceed the 256 KiB annotation limit of
//! client-side apply. All documents are sent first (a few requests in flight), then all are
//! awaited together: the API server establishes them in parallel, so the total is close to the
//! slowest one rather than the sum.

mod discovery;
mod established;
mod files;

use std::path::PathBuf;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use kube::Api;
use kube::api::{Patch, PatchParams};

use crate::HarnessError;
use crate::cluster::TestCluster;
use discovery::{not_discoverable, served_resources, wait_discoverable};
use established::{CrdConditions, not_established, wait_established};
pub use files::{
    lattice_crd_files, vendored_crd_dir, vendored_crd_files, vendored_project_crd_files,
};

/// Field manager of the harness's server-side applies.
pub const FIELD_MANAGER: &str = "lattice-e2e";
/// How many CRD applies are in flight at once: enough to keep the API server busy, few enough
/// not to starve the other clusters on a 2-core machine.
const APPLY_CONCURRENCY: usize = 4;
/// Upper bound for all CRDs of one call to become usable; turns a hang into an error that names
/// the CRDs still pending.
const ESTABLISH_TIMEOUT: Duration = Duration::from_secs(300);

/// Server-side applies every CustomResourceDefinition document in `files` (strict field
/// validation, forcing ownership) and waits until each is Established and its resources are
/// listed by discovery, so they can be used at once. Returns the CRD names in file order.
///
/// Fails if a file cannot be read or parsed, if a document is not a CRD (naming file and
/// document index), if no file holds a CRD, if the API server rejects one, or if one is not
/// accepted (e.g. a name conflict).
pub async fn install_crds(
    cluster: &TestCluster,
    files: &[PathBuf],
) -> Result<Vec<String>, HarnessError> {
    let mut documents = Vec::new();
    for file in files {
        documents.extend(files::parsed_crds(file).await?.iter().cloned());
    }
    if documents.is_empty() {
        return Err(HarnessError::NoCrds { files: files.len() });
    }
    let served = served_resources(&documents);
    let client = cluster.client().await?;
    let api: Api<CrdConditions> = Api::all(client.clone());
    let params = PatchParams::apply(FIELD_MANAGER)
        .force()
        .validation_strict();
    let names: Vec<String> = stream::iter(documents)
        .map(|(name, document)| {
            let (api, params) = (api.clone(), params.clone());
            async move {
                api.patch(&name, &params, &Patch::Apply(&*document)).await?;
                Ok::<_, HarnessError>(name)
            }
        })
        .buffered(APPLY_CONCURRENCY)
        .try_collect()
        .await?;

    let usable = async {
        futures::future::try_join_all(names.iter().map(|name| wait_established(&api, name)))
            .await?;
        wait_discoverable(&client, &served).await
    };
    match tokio::time::timeout(ESTABLISH_TIMEOUT, usable).await {
        Ok(result) => result.map(|()| names),
        Err(_) => Err(HarnessError::Timeout {
            what: format!(
                "{} CRDs to become Established and discoverable",
                names.len()
            ),
            waited: ESTABLISH_TIMEOUT,
            details: format!(
                "; not Established: [{}]; not in discovery: [{}]",
                not_established(&api, &names).await.join(", "),
                not_discoverable(&client, &served).await.join(", ")
            ),
        }),
    }
}
