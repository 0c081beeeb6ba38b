//! Applying the examples through `latticectl apply -f`, as an operator would: documents of other
//! kinds (the CedarPolicies: Lattice denies by default) first, then the LatticeServices, one
//! request per file (the cell takes all
//! documents of a request or none). A kind `latticectl apply` does not support yet is skipped
//! with the cell's message instead of failing the demo.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::DemoError;
use super::examples::{CLUSTER_LABEL, ExampleDoc, ExampleFile, Expectation};
use crate::lattice::Ctl;

/// What the cell says about a kind it cannot apply (see `api/src/documents/mod.rs`).
const UNSUPPORTED_KIND: &str = "is not supported; supported kinds";

/// What happened to one LatticeService at `latticectl apply`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Stored by the cell: `created`, `configured` or `unchanged`.
    Accepted(String),
    /// Refused by the cell, with latticectl's message.
    Refused(String),
    /// Not sent: the demo found a problem with the document first.
    NotSent(String),
}

/// One LatticeService of the examples and how its apply went.
#[derive(Debug, Clone)]
pub struct ServiceEntry {
    /// The example file.
    pub file: String,
    /// What the file expects.
    pub expect: Expectation,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The cluster it is placed on.
    pub cluster: Option<String>,
    /// The apply outcome.
    pub applied: Applied,
}

impl ServiceEntry {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// A document of another kind and what became of it.
#[derive(Debug, Clone)]
pub struct OtherDocument {
    /// The example file and document index, `examples/x.yaml#1`.
    pub origin: String,
    /// Its kind and key, `CedarPolicy ops/p`.
    pub what: String,
    /// Its kind, `CedarPolicy`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// `Ok(result)` if applied, `Err(reason)` if skipped or refused.
    pub outcome: Result<String, String>,
    /// Whether the outcome is acceptable (applied, or a kind the CLI does not support yet).
    pub acceptable: bool,
}

/// Everything the demo applied.
#[derive(Debug, Clone, Default)]
pub struct ApplyOutcome {
    /// The LatticeServices, in file order.
    pub services: Vec<ServiceEntry>,
    /// Documents of other kinds.
    pub others: Vec<OtherDocument>,
}

/// Applies every example with `ctl`; `scratch` holds split-out documents.
pub async fn apply_examples(
    ctl: &Ctl,
    files: &[ExampleFile],
    scratch: &Path,
) -> Result<ApplyOutcome, DemoError> {
    let mut outcome = ApplyOutcome::default();
    for file in files {
        if file.no_services() {
            outcome.others.extend(apply_other_file(ctl, file).await?);
            continue;
        }
        for doc in file.documents.iter().filter(|d| !d.is_service()) {
            outcome
                .others
                .push(apply_other(ctl, file, doc, scratch).await?);
        }
    }
    for file in files {
        outcome
            .services
            .extend(apply_services(ctl, file, scratch).await?);
    }
    Ok(outcome)
}

/// A file of other kinds only (policies): applied as it is, in one request, as a person would.
async fn apply_other_file(ctl: &Ctl, file: &ExampleFile) -> Result<Vec<OtherDocument>, DemoError> {
    let output = ctl.run(&apply_args(&file.path)).await?;
    let outcome = if output.success() {
        Ok("applied".to_owned())
    } else if let Some(line) = output.stderr.lines().find(|l| l.contains(UNSUPPORTED_KIND)) {
        let mut kinds: Vec<&str> = file.documents.iter().map(|d| d.kind.as_str()).collect();
        kinds.dedup();
        Err(format!(
            "skipped: `latticectl apply` does not support kind {} yet (the cell says: {})",
            kinds.join(", "),
            line.trim()
        ))
    } else {
        Err(cell_message(&output.stderr, &file.path))
    };
    let acceptable = match &outcome {
        Ok(_) => true,
        Err(reason) => reason.starts_with("skipped") || file.expect == Expectation::Refused,
    };
    Ok(file
        .documents
        .iter()
        .map(|doc| OtherDocument {
            origin: format!("{}#{}", file.display, doc.index),
            what: other_what(doc),
            kind: doc.kind.clone(),
            name: doc.name.clone(),
            outcome: outcome.clone(),
            acceptable,
        })
        .collect())
}

/// `CedarPolicy platform-images` (cluster-scoped kinds have no namespace).
fn other_what(doc: &ExampleDoc) -> String {
    match doc.value["metadata"]["namespace"].as_str() {
        Some(_) => format!("{} {}", doc.kind, doc.key()),
        None => format!("{} {}", doc.kind, doc.name),
    }
}

async fn apply_other(
    ctl: &Ctl,
    file: &ExampleFile,
    doc: &ExampleDoc,
    scratch: &Path,
) -> Result<OtherDocument, DemoError> {
    let path = write_documents(scratch, file, &format!("doc{}", doc.index), &[doc])?;
    let output = ctl.run(&apply_args(&path)).await?;
    let (outcome, acceptable) = if output.success() {
        (Ok("applied".to_owned()), true)
    } else if let Some(line) = output.stderr.lines().find(|l| l.contains(UNSUPPORTED_KIND)) {
        (
            Err(format!(
                "skipped: `latticectl apply` does not support kind {} yet (the cell says: {})",
                doc.kind,
                line.trim()
            )),
            true,
        )
    } else {
        (
            Err(cell_message(&output.stderr, &path)),
            file.expect == Expectation::Refused,
        )
    };
    Ok(OtherDocument {
        origin: format!("{}#{}", file.display, doc.index),
        what: other_what(doc),
        kind: doc.kind.clone(),
        name: doc.name.clone(),
        outcome,
        acceptable,
    })
}

async fn apply_services(
    ctl: &Ctl,
    file: &ExampleFile,
    scratch: &Path,
) -> Result<Vec<ServiceEntry>, DemoError> {
    let (placed, unplaced): (Vec<&ExampleDoc>, Vec<&ExampleDoc>) = file
        .documents
        .iter()
        .filter(|d| d.is_service())
        .partition(|d| d.cluster.is_some());
    let mut entries: Vec<ServiceEntry> = unplaced
        .iter()
        .map(|doc| {
            entry(
                file,
                doc,
                Applied::NotSent(format!(
                    "no {CLUSTER_LABEL} label: add `{CLUSTER_LABEL}: edge-1` to its metadata.labels"
                )),
            )
        })
        .collect();
    if placed.is_empty() {
        return Ok(entries);
    }
    // Apply the file itself when it holds nothing else, as a person would.
    let path = if file.only_services() && unplaced.is_empty() {
        file.path.clone()
    } else {
        write_documents(scratch, file, "services", &placed)?
    };
    let mut args: Vec<&OsStr> = vec![OsStr::new("-o"), OsStr::new("json")];
    let apply = apply_args(&path);
    args.extend(apply.iter().map(|a| a.as_os_str()));
    let output = ctl.run(&args).await?;
    if !output.success() {
        let message = cell_message(&output.stderr, &path);
        entries.extend(
            placed
                .iter()
                .map(|doc| entry(file, doc, Applied::Refused(message.clone()))),
        );
        return Ok(entries);
    }
    let answer: Value = serde_json::from_str(&output.stdout).map_err(|e| DemoError::Example {
        file: file.display.clone(),
        message: format!("latticectl printed unexpected JSON: {e}"),
    })?;
    for doc in placed {
        let result = answer["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|item| {
                item["namespace"] == doc.namespace.as_str() && item["name"] == doc.name.as_str()
            })
            .and_then(|item| item["result"].as_str())
            .unwrap_or("accepted");
        entries.push(entry(file, doc, Applied::Accepted(result.to_owned())));
    }
    Ok(entries)
}

