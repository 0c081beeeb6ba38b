//! Start-up: load the credentials from the Secret, or enrol and store them.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kube::Client;
use lattice_protocol::backoff::Backoff;

use crate::cell_endpoint::CellUrl;
use crate::credentials::AgentCredentials;
use crate::credentials::plan::{CredentialPlan, StartupError, plan};
use crate::credentials::secret::{CredentialStore, SecretStoreError, StoredCredentials};
use crate::enrol::{EnrolError, EnrolmentToken, enrol};

/// Attempts at storing freshly enrolled credentials before giving up (the token is spent).
pub const SAVE_ATTEMPTS: u32 = 5;

/// What the agent was given to obtain an identity.
pub struct EnrolmentInput<'a> {
    /// The cell.
    pub cell: &'a CellUrl,
    /// `--token`.
    pub token: Option<EnrolmentToken>,
    /// `--cell-ca`.
    pub cell_ca: Option<&'a Path>,
    /// Agent namespace.
    pub namespace: &'a str,
}

/// Credentials could not be obtained.
#[derive(Debug, thiserror::Error)]
pub enum ObtainError {
    /// Reading or writing the Secret failed.
    #[error(transparent)]
    Store(#[from] SecretStoreError),
    /// Nothing usable and nothing to enrol with.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// `--cell-ca` could not be read.
    #[error("could not read --cell-ca {path}: {source}")]
    CellCa {
        /// The file.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Enrolment failed.
    #[error(transparent)]
    Enrol(#[from] EnrolError),
    /// Enrolled, but the credentials could not be stored.
    #[error(
        "enrolled as cluster {cluster}, but the credentials could not be stored ({source}); the token is spent: create a new one with `latticectl token create --cluster {cluster}` after fixing access to the Secret"
    )]
    StoreAfterEnrol {
        /// The enrolled cluster.
        cluster: String,
        /// Cause.
        source: SecretStoreError,
    },
}

/// Loads the stored credentials or enrols.
pub async fn obtain_credentials(
    client: &Client,
    input: EnrolmentInput<'_>,
) -> Result<AgentCredentials, ObtainError> {
    let store = CredentialStore::new(client.clone(), input.namespace);
    let stored = store.load().await?;
    match &stored {
        StoredCredentials::Invalid(cause) => {
            tracing::warn!(error = %cause, "stored credentials are unusable");
        }
        StoredCredentials::Refused {
            credentials,
            reason,
        } => {
            tracing::warn!(cluster = %credentials.cluster_id(), serial = %credentials.serial(), %reason, "the cell refused the stored certificate");
        }
        StoredCredentials::Absent | StoredCredentials::Valid(_) => {}
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let plan = plan(
        stored,
        input.token.is_some(),
        input.cell_ca.is_some(),
        now,
        input.namespace,
    )?;
    let reason = match plan {
        CredentialPlan::UseStored(creds) => {
            if input.token.is_some() {
                tracing::info!(
                    "credentials found in the Secret; the enrolment token is not needed and was not used"
                );
            }
            tracing::info!(cluster = %creds.cluster_id(), "using stored credentials");
            return Ok(creds);
        }
        CredentialPlan::Enrol { reason } => reason,
    };
    // `plan` only asks for enrolment when both are present.
    let (Some(token), Some(ca_path)) = (input.token, input.cell_ca) else {
        return Err(StartupError::MissingCellCa.into());
    };
    let ca_pem = std::fs::read_to_string(ca_path).map_err(|source| ObtainError::CellCa {
        path: ca_path.display().to_string(),
        source,
    })?;
    tracing::info!(cell = %input.cell, reason, "enrolling with the cell");
    let creds = enrol(input.cell, &ca_pem, &token).await?;
    tracing::info!(cluster = %creds.cluster_id(), not_after_unix = creds.not_after_unix(), "enrolled");
    save_with_retries(&store, &creds).await?;
    Ok(creds)
}

async fn save_with_retries(
    store: &CredentialStore,
    creds: &AgentCredentials,
) -> Result<(), ObtainError> {
    let mut backoff = Backoff::new(
        Duration::from_millis(500),
        Duration::from_secs(8),
        Duration::MAX,
    );
    let mut attempt = 1;
    loop {
        match store.save(creds).await {
            Ok(()) => return Ok(()),
            Err(source) if attempt >= SAVE_ATTEMPTS => {
                return Err(ObtainError::StoreAfterEnrol {
                    cluster: creds.cluster_id().to_string(),
                    source,
                });
            }
            Err(e) => {
                let delay = backoff.next_delay(rand::random());
                tracing::warn!(error = %e, attempt, "storing credentials failed; retrying");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
        }
    }
}
