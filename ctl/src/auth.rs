//! `latticectl auth can-i`: one question to the live policy set. A "no" is an answer, printed on
//! stdout with exit status 1 (like `kubectl auth can-i`).

use reqwest::Method;
use serde_json::{Value, json};

use crate::args::AuthCommand;
use crate::client::{ApiClient, Body, CtlError};
use crate::output::{self, OutputFormat, finish};

/// Runs `auth <command>`.
pub async fn run(
    client: &ApiClient,
    command: AuthCommand,
    format: OutputFormat,
) -> Result<String, CtlError> {
    let AuthCommand::CanI {
        principal,
        groups,
        action,
        resource,
    } = command;
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
