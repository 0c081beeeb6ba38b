//! The CRDs checked in under `deploy/crds/` must equal what the spec types generate.
//! Run with `UPDATE_CRDS=1` to rewrite them after changing a spec type.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

#[test]
fn checked_in_crds_match_the_spec_types() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds");
    let update = std::env::var_os("UPDATE_CRDS").is_some();
    for crd in lattice_derive::crd::all_crds().unwrap() {
        let path = dir.join(&crd.file_name);
        if update {
            std::fs::write(&path, &crd.yaml).unwrap();
            continue;
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == crd.yaml,
            "{} is stale: regenerate with `UPDATE_CRDS=1 cargo test -p lattice-derive --test crds`",
            path.display()
        );
    }
}
