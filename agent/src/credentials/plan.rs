//! The start-up decision: use the stored credentials, enrol, or stop with an error that says what
//! to do. Pure, so every combination of stored state and flags is unit-tested.

use crate::credentials::AgentCredentials;
use crate::credentials::secret::{CREDENTIALS_SECRET, StoredCredentials};

/// What the agent does to obtain its identity.
#[derive(Debug)]
pub enum CredentialPlan {
    /// Stored credentials are valid: use them (any token given is not needed).
    UseStored(AgentCredentials),
    /// Enrol with the token, then store the result.
    Enrol {
        /// Why enrolment is needed (logged).
        reason: &'static str,
    },
}

/// The agent cannot obtain an identity with what it was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartupError {
    /// Never enrolled and no token.
    #[error(
        "this agent has not enrolled (no Secret {namespace}/{CREDENTIALS_SECRET}) and no --token was given: create a token with `latticectl token create --cluster <name>` and start the agent with --token <token> --cell-ca <cell CA file>"
    )]
    NotEnrolled {
        /// Agent namespace.
        namespace: String,
    },
    /// Enrolment needed but no CA to verify the cell.
    #[error(
        "enrolment needs the cell's CA certificate to verify the cell: pass --cell-ca <file> (PEM) together with --token"
    )]
    MissingCellCa,
    /// Stored certificate expired and no token.
    #[error(
        "the agent certificate for cluster {cluster} expired (not after {not_after_unix} Unix time): create a new token with `latticectl token create --cluster {cluster}` and restart the agent with --token and --cell-ca"
    )]
    Expired {
        /// Cluster id of the expired certificate.
        cluster: String,
        /// Its expiry.
        not_after_unix: i64,
    },
    /// The cell refused the stored certificate and no token.
    #[error(
        "the cell refused the certificate of cluster {cluster} ({reason}): create a new token with `latticectl token create --cluster {cluster}` and restart the agent with --token and --cell-ca"
    )]
    Refused {
        /// Cluster id of the refused certificate.
        cluster: String,
        /// The cell's reason.
        reason: String,
    },
    /// Stored credentials unusable and no token.
    #[error(
        "Secret {namespace}/{CREDENTIALS_SECRET} holds unusable credentials ({cause}): create a new token with `latticectl token create --cluster <name>` and restart the agent with --token and --cell-ca to enrol again"
    )]
    Unusable {
        /// Agent namespace.
        namespace: String,
        /// What is wrong.
        cause: String,
    },
}

/// Decides how to obtain credentials from the stored state and the flags given.
pub fn plan(
    stored: StoredCredentials,
    token_given: bool,
    cell_ca_given: bool,
    now_unix: i64,
    namespace: &str,
) -> Result<CredentialPlan, StartupError> {
    let need_enrolment = |reason: &'static str| {
        if cell_ca_given {
            Ok(CredentialPlan::Enrol { reason })
        } else {
            Err(StartupError::MissingCellCa)
        }
    };
    match stored {
        StoredCredentials::Valid(creds) if !creds.is_expired_at(now_unix) => {
            Ok(CredentialPlan::UseStored(creds))
        }
        StoredCredentials::Valid(_) if token_given => {
            need_enrolment("the stored certificate expired; enrolling again with the token given")
        }
        StoredCredentials::Valid(creds) => Err(StartupError::Expired {
            cluster: creds.cluster_id().to_string(),
            not_after_unix: creds.not_after_unix(),
        }),
        StoredCredentials::Refused { .. } if token_given => need_enrolment(
            "the cell refused the stored certificate; enrolling again with the token given",
        ),
        StoredCredentials::Refused {
            credentials,
            reason,
        } => Err(StartupError::Refused {
            cluster: credentials.cluster_id().to_string(),
            reason,
        }),
        StoredCredentials::Absent if token_given => need_enrolment("first start: enrolling"),
        StoredCredentials::Absent => Err(StartupError::NotEnrolled {
            namespace: namespace.to_string(),
        }),
        StoredCredentials::Invalid(_) if token_given => need_enrolment(
            "the stored credentials are unusable; enrolling again with the token given",
        ),
        StoredCredentials::Invalid(cause) => Err(StartupError::Unusable {
            namespace: namespace.to_string(),
            cause: cause.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::CredentialError;
    use crate::credentials::test_pki::TestCa;

    fn valid() -> StoredCredentials {
        let ca = TestCa::new();
        let (cert, key) = ca.agent("edge-1");
        StoredCredentials::Valid(AgentCredentials::from_pem(cert, key, ca.pem()).unwrap())
    }

    const NOW: i64 = 1_700_000_000;
    const FAR_FUTURE: i64 = 99_999_999_999;

    #[test]
    fn valid_stored_credentials_are_used_even_if_a_token_is_given() {
        assert!(matches!(
            plan(valid(), true, true, NOW, "lattice-system"),
            Ok(CredentialPlan::UseStored(_))
        ));
        assert!(matches!(
            plan(valid(), false, false, NOW, "lattice-system"),
            Ok(CredentialPlan::UseStored(_))
        ));
    }

    #[test]
    fn first_start_enrols_with_token_and_ca() {
        assert!(matches!(
            plan(StoredCredentials::Absent, true, true, NOW, "ns"),
            Ok(CredentialPlan::Enrol { .. })
        ));
        assert_eq!(
            plan(StoredCredentials::Absent, true, false, NOW, "ns").unwrap_err(),
            StartupError::MissingCellCa
        );
    }

    #[test]
    fn first_start_without_token_says_how_to_get_one() {
        let err = plan(StoredCredentials::Absent, false, true, NOW, "ns").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("latticectl token create --cluster"), "{text}");
        assert!(text.contains("ns/lattice-agent-credentials"), "{text}");
    }

    #[test]
    fn expired_certificate_needs_a_new_token() {
        let err = plan(valid(), false, true, FAR_FUTURE, "ns").unwrap_err();
        assert!(matches!(err, StartupError::Expired { ref cluster, .. } if cluster == "edge-1"));
        assert!(err.to_string().contains("--cluster edge-1"));
        assert!(matches!(
            plan(valid(), true, true, FAR_FUTURE, "ns"),
            Ok(CredentialPlan::Enrol { .. })
        ));
    }

    #[test]
    fn a_refused_certificate_needs_a_new_token() {
        let refused = || {
            let StoredCredentials::Valid(credentials) = valid() else {
                unreachable!()
            };
            StoredCredentials::Refused {
                credentials,
                reason: "serial ab of cluster edge-1 was revoked".into(),
            }
        };
        let err = plan(refused(), false, true, NOW, "ns").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("revoked"), "{text}");
        assert!(
            text.contains("latticectl token create --cluster edge-1"),
            "{text}"
        );
        assert!(matches!(
            plan(refused(), true, true, NOW, "ns"),
            Ok(CredentialPlan::Enrol { .. })
        ));
    }

    #[test]
    fn unusable_credentials_are_named_and_replaced_only_with_a_token() {
        let invalid = || StoredCredentials::Invalid(CredentialError::KeyMismatch);
        let err = plan(invalid(), false, true, NOW, "ns").unwrap_err();
        assert!(
            err.to_string()
                .contains("not issued for the agent's private key")
        );
        assert!(matches!(
            plan(invalid(), true, true, NOW, "ns"),
            Ok(CredentialPlan::Enrol { .. })
        ));
    }
}
