//! `latticectl delete`: removes a spec, policy, quota, fleet policy or namespace declaration and says what
//! follows (the cluster removing objects, the policy set version, the specs re-derived).

use reqwest::Method;
use serde_json::Value;

use crate::args::DeleteCommand;
use crate::args::workloads::WorkloadDelete;
use crate::client::{ApiClient, CtlError};
use crate::output::{self, OutputFormat, finish};
use crate::{fleet_policy, quota};

/// Runs `delete <what>`.
pub async fn run(
    client: &ApiClient,
    what: DeleteCommand,
    format: OutputFormat,
) -> Result<String, CtlError> {
    match what {
        DeleteCommand::Quota { name } => quota::delete(client, &name, format).await,
        DeleteCommand::Namespace { name } => quota::delete_namespace(client, &name, format).await,
        DeleteCommand::FleetPolicy { name } => fleet_policy::delete(client, &name, format).await,
        DeleteCommand::Workload(target) => workload(client, &target, format).await,
        DeleteCommand::CedarPolicy { name } => {
            let answer = client
                .call(Method::DELETE, &format!("/v1/cedarpolicies/{name}"), None)
                .await?;
            finish(&answer, format, || policy_deleted(&name, &answer))
        }
    }
}

/// Deletes the workload spec of `target` (any kind of the table of kinds).
async fn workload(
    client: &ApiClient,
    target: &WorkloadDelete,
    format: OutputFormat,
) -> Result<String, CtlError> {
    let WorkloadDelete {
        kind,
        name,
        namespace,
    } = target;
    let answer = client
        .call(Method::DELETE, &kind.one_path(namespace, name), None)
        .await?;
    let shown = if kind.is_cluster_scoped() {
        format!("{}/{name}", kind.singular)
    } else {
        format!("{}/{namespace}/{name}", kind.singular)
    };
    finish(&answer, format, || {
        format!(
            "{shown} deleted; cluster {} removes its objects",
            output::text(&answer["cluster"])
        )
    })
}

/// What deleting policy `name` did: the new policy set version and every spec re-derived.
fn policy_deleted(name: &str, answer: &Value) -> String {
    let mut lines = vec![format!(
        "cedarpolicy/{name} deleted (policy set version {})",
        output::text(&answer["policySetVersion"])
    )];
    for r in answer["rederived"].as_array().into_iter().flatten() {
        lines.push(format!(
            "re-derived {}/{}/{}: {}{}",
            output::text(&r["kind"]).to_lowercase(),
            output::text(&r["namespace"]),
            output::text(&r["name"]),
            output::text(&r["result"]),
            r["reason"]
                .as_str()
                .map_or(String::new(), |x| format!(" ({x})"))
        ));
    }
    lines.join("\n")
}
