//! `latticectl get`: lists and single resources, as a table (or the answer as YAML/JSON).

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
            let path = match &namespace {
                Some(ns) => format!("/v1/namespaces/{ns}/{}", kind.plural),
                None => format!("/v1/{}", kind.plural),
            };
            specs(client, &path, format).await
        }
        GetCommand::Workload(WorkloadGet::One {
            kind,
            name,
            namespace,
        }) => {
            let answer = client
                .call(
                    Method::GET,
                    &format!("/v1/namespaces/{namespace}/{}/{name}", kind.plural),
                    None,
                )
                .await?;
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

/// A list of workload specs (of any kind in the table) at `path`, one row each.
async fn specs(client: &ApiClient, path: &str, format: OutputFormat) -> Result<String, CtlError> {
    let answer = client.call(Method::GET, path, None).await?;
    let items = answer["items"].as_array().cloned().unwrap_or_default();
    finish(&answer, format, || {
        output::table(output::SERVICE_HEADERS, output::service_rows(&items))
    })
}
