//! Credentials persisted in the agent's own cluster: Secret `<namespace>/lattice-agent-credentials`
//! of type `kubernetes.io/tls` (`tls.crt`, `tls.key`, `ca.crt`), annotated with the cluster id.
//! Stored after enrolment and after each renewal (one write of the whole Secret, so a crash leaves
//! either the old pair or the new one, never half of each), and read on every later start, so no
//! token is needed again. When the cell refuses the certificate (revoked, expired, unknown), the
//! refused serial is noted on the Secret, so a restart with `--token` enrols again.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use zeroize::Zeroizing;

use crate::credentials::{AgentCredentials, CredentialError};
use crate::kube_error::server_message;
use crate::own_objects::{AGENT_FIELD_MANAGER, NamespaceError, ensure_namespace, own_labels};

/// Name of the credentials Secret.
pub const CREDENTIALS_SECRET: &str = "lattice-agent-credentials";
/// Annotation holding the cluster id the credentials identify.
pub const CLUSTER_ID_ANNOTATION: &str = "lattice.dev/cluster-id";
/// Annotation holding the serial of a certificate the cell refused (the credentials are kept, for
/// the record, but not used again).
pub const REFUSED_SERIAL_ANNOTATION: &str = "lattice.dev/refused-serial";
/// Annotation holding why the cell refused it.
pub const REFUSED_REASON_ANNOTATION: &str = "lattice.dev/refused-reason";
/// Longest refusal reason kept on the Secret.
const MAX_REASON: usize = 512;
/// Secret type of the credentials.
pub const TLS_SECRET_TYPE: &str = "kubernetes.io/tls";

/// What the credentials Secret holds.
#[derive(Debug)]
pub enum StoredCredentials {
    /// No Secret: the agent has not enrolled.
    Absent,
    /// A Secret with usable credentials.
    Valid(AgentCredentials),
    /// A Secret whose content is unusable, and why.
    Invalid(CredentialError),
    /// Credentials whose certificate the cell refused (noted on the Secret), and why.
    Refused {
        /// The refused credentials.
        credentials: AgentCredentials,
        /// The cell's reason, as noted.
        reason: String,
    },
}

/// The Secret could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SecretStoreError {
    /// Reading failed.
    #[error("could not read Secret {namespace}/{CREDENTIALS_SECRET}: {message}")]
    Read {
        /// Agent namespace.
        namespace: String,
        /// API server message.
        message: String,
    },
    /// Writing failed.
    #[error("could not write Secret {namespace}/{CREDENTIALS_SECRET}: {message}")]
    Write {
        /// Agent namespace.
        namespace: String,
        /// API server message.
        message: String,
    },
    /// The namespace could not be created.
    #[error(transparent)]
    Namespace(#[from] NamespaceError),
}

/// Reads and writes the credentials Secret.
pub struct CredentialStore {
    client: Client,
    namespace: String,
}

impl CredentialStore {
    /// A store for the Secret in `namespace`.
    pub fn new(client: Client, namespace: &str) -> Self {
        Self {
            client,
            namespace: namespace.to_string(),
        }
    }

