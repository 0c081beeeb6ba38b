//! The vendored upstream CRDs are exactly the files their NOTICE lists, byte for byte.

use std::collections::BTreeMap;
use std::path::PathBuf;

use lattice_e2e::crds::vendored_crd_dir;
use lattice_e2e::{lattice_crd_files, vendored_crd_files, vendored_project_crd_files};
use sha2::{Digest, Sha256};

/// `file → (bytes, sha256)` from the table rows of `e2e/crds/NOTICE.md`.
fn notice_rows() -> anyhow::Result<BTreeMap<String, (u64, String)>> {
    let notice = std::fs::read_to_string(vendored_crd_dir().join("NOTICE.md"))?;
    let mut rows = BTreeMap::new();
    for line in notice.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | file | project | version | source | license | bytes | sha256 |
        let file = cells[1].trim_matches('`').to_owned();
        let bytes = cells[6].parse()?;
        let sha256 = cells[7].trim_matches('`').to_owned();
        assert_eq!(cells[5], "Apache-2.0", "license of {file}");
        assert!(
            cells[4].contains("https://github.com/"),
            "source URL of {file}"
        );
        rows.insert(file, (bytes, sha256));
    }
    Ok(rows)
}

#[test]
fn vendored_crds_match_their_notice() -> anyhow::Result<()> {
    let rows = notice_rows()?;
    let dir = vendored_crd_dir();
    let on_disk: BTreeMap<String, PathBuf> = vendored_crd_files()
        .into_iter()
        .map(|path| {
            let relative = path
                .strip_prefix(&dir)
                .map(|p| p.to_string_lossy().into_owned());
            (relative.unwrap_or_default(), path)
        })
        .collect();
    assert_eq!(
        on_disk.keys().collect::<Vec<_>>(),
        rows.keys().collect::<Vec<_>>(),
        "every vendored file has a NOTICE row and every row a file"
    );
    for (file, path) in &on_disk {
        let bytes = std::fs::read(path)?;
        let (size, sha256) = &rows[file];
        assert_eq!(bytes.len() as u64, *size, "size of {file}");
        assert_eq!(
            &hex::encode(Sha256::digest(&bytes)),
            sha256,
            "{file} differs from upstream"
        );
    }
    Ok(())
}

#[test]
fn every_project_the_platform_emits_objects_for_is_vendored() {
    for project in [
        "cilium",
        "istio",
        "external-secrets",
        "keda",
        "tetragon",
        "victoriametrics-operator",
        "gateway-api",
        "volcano",
        "cluster-api",
        "velero",
        "lws",
        "policy-report",
    ] {
        assert!(
            !vendored_project_crd_files(&[project]).is_empty(),
            "no CRD files for {project}"
        );
    }
    assert!(vendored_project_crd_files(&["no-such-project"]).is_empty());
}

#[test]
fn lattice_crd_files_are_the_generated_ones_in_deploy() {
    let files = lattice_crd_files();
    assert!(!files.is_empty());
    for file in files {
        assert!(
            file.parent().is_some_and(|p| p.ends_with("deploy/crds")),
            "{}",
            file.display()
        );
    }
}

/// CustomResourceDefinition documents in `files` (each document's top-level `kind` line).
fn crd_count(files: &[PathBuf]) -> anyhow::Result<usize> {
    let mut count = 0;
    for file in files {
        let text = std::fs::read_to_string(file)?;
        count += text
            .lines()
            .filter(|l| l.trim_end() == "kind: CustomResourceDefinition")
            .count();
    }
    Ok(count)
}

#[test]
fn the_readme_counts_the_crds_the_harness_installs() -> anyhow::Result<()> {
    let vendored = crd_count(&vendored_crd_files())?;
    let own = crd_count(&lattice_crd_files())?;
    let installed = vendored + own;
    let readme = std::fs::read_to_string(vendored_crd_dir().join("../../README.md"))?;
    assert!(
        readme.contains(&format!("the {vendored} vendored upstream CRDs")),
        "README.md should say \"the {vendored} vendored upstream CRDs\""
    );
    assert!(
        readme.contains(&format!("Lattice's own {own},")),
        "README.md should say \"Lattice's own {own},\" (the generated CRDs in deploy/crds)"
    );
    assert!(
        readme.contains(&format!("installing the {installed} CRDs")),
        "README.md should say \"installing the {installed} CRDs\" (vendored and Lattice's own, \
         what `lattice::install_platform_crds` installs)"
    );
    Ok(())
}