fn entry(file: &ExampleFile, doc: &ExampleDoc, applied: Applied) -> ServiceEntry {
    ServiceEntry {
        file: file.display.clone(),
        expect: file.expect,
        namespace: doc.namespace.clone(),
        name: doc.name.clone(),
        cluster: doc.cluster.clone(),
        applied,
    }
}

fn apply_args(path: &Path) -> Vec<std::ffi::OsString> {
    vec!["apply".into(), "-f".into(), path.as_os_str().to_owned()]
}

/// Writes `docs` as a YAML stream (JSON documents are YAML) to `scratch/<stem>-<suffix>.yaml`.
fn write_documents(
    scratch: &Path,
    file: &ExampleFile,
    suffix: &str,
    docs: &[&ExampleDoc],
) -> Result<PathBuf, DemoError> {
    let stem = file
        .path
        .file_stem()
        .map_or_else(|| "example".into(), |s| s.to_string_lossy());
    let path = scratch.join(format!("{stem}-{suffix}.yaml"));
    let text = docs
        .iter()
        .map(|d| d.value.to_string())
        .collect::<Vec<_>>()
        .join("\n---\n");
    std::fs::write(&path, text).map_err(|e| DemoError::io(&path, e))?;
    Ok(path)
}

/// latticectl's error without its `error: <file>: ` prefix (the report names the file itself).
fn cell_message(stderr: &str, file: &Path) -> String {
    let text = stderr.trim();
    let text = text.strip_prefix("error: ").unwrap_or(text);
    let text = text
        .strip_prefix(&format!("{}: ", file.display()))
        .unwrap_or(text);
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cells_message_loses_latticectls_prefix_and_keeps_every_field_line() {
        let stderr = "error: /tmp/x.yaml: invalid spec:\n  document 0: spec.a: bad\n  document 1: spec.b: worse\n";
        assert_eq!(
            cell_message(stderr, Path::new("/tmp/x.yaml")),
            "invalid spec:\ndocument 0: spec.a: bad\ndocument 1: spec.b: worse"
        );
        assert_eq!(cell_message("error: boom", Path::new("/a")), "boom");
    }
}
