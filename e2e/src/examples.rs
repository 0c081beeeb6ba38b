//! The example specs under `examples/`, derived as the cell derives them: every object Lattice
//! can emit for them (services, the example LatticeCluster, the fleet policies). Used by the tests that check derived objects against real API servers and
//! the agent chart's RBAC against what the agent applies.

use std::path::{Path, PathBuf};

use lattice_derive::fleet_policy::{
    LatticeFleetPolicy, fleet_policy_objects, validate_fleet_policy,
};
use lattice_derive::mesh::MeshSettings;
use lattice_derive::{
    DeriveContext, Derived, LatticeCluster, LatticeService, derive_cluster, derive_service,
};

use crate::HarnessError;
use crate::bins::workspace_root;

/// The `LatticeCluster` example whose Cluster API objects are derived with the services.
pub const CLUSTER_EXAMPLE: &str = "examples/clusters/edge-3.yaml";
/// The directory of the `LatticeFleetPolicy` examples (`examples/fleet/*.yaml`).
pub const FLEET_EXAMPLES: &str = "examples/fleet";

/// Every `LatticeService` in `examples/*.yaml` (the others as its peers), the
/// [`CLUSTER_EXAMPLE`] and every fleet policy in [`FLEET_EXAMPLES`], each derived:
/// `(file, derived objects)`, services sorted by file.
pub fn derive_examples() -> Result<Vec<(String, Derived)>, HarnessError> {
    let dir = workspace_root().join("examples");
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| HarnessError::io(format!("listing {}", dir.display()), e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| HarnessError::io(format!("listing {}", dir.display()), e))?
            .path();
        if path.extension().is_some_and(|e| e == "yaml") {
            files.push(path);
        }
    }
    files.sort();
    let mut specs: Vec<(String, LatticeService)> = Vec::new();
    for path in files {
        let text = read(&path)?;
        // Mesh members derive no objects of their own (their mesh policy is validated by
        // mesh_objects_validate.rs).
        let doc: serde_json::Value =
            serde_saphyr::from_str(&text).map_err(|e| example(&path, e))?;
        if doc["kind"] != "LatticeService" {
            continue;
        }
        let spec = serde_saphyr::from_str(&text).map_err(|e| example(&path, e))?;
        specs.push((path.display().to_string(), spec));
    }
    let ctx = DeriveContext::default().with_peers(specs.iter().map(|(_, s)| s));
    let mut derived = Vec::new();
    for (file, spec) in &specs {
        let d = derive_service(spec, &ctx).map_err(|e| example(Path::new(file), e))?;
        derived.push((file.clone(), d));
    }
    // LatticeClusters derive Cluster API objects, applied on their managing cluster.
    let path = workspace_root().join(CLUSTER_EXAMPLE);
    let spec: LatticeCluster =
        serde_saphyr::from_str(&read(&path)?).map_err(|e| example(&path, e))?;
    let d = derive_cluster(&spec).map_err(|e| example(&path, e))?;
    derived.push((path.display().to_string(), d));
    derived.extend(derive_fleet_examples()?);
    Ok(derived)
}

/// Every fleet policy in [`FLEET_EXAMPLES`], validated and derived as the cell does (default mesh
/// settings): `(file, its CiliumClusterwideNetworkPolicy)`, sorted by file.
pub fn derive_fleet_examples() -> Result<Vec<(String, Derived)>, HarnessError> {
    let dir = workspace_root().join(FLEET_EXAMPLES);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| HarnessError::io(format!("listing {}", dir.display()), e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut derived = Vec::new();
    for path in files {
        let policy: LatticeFleetPolicy =
            serde_saphyr::from_str(&read(&path)?).map_err(|e| example(&path, e))?;
        let valid = validate_fleet_policy(&policy).map_err(|errors| {
            let problems: Vec<String> = errors.iter().map(ToString::to_string).collect();
            example(&path, problems.join("; "))
        })?;
        let objects = fleet_policy_objects(&valid, &MeshSettings::default());
        derived.push((path.display().to_string(), Derived::new(objects)));
    }
    Ok(derived)
}

fn read(path: &Path) -> Result<String, HarnessError> {
    std::fs::read_to_string(path)
        .map_err(|e| HarnessError::io(format!("reading {}", path.display()), e))
}

fn example(file: &Path, error: impl std::fmt::Display) -> HarnessError {
    HarnessError::Example {
        file: PathBuf::from(file),
        message: error.to_string(),
    }
}
