//! `latticectl`: the CLI of the cell's REST API, plus offline derivation.

pub mod apply;
pub mod args;
pub mod client;
pub mod cost;
pub mod derive;
pub mod describe;
pub mod inputs;
pub mod output;
pub mod quota;

use std::collections::BTreeMap;
use std::path::PathBuf;

use reqwest::Method;
use serde_json::{Value, json};

pub use args::{
    AuthCommand, ClusterCommand, Command, CostBy, CostCommand, CtlArgs, DeleteCommand, GetCommand,
    TokenCommand,
};
use client::{ApiClient, Body, CtlError};
use inputs::read_inputs;
use output::OutputFormat;

/// Runs one command and returns what to print.
pub async fn run(args: CtlArgs) -> Result<String, CtlError> {
    let client = ApiClient::new(&args.server, args.token.clone());
    let format = args.output;
    match args.command {
        Command::Apply { files, strict } => {
            let applied = apply::apply(&client, read_inputs(&files)?, strict).await?;
            finish(&applied.answer, format, || applied.lines.join("\n"))
        }
        Command::Get {
            what: GetCommand::Services { namespace },
        } => {
            let path = match &namespace {
                Some(ns) => format!("/v1/namespaces/{ns}/latticeservices"),
                None => "/v1/latticeservices".to_string(),
            };
            let answer = client.call(Method::GET, &path, None).await?;
            let items = answer["items"].as_array().cloned().unwrap_or_default();
            finish(&answer, format, || {
                output::table(output::SERVICE_HEADERS, output::service_rows(&items))
            })
        }
        Command::Get {
            what: GetCommand::MeshMembers { namespace },
        } => {
            let path = match &namespace {
                Some(ns) => format!("/v1/namespaces/{ns}/latticemeshmembers"),
                None => "/v1/latticemeshmembers".to_string(),
            };
            let answer = client.call(Method::GET, &path, None).await?;
            let items = answer["items"].as_array().cloned().unwrap_or_default();
            finish(&answer, format, || {
                output::table(output::SERVICE_HEADERS, output::service_rows(&items))
            })
        }
        Command::Get {
            what: GetCommand::Service { name, namespace },
        } => {
            let answer = client
                .call(
                    Method::GET,
                    &format!("/v1/namespaces/{namespace}/latticeservices/{name}"),
                    None,
                )
                .await?;
            finish(&answer, format, || describe::service(&answer))
        }
        Command::Get {
            what: GetCommand::CedarPolicies,
        } => {
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
        Command::Get {
            what: GetCommand::CedarPolicy { name },
        } => {
            let answer = client
                .call(Method::GET, &format!("/v1/cedarpolicies/{name}"), None)
                .await?;
            finish(&answer, format, || describe::cedar_policy(&answer))
        }
        Command::Get {
            what: GetCommand::Quotas,
        } => quota::list(&client, format).await,
        Command::Get {
            what: GetCommand::Quota { name },
        } => quota::get(&client, &name, format).await,
        Command::Get {
            what: GetCommand::Namespaces,
        } => quota::namespaces(&client, format).await,
        Command::Delete {
            what: DeleteCommand::Quota { name },
        } => quota::delete(&client, &name, format).await,
        Command::Delete {
            what: DeleteCommand::Namespace { name },
        } => quota::delete_namespace(&client, &name, format).await,
        Command::Cost { by, command } => cost::run(&client, by, command, format).await,
        Command::Get {
            what: GetCommand::Clusters,
        } => {
            let answer = client.call(Method::GET, "/v1/clusters", None).await?;
            let items = answer["items"].as_array().cloned().unwrap_or_default();
            finish(&answer, format, || {
                output::table(output::CLUSTER_HEADERS, output::cluster_rows(&items))
            })
        }
        Command::Delete {
            what: DeleteCommand::Service { name, namespace },
        } => {
            let answer = client
                .call(
                    Method::DELETE,
                    &format!("/v1/namespaces/{namespace}/latticeservices/{name}"),
                    None,
                )
                .await?;
            finish(&answer, format, || {
                format!(
                    "latticeservice/{namespace}/{name} deleted; cluster {} removes its objects",
                    output::text(&answer["cluster"])
                )
            })
        }
        Command::Delete {
            what: DeleteCommand::MeshMember { name, namespace },
        } => {
            let answer = client
                .call(
                    Method::DELETE,
                    &format!("/v1/namespaces/{namespace}/latticemeshmembers/{name}"),
                    None,
                )
                .await?;
            finish(&answer, format, || {
                format!(
                    "latticemeshmember/{namespace}/{name} deleted; cluster {} removes its objects",
                    output::text(&answer["cluster"])
                )
            })
        }
        Command::Delete {
            what: DeleteCommand::CedarPolicy { name },
        } => {
            let answer = client
                .call(Method::DELETE, &format!("/v1/cedarpolicies/{name}"), None)
                .await?;
            finish(&answer, format, || {
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
            })
        }
        Command::Auth {
            command:
                AuthCommand::CanI {
                    principal,
                    groups,
                    action,
                    resource,
                },
        } => {
            let answer = client
                .call(
                    Method::POST,
                    "/v1/authorization/can-i",
                    Some(Body::Json(json!({
                        "principal": principal, "groups": groups,
                        "action": action, "resource": resource,
                    }))),
                )
                .await?;
            let allowed = answer["allowed"] == Value::Bool(true);
            let printed = finish(&answer, format, || {
                format!(
                    "{}\n{}",
                    if allowed { "yes" } else { "no" },
                    output::text(&answer["explanation"])
                )
            })?;
            if allowed {
                Ok(printed)
            } else {
                Err(CtlError::No { answer: printed })
            }
        }
        Command::Cluster {
            command: ClusterCommand::Create { name, labels },
        } => {
            let labels: BTreeMap<String, String> = labels.into_iter().collect();
            let answer = client
                .call(
                    Method::POST,
                    "/v1/clusters",
                    Some(Body::Json(json!({ "name": name, "labels": labels }))),
                )
                .await?;
            finish(&answer, format, || {
                format!(
                    "cluster/{name} created\nnext: latticectl token create --cluster {name} --ca-out lattice-ca.crt"
                )
            })
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    cluster,
                    ttl,
                    ca_out,
                },
        } => {
            let body = ttl.map_or_else(|| json!({}), |t| json!({ "ttlSeconds": t }));
            let answer = client
                .call(
                    Method::POST,
                    &format!("/v1/clusters/{cluster}/tokens"),
                    Some(Body::Json(body)),
                )
                .await?;
            if let Some(path) = &ca_out {
                std::fs::write(
                    path,
                    answer["caCertificatePem"].as_str().unwrap_or_default(),
                )
                .map_err(|e| CtlError::File {
                    path: path.display().to_string(),
                    detail: e.to_string(),
                })?;
            }
            finish(&answer, format, || {
                token_instructions(&answer, ca_out.as_ref())
            })
        }
        Command::Derive {
            files,
            cluster,
            trust_domain,
            policies,
            explain_mesh,
        } => {
            let policies = if policies.is_empty() {
                None
            } else {
                Some(derive::load_policies(&read_inputs(&policies)?)?)
            };
            let derived = derive::derive_all(
                &read_inputs(&files)?,
                derive::DeriveOptions {
                    cluster: cluster.as_deref(),
                    trust_domain: &trust_domain,
                    policies: policies.as_ref(),
                    explain_mesh,
                },
            )?;
            derive::render(&derived, format)
        }
    }
}

/// The table text for `-o table`, else the answer as YAML or JSON.
pub(crate) fn finish(
    value: &Value,
    format: OutputFormat,
    table: impl FnOnce() -> String,
) -> Result<String, CtlError> {
    match format {
        OutputFormat::Table => Ok(table()),
        other => output::structured(value, other),
    }
}

fn token_instructions(answer: &Value, ca_out: Option<&PathBuf>) -> String {
    let token = output::text(&answer["token"]);
    let ca = ca_out.map_or_else(
        || "<CA file: rerun with --ca-out FILE to write it>".to_string(),
        |p| p.display().to_string(),
    );
    format!(
        "enrolment token for cluster {} (single use, expires {}; it is not shown again):\n  {token}\n\nrun the agent against the cluster:\n  lattice-agent --cell {} --cell-ca {ca} --kubeconfig <kubeconfig of the cluster> --token {token}",
        output::text(&answer["cluster"]),
        output::text(&answer["expiresAt"]),
        output::text(&answer["agentEndpoint"]),
    )
}
