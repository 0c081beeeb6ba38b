//! The Kubernetes client of the agent's own cluster: an explicit kubeconfig file, or kube's
//! inference ($KUBECONFIG, ~/.kube/config, in-cluster service account).

use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// The Kubernetes client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum KubeClientError {
    /// The kubeconfig file could not be read.
    #[error("could not read kubeconfig {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: kube::config::KubeconfigError,
    },
    /// No configuration found.
    #[error(
        "no Kubernetes configuration found (pass --kubeconfig, set KUBECONFIG, or run in a pod): {0}"
    )]
    Infer(#[from] kube::config::InferConfigError),
    /// The client could not be built.
    #[error("could not create the Kubernetes client: {0}")]
    Client(#[from] kube::Error),
}

/// A client from `kubeconfig`, or inferred when `None`.
pub async fn kube_client(kubeconfig: Option<&Path>) -> Result<Client, KubeClientError> {
    let config = match kubeconfig {
        Some(path) => {
            let read_error = |source| KubeClientError::Read {
                path: path.to_path_buf(),
                source,
            };
            let kc = Kubeconfig::read_from(path).map_err(read_error)?;
            Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
                .await
                .map_err(read_error)?
        }
        None => Config::infer().await?,
    };
    Ok(Client::try_from(config)?)
}
