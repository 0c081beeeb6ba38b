//! Shared helpers of the integration tests: loading the example specs and the context they are
//! derived in (every example is a known peer of every other, as `latticectl derive -f …` does).

#![allow(dead_code)]

use std::path::PathBuf;

use lattice_derive::{DeriveContext, LatticeService};

/// The `examples/` directory.
pub fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// Every example file name, sorted.
pub fn example_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    names
}

/// Parses one example.
pub fn load(file: &str) -> LatticeService {
    let text = std::fs::read_to_string(examples_dir().join(file)).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Every example, parsed.
pub fn all_examples() -> Vec<LatticeService> {
    example_files().iter().map(|f| load(f)).collect()
}

/// The context examples are derived in: all examples are peers.
pub fn context() -> DeriveContext {
    DeriveContext::default().with_peers(&all_examples())
}
