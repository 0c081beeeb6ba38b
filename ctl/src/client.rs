//! The HTTP client of `latticectl`: the cell's REST API, with errors that say what to do.

use std::path::Path;

use lattice_api::ErrorBody;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why a call to the cell failed.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// The cell did not answer.
    #[error(
        "cannot reach the cell at {url}: {detail}\n  start one with `lattice-cell --dev --data-dir ./lattice-data`, or point latticectl at yours with --server URL, LATTICE_SERVER or a context (--context, `latticectl config get-contexts`); https://, or http:// for a cell run with --insecure-http"
    )]
    Unreachable {
        /// The URL tried.
        url: String,
        /// The transport error.
        detail: String,
    },
    /// The cell's TLS certificate is not trusted (or not for this host name).
    #[error(
        "the cell at {url} presented a TLS certificate latticectl does not trust: {detail}\n  pass the CA that signed it with --ca-file FILE or LATTICE_CA_FILE; a cell without --tls-cert uses its own CA, written to <data-dir>/ca.crt:\n  export LATTICE_CA_FILE=lattice-data/ca.crt"
    )]
    Untrusted {
        /// The URL tried.
        url: String,
        /// The TLS error.
        detail: String,
    },
    /// No token or a wrong one.
    #[error(
        "the cell refused the request ({message})\n  set LATTICE_TOKEN (or --token) to the cell's admin token; a cell started with --dev wrote it to <data-dir>/admin-token:\n  export LATTICE_TOKEN=$(cat lattice-data/admin-token)"
    )]
    Unauthorized {
        /// The cell's message.
        message: String,
    },
    /// The cell answered with an API error.
    #[error("{message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The error code.
        code: String,
        /// The message, with the field details.
        message: String,
    },
    /// A local file could not be read or written.
    #[error("{path}: {detail}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// The spec is invalid (offline derive).
    #[error("{0}")]
    Invalid(String),
    /// Output could not be rendered.
    #[error("cannot render output: {0}")]
    Render(String),
    /// A pivot or unpivot ended `Failed` (`cluster pivot`, `cluster unpivot`): nothing moved,
    /// the source was unpaused.
    #[error(
        "{move_name} {id} of cluster {cluster} failed: {reason}\n  see `latticectl describe cluster {cluster}` for its history"
    )]
    PivotFailed {
        /// `pivot` or `unpivot`.
        move_name: &'static str,
        /// The cluster.
        cluster: String,
        /// The pivot's id.
        id: String,
        /// Why.
        reason: String,
    },
    /// The command line is wrong in a way clap cannot see (exit status 2, like clap's own).
    #[error("{0}")]
    Usage(String),
    /// The config file (`LATTICECONFIG`, `~/.config/lattice/config`) or its context is wrong.
    #[error("{0}")]
    Config(String),
    /// The answer to a yes/no question (`auth can-i`) is no: `answer` is printed on stdout and
    /// the exit status is 1, like `kubectl auth can-i`.
    #[error("{answer}")]
    No {
        /// What to print.
        answer: String,
    },
}

/// Exit status of success.
pub const EXIT_OK: u8 = 0;
/// Exit status of an error from the cell (or any other failure not listed here), and of a "no"
/// from `auth can-i`.
pub const EXIT_ERROR: u8 = 1;
/// Exit status of a wrong command line (clap's own, too).
pub const EXIT_USAGE: u8 = 2;
/// Exit status when the resource does not exist (the cell answered 404).
pub const EXIT_NOT_FOUND: u8 = 3;
/// Exit status when the cell cannot be reached, its certificate is not trusted, or it refused
/// the credentials (401).
pub const EXIT_UNREACHABLE: u8 = 4;

impl CtlError {
    /// The process exit status of this error (documented in `docs/api.md`, decision 0054).
    pub fn exit_code(&self) -> u8 {
        match self {
            CtlError::Usage(_) => EXIT_USAGE,
            CtlError::Api { status: 404, .. } => EXIT_NOT_FOUND,
            CtlError::Unreachable { .. }
            | CtlError::Untrusted { .. }
            | CtlError::Unauthorized { .. } => EXIT_UNREACHABLE,
            CtlError::Api { .. }
            | CtlError::File { .. }
            | CtlError::Invalid(_)
            | CtlError::Render(_)
            | CtlError::Config(_)
            | CtlError::PivotFailed { .. }
            | CtlError::No { .. } => EXIT_ERROR,
        }
    }

