//! Running the pinned `helm` (`scripts/build-helm.sh`) on the charts in `deploy/charts/`:
//! `helm lint` and `helm template`, with the rendered documents parsed for applying them to a
//! test cluster.

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;

use crate::HarnessError;
use crate::bins::{helm_binary, workspace_root};

/// `deploy/charts/<name>`.
pub fn chart_dir(name: &str) -> PathBuf {
    workspace_root().join("deploy").join("charts").join(name)
}

/// What one `helm` run printed, and whether it succeeded.
#[derive(Debug)]
pub struct HelmOutput {
    /// Whether helm exited with status 0.
    pub success: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl HelmOutput {
    fn from_output(output: Output) -> Self {
        Self {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Runs `helm ARGS` with a private, empty helm home (no repositories, no plugins, nothing
/// read from the user's configuration).
pub async fn helm<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Result<HelmOutput, HarnessError> {
    let home = tempfile::tempdir().map_err(|e| HarnessError::io("creating a helm home", e))?;
    let program = helm_binary()?;
    let output = tokio::process::Command::new(&program)
        .args(args)
        .env("HELM_CONFIG_HOME", home.path().join("config"))
        .env("HELM_CACHE_HOME", home.path().join("cache"))
        .env("HELM_DATA_HOME", home.path().join("data"))
        .env_remove("KUBECONFIG")
        .output()
        .await
        .map_err(|source| HarnessError::Spawn {
            program: program.clone(),
            source,
        })?;
    Ok(HelmOutput::from_output(output))
}

/// `helm template RELEASE CHART --namespace NAMESPACE --set-string ... [EXTRA]`: the rendered
/// objects (empty documents dropped). Fails with helm's message when rendering fails.
pub async fn template(
    chart: &str,
    release: &str,
    namespace: &str,
    set: &[&str],
    extra: &[&str],
) -> Result<Vec<Value>, HarnessError> {
    let chart_path = chart_dir(chart);
    let mut args: Vec<String> = vec![
        "template".into(),
        release.into(),
        chart_path.display().to_string(),
        "--namespace".into(),
        namespace.into(),
    ];
    for value in set {
        args.push("--set".into());
        args.push((*value).into());
    }
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let output = helm(&args).await?;
    if !output.success {
        return Err(HarnessError::Helm {
            args: args.join(" "),
            stderr: output.stderr,
        });
    }
    let documents: Vec<Value> =
        serde_saphyr::from_multiple(&output.stdout).map_err(|e| HarnessError::Helm {
            args: args.join(" "),
            stderr: format!("the output is not YAML: {e}"),
        })?;
    Ok(documents.into_iter().filter(|d| !d.is_null()).collect())
}

/// `kind namespace/name` of a rendered object, for messages.
pub fn describe(object: &Value) -> String {
    format!(
        "{} {}/{}",
        object["kind"].as_str().unwrap_or("?"),
        object["metadata"]["namespace"].as_str().unwrap_or(""),
        object["metadata"]["name"].as_str().unwrap_or("?")
    )
}

/// Applies every object with server-side apply, field manager `helm-test`,
/// `fieldValidation=Strict`, in order. Returns one line per rejected object (its description
/// and the API server's message); empty when all were accepted. Objects without a namespace
/// of a namespaced kind go to `namespace`.
pub async fn apply_strict(
    client: &kube::Client,
    namespace: &str,
    objects: &[Value],
) -> Result<Vec<String>, HarnessError> {
    use kube::api::{DynamicObject, GroupVersionKind, Patch, PatchParams};
    use kube::discovery::{Scope, pinned_kind};

    let params = PatchParams::apply("helm-test").validation_strict();
    let mut rejections = Vec::new();
    for object in objects {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let kind = object["kind"].as_str().unwrap_or_default();
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (resource, capabilities) = match pinned_kind(client, &gvk).await {
            Ok(found) => found,
            Err(e) => {
                rejections.push(format!("{}: kind not served: {e}", describe(object)));
                continue;
            }
        };
        let api: kube::Api<DynamicObject> = match capabilities.scope {
            Scope::Namespaced => kube::Api::namespaced_with(
                client.clone(),
                object["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or(namespace),
                &resource,
            ),
            Scope::Cluster => kube::Api::all_with(client.clone(), &resource),
        };
        if let Err(e) = api.patch(name, &params, &Patch::Apply(object)).await {
            rejections.push(format!("{}: {e}", describe(object)));
        }
    }
    Ok(rejections)
}
