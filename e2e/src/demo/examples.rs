//! The example specs the demo applies: every `*.yaml`, `*.yml` and `*.json` file under
//! `examples/` (the CedarPolicies in `examples/policies/` included), read into documents. A file may say what its specs are expected to end as with a comment line
//! `# lattice-demo: expect Ready|Failed|Refused` (default `Ready`), so an example that shows a
//! denial on purpose does not fail the demo.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde_json::Value;

use super::DemoError;

/// The comment that sets a file's expectation.
const EXPECT_MARKER: &str = "lattice-demo: expect";
/// The label placing a spec on a cluster.
pub const CLUSTER_LABEL: &str = "lattice.dev/cluster";

/// What the specs of an example file are expected to end as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    /// Applied by its cluster's agent (`phase: Ready`).
    Ready,
    /// Accepted by the cell but not applied: `phase: Failed` or a condition `False` (a denial).
    Failed,
    /// Refused by the cell at `latticectl apply` (invalid or denied up front).
    Refused,
}

impl FromStr for Expectation {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "Ready" => Ok(Self::Ready),
            "Failed" => Ok(Self::Failed),
            "Refused" => Ok(Self::Refused),
            other => Err(format!(
                "unknown expectation {other:?} (use Ready, Failed or Refused)"
            )),
        }
    }
}

impl std::fmt::Display for Expectation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Ready => "Ready",
            Self::Failed => "Failed",
            Self::Refused => "Refused",
        })
    }
}

/// One document of an example file.
#[derive(Debug, Clone, PartialEq)]
pub struct ExampleDoc {
    /// Position in the file (0-based, as the cell numbers documents).
    pub index: usize,
    /// `kind` (empty if missing).
    pub kind: String,
    /// `metadata.namespace`, `default` if not set.
    pub namespace: String,
    /// `metadata.name` (empty if missing).
    pub name: String,
    /// The `lattice.dev/cluster` label.
    pub cluster: Option<String>,
    /// The whole document.
    pub value: Value,
}

impl ExampleDoc {
    /// Whether this is a `LatticeService`.
    pub fn is_service(&self) -> bool {
        self.kind == "LatticeService"
    }

    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// One example file.
#[derive(Debug, Clone, PartialEq)]
pub struct ExampleFile {
    /// Where it is.
    pub path: PathBuf,
    /// How to show it (relative to the workspace, e.g. `examples/hello.yaml`).
    pub display: String,
    /// What its specs should end as.
    pub expect: Expectation,
    /// Its documents.
    pub documents: Vec<ExampleDoc>,
}

impl ExampleFile {
    /// Whether every document is a `LatticeService` (then the file is applied as it is).
    pub fn only_services(&self) -> bool {
        self.documents.iter().all(ExampleDoc::is_service)
    }

    /// Whether no document is a `LatticeService` (then the file is applied as it is, first).
    pub fn no_services(&self) -> bool {
        !self.documents.iter().any(ExampleDoc::is_service)
    }
}

/// Reads every example file under `dir` (subdirectories included, e.g. `examples/policies/`),
/// sorted by path. `display_root` is stripped from paths for display.
pub fn read_examples(dir: &Path, display_root: &Path) -> Result<Vec<ExampleFile>, DemoError> {
    let mut paths = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current).map_err(|e| DemoError::io(&current, e))?;
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml" || ext == "json")
            {
                paths.push(path);
            }
        }
    }
    paths.sort();
    if paths.is_empty() {
        return Err(DemoError::NoExamples(dir.to_path_buf()));
    }
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|e| DemoError::io(&path, e))?;
            let display = path
                .strip_prefix(display_root)
                .unwrap_or(&path)
                .display()
                .to_string();
            parse_example(path, display, &text)
        })
        .collect()
}

