//! `latticectl token create`: a one-time enrolment token for a cluster, optionally writing the
//! cell's CA certificate for the agent's `--cell-ca`, and the agent command line to run.

use std::path::PathBuf;

use lattice_api::clusters::CreateToken;
use reqwest::Method;
use serde_json::Value;

use crate::args::TokenCommand;
use crate::client::{ApiClient, Body, CtlError};
use crate::output::{self, OutputFormat, finish};

/// Runs `token <command>`.
pub async fn run(
    client: &ApiClient,
    command: TokenCommand,
    format: OutputFormat,
) -> Result<String, CtlError> {
    let TokenCommand::Create {
        cluster,
        ttl,
        ca_out,
    } = command;
    let body = CreateToken { ttl_seconds: ttl };
    let answer = client
        .call(
            Method::POST,
            &format!("/v1/clusters/{cluster}/tokens"),
            Some(Body::json(&body)?),
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
    finish(&answer, format, || instructions(&answer, ca_out.as_ref()))
}

/// The token, once, and the agent command line that uses it.
fn instructions(answer: &Value, ca_out: Option<&PathBuf>) -> String {
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
