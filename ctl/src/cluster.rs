//! `latticectl cluster create` registers a cluster and says how to enrol its agent;
//! `latticectl cluster revoke` revokes its certificates and says how to enrol it again;
//! `latticectl cluster pivot` and `cluster unpivot` are `crate::pivot`.

use lattice_api::clusters::{ClusterRevoked, CreateCluster};
use reqwest::Method;

use crate::args::ClusterCommand;
use crate::client::{ApiClient, Body, CtlError};
use crate::output::{OutputFormat, finish};
use crate::pivot::Move;

/// Runs `cluster <command>`.
pub async fn run(
    client: &ApiClient,
    command: ClusterCommand,
    format: OutputFormat,
) -> Result<String, CtlError> {
    match command {
        ClusterCommand::Create { name, labels } => {
            let body = CreateCluster {
                name: name.clone(),
                labels: labels.into_iter().collect(),
            };
            let answer = client
                .call(Method::POST, "/v1/clusters", Some(Body::json(&body)?))
                .await?;
            finish(&answer, format, || {
                format!(
                    "cluster/{name} created\nnext: latticectl token create --cluster {name} --ca-out lattice-ca.crt"
                )
            })
        }
        ClusterCommand::Pivot { name } => {
            crate::pivot::run(client, &name, Move::Pivot, format, crate::pivot::POLL).await
        }
        ClusterCommand::Unpivot { name } => {
            crate::pivot::run(client, &name, Move::Unpivot, format, crate::pivot::POLL).await
        }
        ClusterCommand::Revoke { name } => {
            let path = format!("/v1/clusters/{name}/revoke");
            let answer = client.call(Method::POST, &path, None).await?;
            finish(&answer, format, || revoked_text(&name, &answer))
        }
    }
}

/// The human answer of `cluster revoke`.
fn revoked_text(name: &str, answer: &serde_json::Value) -> String {
    let revoked: Option<ClusterRevoked> = serde_json::from_value(answer.clone()).ok();
    let (count, ended) = revoked.map_or((0, false), |r| (r.revoked_serials.len(), r.session_ended));
    let session = if ended {
        "its agent's stream was cut"
    } else {
        "no agent was connected"
    };
    format!(
        "cluster/{name} revoked: {count} certificate(s) revoked, {session}\nto let the agent back: latticectl token create --cluster {name} --ca-out lattice-ca.crt, then restart it with --token"
    )
}