    fn api(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Reads and checks the stored credentials.
    pub async fn load(&self) -> Result<StoredCredentials, SecretStoreError> {
        let secret =
            self.api()
                .get_opt(CREDENTIALS_SECRET)
                .await
                .map_err(|e| SecretStoreError::Read {
                    namespace: self.namespace.clone(),
                    message: server_message(&e),
                })?;
        Ok(match secret {
            None => StoredCredentials::Absent,
            Some(secret) => match decode(&secret) {
                Ok(creds) => match refusal(&secret, &creds) {
                    Some(reason) => StoredCredentials::Refused {
                        credentials: creds,
                        reason,
                    },
                    None => StoredCredentials::Valid(creds),
                },
                Err(e) => StoredCredentials::Invalid(e),
            },
        })
    }

    /// Writes `creds`, creating the namespace if needed.
    pub async fn save(&self, creds: &AgentCredentials) -> Result<(), SecretStoreError> {
        ensure_namespace(&self.client, &self.namespace).await?;
        let secret = encode(creds, &self.namespace);
        self.api()
            .patch(
                CREDENTIALS_SECRET,
                &PatchParams::apply(AGENT_FIELD_MANAGER).force(),
                &Patch::Apply(&secret),
            )
            .await
            .map(|_| ())
            .map_err(|e| SecretStoreError::Write {
                namespace: self.namespace.clone(),
                message: server_message(&e),
            })
    }
}

impl CredentialStore {
    /// Notes on the Secret that the cell refused the certificate of `creds` and why, so the next
    /// start does not use it again (a merge patch of two annotations; the credentials stay).
    pub async fn mark_refused(
        &self,
        creds: &AgentCredentials,
        reason: &str,
    ) -> Result<(), SecretStoreError> {
        let reason: String = reason.chars().take(MAX_REASON).collect();
        let patch = serde_json::json!({
            "metadata": { "annotations": {
                REFUSED_SERIAL_ANNOTATION: creds.serial(),
                REFUSED_REASON_ANNOTATION: reason,
            }}
        });
        self.api()
            .patch(
                CREDENTIALS_SECRET,
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
            .map(|_| ())
            .map_err(|e| SecretStoreError::Write {
                namespace: self.namespace.clone(),
                message: server_message(&e),
            })
    }
}

/// The noted refusal of `creds`, if the Secret notes one for its serial (a note about an earlier
/// certificate is stale and ignored).
pub fn refusal(secret: &Secret, creds: &AgentCredentials) -> Option<String> {
    let annotations = secret.metadata.annotations.as_ref()?;
    (annotations.get(REFUSED_SERIAL_ANNOTATION)? == creds.serial()).then(|| {
        annotations
            .get(REFUSED_REASON_ANNOTATION)
            .cloned()
            .unwrap_or_default()
    })
}

/// The Secret holding `creds`.
pub fn encode(creds: &AgentCredentials, namespace: &str) -> Secret {
    let data = BTreeMap::from([
        (
            "tls.crt".to_string(),
            ByteString(creds.certificate_pem().as_bytes().to_vec()),
        ),
        (
            "tls.key".to_string(),
            ByteString(creds.private_key_pem().as_bytes().to_vec()),
        ),
        (
            "ca.crt".to_string(),
            ByteString(creds.ca_pem().as_bytes().to_vec()),
        ),
    ]);
    Secret {
        metadata: ObjectMeta {
            name: Some(CREDENTIALS_SECRET.to_string()),
            namespace: Some(namespace.to_string()),
            labels: Some(own_labels()),
            annotations: Some(BTreeMap::from([(
                CLUSTER_ID_ANNOTATION.to_string(),
                creds.cluster_id().to_string(),
            )])),
            ..ObjectMeta::default()
        },
        type_: Some(TLS_SECRET_TYPE.to_string()),
        data: Some(data),
        ..Secret::default()
    }
}

/// Reads credentials back from a Secret.
pub fn decode(secret: &Secret) -> Result<AgentCredentials, CredentialError> {
    let data = secret.data.as_ref();
    let text = |key: &str| -> Option<String> {
        data.and_then(|d| d.get(key))
            .and_then(|b| String::from_utf8(b.0.clone()).ok())
    };
    let certificate = text("tls.crt")
        .ok_or_else(|| CredentialError::BadCertificate("the Secret has no tls.crt".into()))?;
    let key = Zeroizing::new(text("tls.key").ok_or(CredentialError::BadKey)?);
    let ca =
        text("ca.crt").ok_or_else(|| CredentialError::BadCa("the Secret has no ca.crt".into()))?;
    let creds = AgentCredentials::from_pem(certificate, key, ca)?;
    let annotated = secret
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(CLUSTER_ID_ANNOTATION));
    if let Some(annotated) = annotated
        && annotated != creds.cluster_id().as_str()
    {
        return Err(CredentialError::ClusterMismatch {
            annotated: annotated.clone(),
            certificate: creds.cluster_id().to_string(),
        });
    }
    Ok(creds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::test_pki::TestCa;

    fn creds() -> AgentCredentials {
        let ca = TestCa::new();
        let (cert, key) = ca.agent("edge-1");
        AgentCredentials::from_pem(cert, key, ca.pem()).unwrap()
    }

    #[test]
    fn encodes_a_tls_secret_that_decodes_to_the_same_credentials() {
        let c = creds();
        let secret = encode(&c, "lattice-system");
        assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/tls"));
        let keys: Vec<_> = secret.data.as_ref().unwrap().keys().cloned().collect();
        assert_eq!(keys, vec!["ca.crt", "tls.crt", "tls.key"]);
        assert_eq!(
            secret.metadata.annotations.as_ref().unwrap()[CLUSTER_ID_ANNOTATION],
            "edge-1"
        );
        let back = decode(&secret).unwrap();
        assert_eq!(back.cluster_id(), c.cluster_id());
        assert_eq!(back.certificate_pem(), c.certificate_pem());
        assert_eq!(back.private_key_pem(), c.private_key_pem());
    }

    #[test]
    fn a_refusal_counts_only_for_the_serial_it_names() {
        let c = creds();
        let mut secret = encode(&c, "lattice-system");
        assert_eq!(refusal(&secret, &c), None);
        let annotations = secret.metadata.annotations.as_mut().unwrap();
        annotations.insert(REFUSED_SERIAL_ANNOTATION.into(), c.serial().to_string());
        annotations.insert(REFUSED_REASON_ANNOTATION.into(), "revoked".into());
        assert_eq!(refusal(&secret, &c).as_deref(), Some("revoked"));
        let renewed = creds();
        assert_eq!(
            refusal(&secret, &renewed),
            None,
            "a note about another serial is stale"
        );
    }

    #[test]
    fn a_secret_missing_a_key_or_annotated_for_another_cluster_is_invalid() {
        let mut secret = encode(&creds(), "lattice-system");
        secret
            .metadata
            .annotations
            .as_mut()
            .unwrap()
            .insert(CLUSTER_ID_ANNOTATION.into(), "edge-9".into());
        assert!(matches!(
            decode(&secret),
            Err(CredentialError::ClusterMismatch { .. })
        ));
        let mut secret = encode(&creds(), "lattice-system");
        secret.data.as_mut().unwrap().remove("ca.crt");
        assert!(matches!(decode(&secret), Err(CredentialError::BadCa(_))));
    }
}
