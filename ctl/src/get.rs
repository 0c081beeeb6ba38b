//! `latticectl get`: lists and single resources, as a table (or the answer as YAML/JSON).

use reqwest::Method;

use crate::args::GetCommand;
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
        GetCommand::Services { namespace } => {
            let path = match &namespace {
                Some(ns) => format!("/v1/namespaces/{ns}/latticeservices"),
                None => "/v1/latticeservices".to_string(),
            };
            specs(client, &path, format).await
        }
        GetCommand::MeshMembers { namespace } => {
            let path = match &namespace {
                Some(ns) => format!("/v1/namespaces/{ns}/latticemeshmembers"),
                None => "/v1/latticemeshmembers".to_string(),
            };
            specs(client, &path, format).await
        }
        GetCommand::Service { name, namespace } => {
            let answer = client
                .call(
                    Method::GET,
                    &format!("/v1/namespaces/{namespace}/latticeservices/{name}"),
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
                output::table(output::CLUSTER_HEADERS, output::cluster_rows(&items))
            })
        }
    }
}

/// A list of workload specs (services or mesh members) at `path`, one row each.
async fn specs(client: &ApiClient, path: &str, format: OutputFormat) -> Result<String, CtlError> {
    let answer = client.call(Method::GET, path, None).await?;
    let items = answer["items"].as_array().cloned().unwrap_or_default();
    finish(&answer, format, || {
        output::table(output::SERVICE_HEADERS, output::service_rows(&items))
    })
}
