//! Self-contained kubeconfig files (certificates embedded) and kube clients built from them.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;

use super::pki::{CertifiedKey, write};
use crate::HarnessError;

/// The admin kubeconfig of a cluster being started: rewritten for each API server attempt,
/// since the port is only known then.
pub(crate) struct AdminKubeconfig<'a> {
    pub(crate) path: &'a Path,
    pub(crate) cluster: &'a str,
    pub(crate) ca_pem: &'a str,
    pub(crate) admin: &'a CertifiedKey,
}

impl AdminKubeconfig<'_> {
    /// Points the kubeconfig at `server` and returns an admin client using it.
    pub(crate) async fn connect(&self, server: &str) -> Result<kube::Client, HarnessError> {
        write_kubeconfig(
            self.path,
            self.cluster,
            "admin",
            server,
            self.ca_pem,
            self.admin,
        )?;
        client_from_kubeconfig(self.path).await
    }
}

/// Writes a kubeconfig for `server` trusting `ca_pem` and authenticating with `client`.
pub(crate) fn write_kubeconfig(
    path: &Path,
    cluster: &str,
    user: &str,
    server: &str,
    ca_pem: &str,
    client: &CertifiedKey,
) -> Result<(), HarnessError> {
    let credentials = json!({
        "client-certificate-data": STANDARD.encode(&client.cert_pem),
        "client-key-data": STANDARD.encode(&client.key_pem),
    });
    write_config(path, cluster, user, server, ca_pem, credentials)
}

/// Writes a kubeconfig for `server` trusting `ca_pem` and authenticating with a bearer `token`
/// (a ServiceAccount token from a TokenRequest).
pub(crate) fn write_token_kubeconfig(
    path: &Path,
    cluster: &str,
    user: &str,
    server: &str,
    ca_pem: &str,
    token: &str,
) -> Result<(), HarnessError> {
    write_config(
        path,
        cluster,
        user,
        server,
        ca_pem,
        json!({ "token": token }),
    )
}

fn write_config(
    path: &Path,
    cluster: &str,
    user: &str,
    server: &str,
    ca_pem: &str,
    credentials: serde_json::Value,
) -> Result<(), HarnessError> {
    let context = format!("{user}@{cluster}");
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": cluster,
            "cluster": {
                "server": server,
                "certificate-authority-data": STANDARD.encode(ca_pem),
            },
        }],
        "users": [{ "name": user, "user": credentials }],
        "contexts": [{
            "name": context,
            "context": { "cluster": cluster, "user": user },
        }],
        "current-context": context,
    });
    let yaml = serde_saphyr::to_string(&config).map_err(|e| {
        HarnessError::io(
            format!("rendering kubeconfig {}", path.display()),
            std::io::Error::other(e.to_string()),
        )
    })?;
    write(path, &yaml)
}

/// A kube client using the kubeconfig file at `path` (its current context).
pub(crate) async fn client_from_kubeconfig(path: &Path) -> Result<kube::Client, HarnessError> {
    // rustls needs a process-wide crypto provider; the workspace uses ring. Installing fails only
    // when one is installed already, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig_error = |source| HarnessError::Kubeconfig {
        path: path.to_path_buf(),
        source,
    };
    let kubeconfig = Kubeconfig::read_from(path).map_err(kubeconfig_error)?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(kubeconfig_error)?;
    Ok(kube::Client::try_from(config)?)
}
