//! `latticectl get`: lists and single resources, as a table (or the answer as YAML/JSON).

use lattice_api::kinds::WorkloadKind;
use reqwest::Method;

use crate::args::GetCommand;
use crate::args::workloads::WorkloadGet;
use crate::client::{ApiClient, CtlError};
use crate::output::{self, OutputFormat, finish};
use crate::{describe, quota};

/// Runs `get <what>`.
pub async fn run(
    client: &ApiClient,
    what: GetCommand,
    format: OutputFormat,
) -> Result<String, CtlError> {
    match what {
        GetCommand::Workload(WorkloadGet::List { kind, namespace }) => {
            specs(client, kind, &kind.list_path(namespace.as_deref()), format).await
        }
        GetCommand::Workload(WorkloadGet::One {
            kind,
            name,
            namespace,
        }) => {
            let answer = client
                .call(Method::GET, &kind.one_path(&namespace, &name), None)
                .await?;
            if kind.is_cluster_scoped() {
                return finish(&answer, format, || describe::lattice_cluster(&answer));
            }
            finish(&answer, format, || describe::service(&answer))
        }
        GetCommand::CedarPolicies => {
            let answer = client.call(Method::GET, "/v1/cedarpolicies", None).await?;
            let items = answer["items"].as_array().cloned().unwrap_or_default();
            finish(&answer, format, || {
                format!(
                    "{}\npolicy set version {} ({})",
                    output::table(output::POLICY_HEADERS, output::policy_rows(&items)),
                    output::text(&answer["policySetVersion"]),
                    output::text(&answer["fingerprint"])
                )
            })
        }
        GetCommand::CedarPolicy { name } => {
            let answer = client
                .call(Method::GET, &format!("/v1/cedarpolicies/{name}"), None)
                .await?;
            finish(&answer, format, || describe::cedar_policy(&answer))
        }
        GetCommand::Quotas => quota::list(client, format).await,
        GetCommand::Quota { name } => quota::get(client, &name, format).await,
        GetCommand::Namespaces => quota::namespaces(client, format).await,
        GetCommand::Clusters => {
            let answer = client.call(Method::GET, "/v1/clusters", None).await?;
            let items = answer["items"].as_array().cloned().unwrap_or_default();
            finish(&answer, format, || {
                output::table(
                    output::CLUSTER_HEADERS,
                    output::cluster_rows(&items, chrono::Utc::now()),
                )
            })
        }
    }
}

/// A list of workload specs of `kind` at `path`, one row each (a `LatticeCluster` shows its
/// managing cluster and phase).
async fn specs(
    client: &ApiClient,
    kind: &WorkloadKind,
    path: &str,
    format: OutputFormat,
) -> Result<String, CtlError> {
    let answer = client.call(Method::GET, path, None).await?;
    let items = answer["items"].as_array().cloned().unwrap_or_default();
    finish(&answer, format, || {
        if kind.is_cluster_scoped() {
            output::table(
                output::LATTICE_CLUSTER_HEADERS,
                output::lattice_cluster_rows(&items),
            )
        } else {
            output::table(output::SERVICE_HEADERS, output::service_rows(&items))
        }
    })
}
