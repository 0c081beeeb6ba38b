//! No circles between modules: in every crate of the workspace, the children of one module do not
//! depend on each other in a circle (the rule and how it is read: `lattice_e2e::module_graph`,
//! `docs/architecture.md`). Needs no Kubernetes binaries; reads the sources only.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use lattice_e2e::module_graph::{Circle, circles, display_path, read_crate, references};

/// Circles that exist and are being removed, as `(crate directory, parent module, sorted
/// members)`: none since issue 10. A circle not listed here fails the test; so does an entry whose
/// circle is gone (remove it, so the list can only shrink).
const KNOWN: &[(&str, &str, &[&str])] = &[];

/// Every crate directory of the workspace: a directory with `Cargo.toml` and `src/lib.rs`.
fn crate_dirs(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file() && p.join("src/lib.rs").is_file())
        .collect();
    dirs.sort();
    Ok(dirs)
}

#[test]
fn no_new_circles_between_sibling_modules() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e sits in the workspace root");
    let dirs = crate_dirs(root)?;
    for expected in ["cell", "agent", "derive-core", "protocol"] {
        assert!(
            dirs.iter().any(|d| d.ends_with(expected)),
            "crate {expected} not found under {}",
            root.display()
        );
    }
    let mut found: Vec<(String, Circle)> = Vec::new();
    for dir in &dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let files = read_crate(&dir.join("src"))?;
        found.extend(
            circles(&references(&files))
                .into_iter()
                .map(|c| (name.clone(), c)),
        );
    }
    let known: BTreeSet<(String, String, Vec<String>)> = KNOWN
        .iter()
        .map(|(krate, parent, members)| {
            (
                krate.to_string(),
                parent.to_string(),
                members.iter().map(|m| m.to_string()).collect(),
            )
        })
        .collect();
    let key = |krate: &str, c: &Circle| {
        (
            krate.to_string(),
            display_path(&c.parent),
            c.members.clone(),
        )
    };
    let new: Vec<String> = found
        .iter()
        .filter(|(krate, c)| !known.contains(&key(krate, c)))
        .map(|(krate, c)| format!("{krate}: {c}"))
        .collect();
    let present: BTreeSet<_> = found.iter().map(|(krate, c)| key(krate, c)).collect();
    let gone: Vec<String> = known
        .iter()
        .filter(|k| !present.contains(*k))
        .map(|(krate, parent, members)| format!("{krate}: {parent}: {}", members.join(" <-> ")))
        .collect();
    assert!(
        new.is_empty(),
        "modules depend on each other in a circle; move what they share to a lower module \
         (see docs/architecture.md, \"No circles\"):\n{}",
        new.join("\n")
    );
    assert!(
        gone.is_empty(),
        "these known circles are gone: remove them from KNOWN in {}:\n{}",
        file!(),
        gone.join("\n")
    );
    Ok(())
}
