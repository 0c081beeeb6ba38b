//! Installing CustomResourceDefinitions into a test cluster: the vendored upstream CRDs under
//! `e2e/crds/` and Lattice's own under `deploy/crds/`.
//!
//! Server-side apply, because several upstream CRDs exceed the 256 KiB annotation limit of
//! client-side apply. All documents are sent first (a few requests in flight), then all are
//! awaited together: the API server establishes them in parallel, so the total is close to the
//! slowest one rather than the sum.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{Patch, PatchParams};
use kube::runtime::watcher::watch_object;
use serde_json::Value;

use crate::HarnessError;
use crate::bins::workspace_root;
use crate::cluster::TestCluster;

/// Field manager of the harness's server-side applies.
pub const FIELD_MANAGER: &str = "lattice-e2e";
/// How many CRD applies are in flight at once: enough to keep the API server busy, few enough
/// not to starve the other clusters on a 2-core machine.
const APPLY_CONCURRENCY: usize = 4;
/// Upper bound for all CRDs of one call to become Established; turns a hang into an error that
/// names the CRDs still pending.
const ESTABLISH_TIMEOUT: Duration = Duration::from_secs(300);

/// Server-side applies every CustomResourceDefinition document in `files` and waits until each
/// is Established. Returns the CRD names in file order.
///
/// Fails if a document is not a CRD, if no file holds a CRD, if the API server rejects one,
/// or if one is not accepted (e.g. a name conflict).
pub async fn install_crds(
    cluster: &TestCluster,
    files: &[PathBuf],
) -> Result<Vec<String>, HarnessError> {
    let mut documents = Vec::new();
    for file in files {
        documents.extend(parsed_crds(file).await?.iter().cloned());
    }
    if documents.is_empty() {
        return Err(HarnessError::NoCrds { files: files.len() });
    }
    let api: Api<CustomResourceDefinition> = Api::all(cluster.client().await?);
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
            details: pending_details(&api, &names).await,
        }),
    }
}

/// Every vendored upstream CRD file (`e2e/crds/<project>/*.yaml`), sorted by path.
pub fn vendored_crd_files() -> Vec<PathBuf> {
    yaml_files_under(&vendored_crd_dir())
}

/// The vendored CRD files of the named projects (directory names under `e2e/crds/`, e.g.
/// `"cilium"`, `"external-secrets"`), sorted by path. Installing only what a test needs is faster.
pub fn vendored_project_crd_files(projects: &[&str]) -> Vec<PathBuf> {
    let dir = vendored_crd_dir();
    let mut files: Vec<PathBuf> = projects
        .iter()
        .flat_map(|project| yaml_files_under(&dir.join(project)))
        .collect();
    files.sort();
    files
}

/// Lattice's own CRDs (`deploy/crds/*.yaml`, generated from the Rust types), sorted by path.
pub fn lattice_crd_files() -> Vec<PathBuf> {
    yaml_files_under(&workspace_root().join("deploy").join("crds"))
}

/// The directory of vendored upstream CRDs, `e2e/crds/`.
pub fn vendored_crd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crds")
}

/// All `*.yaml` files under `dir`, recursively, sorted. A missing directory yields none; callers
/// installing CRDs get [`HarnessError::NoCrds`] then.
fn yaml_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.flatten().map(|entry| entry.path()) {
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The CRD documents of one file as `(name, document)`, parsed once per process: several
/// clusters in one test binary install the same large files.
async fn parsed_crds(file: &Path) -> Result<Arc<Vec<(String, Arc<Value>)>>, HarnessError> {
    type Cache = Mutex<HashMap<PathBuf, Arc<Vec<(String, Arc<Value>)>>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(file)
    {
        return Ok(hit.clone());
    }
    let owned = file.to_path_buf();
    // Parsing megabytes of YAML is CPU work: keep it off the async worker threads.
    let parsed = tokio::task::spawn_blocking(move || parse_crd_file(&owned))
        .await
        .map_err(|e| HarnessError::CrdParse {
            file: file.to_path_buf(),
            message: format!("parser task failed: {e}"),
        })??;
    let parsed = Arc::new(parsed);
    cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(file.to_path_buf(), parsed.clone());
    Ok(parsed)
}

fn parse_crd_file(file: &Path) -> Result<Vec<(String, Arc<Value>)>, HarnessError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| HarnessError::io(format!("reading {}", file.display()), e))?;
    let parse_error = |message: String| HarnessError::CrdParse {
        file: file.to_path_buf(),
        message,
    };
    let options = serde_saphyr::options! {
        // The parser's default budget protects against hostile input; these files are trusted,
        // vendored data, and the largest (VictoriaMetrics: 25 CRDs, 3 MB) exceeds its node count.
        budget: serde_saphyr::budget! {
            max_events: 50_000_000,
            max_nodes: 20_000_000,
            max_depth: 512,
        },
    };
    let documents: Vec<Value> = serde_saphyr::from_multiple_with_options(&text, options)
        .map_err(|e| parse_error(e.to_string()))?;
    let mut crds = Vec::new();
    for (index, document) in documents.into_iter().enumerate() {
        if document.is_null() {
            continue; // an empty document, e.g. after a leading or trailing `---`
        }
        let api_version = document.get("apiVersion").and_then(Value::as_str);
        let kind = document.get("kind").and_then(Value::as_str);
        let name = document.pointer("/metadata/name").and_then(Value::as_str);
        match (api_version, kind, name) {
            (Some("apiextensions.k8s.io/v1"), Some("CustomResourceDefinition"), Some(name)) => {
                crds.push((name.to_owned(), Arc::new(document.clone())));
            }
            _ => {
                return Err(HarnessError::NotACrd {
                    file: file.to_path_buf(),
                    index,
                    found: format!(
                        "apiVersion {:?}, kind {:?}, metadata.name {:?}",
                        api_version.unwrap_or("<none>"),
                        kind.unwrap_or("<none>"),
                        name.unwrap_or("<none>")
                    ),
                });
            }
        }
    }
    Ok(crds)
}

/// Follows one CRD until its `Established` condition is true; fails fast if its names are refused.
async fn wait_established(
    api: &Api<CustomResourceDefinition>,
    name: &str,
) -> Result<(), HarnessError> {
    let mut updates = std::pin::pin!(watch_object(api.clone(), name));
    while let Some(crd) = updates.try_next().await? {
        let conditions = crd
            .and_then(|crd| crd.status)
            .and_then(|status| status.conditions)
            .unwrap_or_default();
        for condition in conditions {
            match (condition.type_.as_str(), condition.status.as_str()) {
                ("Established", "True") => return Ok(()),
                ("NamesAccepted", "False") => {
                    return Err(HarnessError::CrdNotAccepted {
                        name: name.to_owned(),
                        reason: condition.reason.unwrap_or_default(),
                        message: condition.message.unwrap_or_default(),
                    });
                }
                _ => {}
            }
        }
    }
    Err(HarnessError::Timeout {
        what: format!("CRD {name} to become Established"),
        waited: Duration::ZERO,
        details: ": the watch ended".to_owned(),
    })
}

async fn pending_details(api: &Api<CustomResourceDefinition>, names: &[String]) -> String {
    let mut pending = Vec::new();
    for name in names {
        let established = api.get_opt(name).await.ok().flatten().is_some_and(|crd| {
            crd.status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
        });
        if !established {
            pending.push(name.as_str());
        }
    }
    format!("; still not Established: {}", pending.join(", "))
}
