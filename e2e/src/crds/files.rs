//! Which CRD files exist (vendored upstream, Lattice's own) and what they hold.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde_json::Value;

use crate::HarnessError;
use crate::bins::workspace_root;

/// One CRD document: its name and the whole document as JSON, shared between clusters.
pub(crate) type CrdDocument = (String, Arc<Value>);

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

/// The CRD documents of one file, parsed once per process: several clusters in one test binary
/// install the same large files.
pub(crate) async fn parsed_crds(file: &Path) -> Result<Arc<Vec<CrdDocument>>, HarnessError> {
    type Cache = Mutex<HashMap<PathBuf, Arc<Vec<CrdDocument>>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let cached = cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(file)
        .cloned();
    if let Some(hit) = cached {
        return Ok(hit);
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

fn parse_crd_file(file: &Path) -> Result<Vec<CrdDocument>, HarnessError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| HarnessError::io(format!("reading {}", file.display()), e))?;
    let options = serde_saphyr::options! {
        // The parser's default budget protects against hostile input; these files are trusted,
        // vendored data, and the largest (VictoriaMetrics: 25 CRDs, 3 MB) exceeds its node count.
        budget: serde_saphyr::budget! {
            max_events: 50_000_000,
            max_nodes: 20_000_000,
            max_depth: 512,
        },
    };
    let documents: Vec<Value> =
        serde_saphyr::from_multiple_with_options(&text, options).map_err(|e| {
            HarnessError::CrdParse {
                file: file.to_path_buf(),
                message: e.to_string(),
            }
        })?;
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