    /// The cell's answer to a file's contents, prefixed with the file's name (other errors
    /// already say what they are about).
    pub fn in_file(self, name: &str) -> CtlError {
        match self {
            CtlError::Api {
                status,
                code,
                message,
            } => CtlError::Api {
                status,
                code,
                message: format!("{name}: {message}"),
            },
            other => other,
        }
    }
}

/// A client of one cell.
#[derive(Debug, Clone)]
pub struct ApiClient {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl ApiClient {
    /// A client for the cell at `base` (e.g. `https://127.0.0.1:8080`) trusting the system's
    /// roots.
    pub fn new(base: &str, token: Option<String>) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            token: token.filter(|t| !t.trim().is_empty()),
            http: reqwest::Client::new(),
        }
    }

    /// A client for the cell at `base` that trusts only the CA certificates in `ca_file` (PEM),
    /// or the system's roots without one.
    pub fn connect(
        base: &str,
        token: Option<String>,
        ca_file: Option<&Path>,
    ) -> Result<Self, CtlError> {
        let mut client = Self::new(base, token);
        if let Some(path) = ca_file {
            let file_error = |detail: String| CtlError::File {
                path: format!("--ca-file {}", path.display()),
                detail,
            };
            let pem = std::fs::read(path).map_err(|e| file_error(e.to_string()))?;
            let roots = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| file_error(root_cause(&e)))?;
            if roots.is_empty() {
                return Err(file_error("no PEM CERTIFICATE block in the file".into()));
            }
            client.http = reqwest::Client::builder()
                .tls_certs_only(roots)
                .build()
                .map_err(|e| file_error(root_cause(&e)))?;
        }
        Ok(client)
    }

    /// A transport error: an untrusted certificate, or no cell.
    fn unreachable(&self, error: &reqwest::Error) -> CtlError {
        let detail = root_cause(error);
        if is_certificate_error(error) {
            CtlError::Untrusted {
                url: self.base.clone(),
                detail,
            }
        } else {
            CtlError::Unreachable {
                url: self.base.clone(),
                detail,
            }
        }
    }

    /// Sends a request and returns the JSON answer.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Body>,
    ) -> Result<Value, CtlError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        request = match body {
            Some(Body::Json(value)) => request.json(&value),
            Some(Body::Yaml(text)) => request
                .header("content-type", "application/yaml")
                .body(text),
            None => request,
        };
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| CtlError::Unreachable {
            url: self.base.clone(),
            detail: root_cause(&e),
        })?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() {
            return Ok(value);
        }
        let message = api_message(&value);
        if status == StatusCode::UNAUTHORIZED {
            return Err(CtlError::Unauthorized { message });
        }
        Err(CtlError::Api {
            status: status.as_u16(),
            code: value["code"].as_str().unwrap_or("Error").to_string(),
            message,
        })
    }
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    /// JSON.
    Json(Value),
    /// YAML text, sent as is.
    Yaml(String),
}

impl Body {
    /// A JSON body from a typed request of `lattice-api`.
    pub fn json(request: &impl Serialize) -> Result<Self, CtlError> {
        serde_json::to_value(request)
            .map(Body::Json)
            .map_err(|e| CtlError::Render(e.to_string()))
    }
}

/// The API error's message (`lattice_api::ErrorBody`), with every field problem on its own line;
/// an answer that is not an error body is shown as it is.
fn api_message(value: &Value) -> String {
    let Ok(body) = ErrorBody::deserialize(value) else {
        return value
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| value.to_string(), str::to_string);
    };
    if body.details.is_empty() {
        return body.message;
    }
    let details: Vec<String> = body
        .details
        .iter()
        .map(|e| format!("  document {}: {}: {}", e.document, e.field, e.message))
        .collect();
    format!("invalid spec:\n{}", details.join("\n"))
}

/// Whether a transport error is rustls refusing the server's certificate (its
/// `InvalidCertificate` error, which reaches us only as text inside hyper's I/O error).
fn is_certificate_error(err: &reqwest::Error) -> bool {
    root_cause(err).starts_with("invalid peer certificate")
}

fn root_cause(err: &dyn std::error::Error) -> String {
    let mut cause = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::CtlError;

    #[test]
    fn an_api_error_names_the_file_and_other_errors_are_left_as_they_are() {
        let api = CtlError::Api {
            status: 422,
            code: "Invalid".into(),
            message: "document 0: spec: unknown field".into(),
        };
        assert_eq!(
            api.in_file("hello.yaml").to_string(),
            "hello.yaml: document 0: spec: unknown field"
        );
        let other = CtlError::Unauthorized {
            message: "bad token".into(),
        };
        assert!(
            !other
                .in_file("hello.yaml")
                .to_string()
                .contains("hello.yaml")
        );
    }
}
