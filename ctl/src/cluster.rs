//! `latticectl cluster create`: registers a cluster and says how to enrol its agent.

use lattice_api::clusters::CreateCluster;
use reqwest::Method;

use crate::args::ClusterCommand;
use crate::client::{ApiClient, Body, CtlError};
use crate::output::{OutputFormat, finish};

/// Runs `cluster <command>`.
pub async fn run(
    client: &ApiClient,
    command: ClusterCommand,
    format: OutputFormat,
) -> Result<String, CtlError> {
    let ClusterCommand::Create { name, labels } = command;
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
