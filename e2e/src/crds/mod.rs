//! Installing CustomResourceDefinitions into a test cluster: the vendored upstream CRDs under
//! `e2e/crds/` and Lattice's own under `deploy/crds/`.
//!
//! Server-side apply, because several upstream CRDs exceed the 256 KiB annotation limit of
//! client-side apply. All documents are sent first (a few requests in flight), then all are
//! awaited together: the API server establishes them in parallel, so the total is close to the
//! slowest one rather than the sum.

mod established;
mod files;

use std::path::PathBuf;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use kube::Api;
use kube::api::{Patch, PatchParams};

use crate::HarnessError;
use crate::cluster::TestCluster;
use established::{CrdConditions, not_established, wait_established};
pub use files::{
    lattice_crd_files, vendored_crd_dir, vendored_crd_files, vendored_project_crd_files,
};

/// Field manager of the harness's server-side applies.
pub const FIELD_MANAGER: &str = "lattice-e2e";
/// How many CRD applies are in flight at once: enough to keep the API server busy, few enough
/// not to starve the other clusters on a 2-core machine.
const APPLY_CONCURRENCY: usize = 4;
/// Upper bound for all CRDs of one call to become Established; turns a hang into an error that
/// names the CRDs still pending.
const ESTABLISH_TIMEOUT: Duration = Duration::from_secs(300);

/// Server-side applies every CustomResourceDefinition document in `files` (strict field
/// validation, forcing ownership) and waits until each is Established. Returns the CRD names
/// in file order.
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
    let api: Api<CrdConditions> = Api::all(cluster.client().await?);
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

    let waits = names.iter().map(|name| wait_established(&api, name));
    match tokio::time::timeout(ESTABLISH_TIMEOUT, futures::future::try_join_all(waits)).await {
        Ok(result) => result.map(|_| names),
        Err(_) => Err(HarnessError::Timeout {
            what: format!("{} CRDs to become Established", names.len()),
            waited: ESTABLISH_TIMEOUT,
            details: format!(
                "; still not Established: {}",
                not_established(&api, &names).await.join(", ")
            ),
        }),
    }
}