/// Parses one example file's text.
pub fn parse_example(path: PathBuf, display: String, text: &str) -> Result<ExampleFile, DemoError> {
    let bad = |message: String| DemoError::Example {
        file: display.clone(),
        message,
    };
    let expect = expectation(text).map_err(bad)?;
    let values: Vec<Value> = if path.extension().is_some_and(|ext| ext == "json") {
        match serde_json::from_str(text).map_err(|e| bad(e.to_string()))? {
            Value::Array(items) => items,
            other => vec![other],
        }
    } else {
        serde_saphyr::from_multiple::<Value>(text).map_err(|e| bad(e.to_string()))?
    };
    let documents = values
        .into_iter()
        .filter(|v| !v.is_null())
        .enumerate()
        .map(|(index, value)| ExampleDoc {
            index,
            kind: text_of(&value["kind"]),
            namespace: value["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_owned(),
            name: text_of(&value["metadata"]["name"]),
            cluster: value["metadata"]["labels"][CLUSTER_LABEL]
                .as_str()
                .map(str::to_owned),
            value,
        })
        .collect();
    Ok(ExampleFile {
        path,
        display,
        expect,
        documents,
    })
}

/// The expectation a file declares with `# lattice-demo: expect X`, `Ready` if none.
pub fn expectation(text: &str) -> Result<Expectation, String> {
    let declared = text.lines().find_map(|line| {
        let comment = line.trim_start().strip_prefix('#')?;
        comment.trim().strip_prefix(EXPECT_MARKER).map(str::trim)
    });
    declared.map_or(Ok(Expectation::Ready), str::parse)
}

fn text_of(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "# lattice-demo: expect Failed\napiVersion: lattice.dev/v1alpha1\nkind: LatticeService\nmetadata:\n  name: a\n  labels: {lattice.dev/cluster: edge-2}\n---\nkind: CedarPolicy\nmetadata: {name: p, namespace: ops}\n";

    #[test]
    fn documents_are_read_with_their_placement_and_the_files_expectation() {
        let file = parse_example("x.yaml".into(), "examples/x.yaml".into(), TWO).unwrap();
        assert_eq!(file.expect, Expectation::Failed);
        assert_eq!(file.documents.len(), 2);
        let service = &file.documents[0];
        assert!(service.is_service());
        assert_eq!(service.key(), "default/a");
        assert_eq!(service.cluster.as_deref(), Some("edge-2"));
        let policy = &file.documents[1];
        assert_eq!((policy.index, policy.kind.as_str()), (1, "CedarPolicy"));
        assert_eq!(policy.key(), "ops/p");
        assert!(!file.only_services());
    }

    #[test]
    fn the_expectation_defaults_to_ready_and_rejects_unknown_words() {
        assert_eq!(expectation("kind: LatticeService"), Ok(Expectation::Ready));
        assert_eq!(
            expectation("  #  lattice-demo: expect Refused\n"),
            Ok(Expectation::Refused)
        );
        assert!(expectation("# lattice-demo: expect Maybe").is_err());
    }

    #[test]
    fn the_demo_runs_its_own_clusters_and_every_cluster_an_example_names() {
        let file = parse_example("x.yaml".into(), "x.yaml".into(), TWO).unwrap();
        let hello = parse_example(
            "h.yaml".into(),
            "h.yaml".into(),
            "kind: LatticeService\nmetadata: {name: h, labels: {lattice.dev/cluster: prod-eu-1}}\n",
        )
        .unwrap();
        assert_eq!(
            crate::demo::cluster_names(&[hello, file]),
            vec!["edge-1", "edge-2", "prod-eu-1"]
        );
    }

    #[test]
    fn a_json_example_is_read_as_one_or_many_documents() {
        let one = parse_example(
            "x.json".into(),
            "x.json".into(),
            r#"{"kind":"LatticeService","metadata":{"name":"a","namespace":"n"}}"#,
        )
        .unwrap();
        assert_eq!(one.documents[0].key(), "n/a");
        assert!(parse_example("x.json".into(), "x.json".into(), "{").is_err());
    }
}
