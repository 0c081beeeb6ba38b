//! What a renewal CSR may ask for: nothing beyond what enrolment gives. The cell sets subject and
//! extensions itself whatever the CSR says, but a CSR that asks for more (another key usage, a CA,
//! alternative names, another cluster) is refused rather than silently narrowed: it is either a bug
//! or an attempt, and the agent must hear which field was wrong.

use lattice_protocol::identity::{AGENT_ORGANIZATION, ClusterId};
use rcgen::{CertificateParams, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose};

/// Why a CSR asks for more than an agent certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsrRefusal {
    /// basicConstraints CA=true.
    #[error("the CSR asks to be a CA (basicConstraints CA=true); agent certificates are not CAs")]
    AsksForCa,
    /// An extended key usage other than clientAuth.
    #[error("the CSR asks for extended key usage {0}; agent certificates are for clientAuth only")]
    ExtendedKeyUsage(String),
    /// A key usage other than digitalSignature.
    #[error("the CSR asks for key usage {0}; agent certificates get digitalSignature only")]
    KeyUsage(String),
    /// Subject alternative names.
    #[error("the CSR asks for subject alternative names; agent certificates have none")]
    AlternativeNames,
    /// The CN names another cluster.
    #[error("the CSR names cluster {requested:?} but the session is cluster {cluster:?}")]
    OtherCluster {
        /// CN of the CSR.
        requested: String,
        /// The session's cluster.
        cluster: String,
    },
    /// The O is not the agent organization.
    #[error("the CSR names organization {0:?}; agent certificates are O={AGENT_ORGANIZATION}")]
    OtherOrganization(String),
}

/// Checks that `requested` (the parsed CSR) asks for nothing an agent certificate for `cluster`
/// would not have. A CSR may leave everything out (the cell fills it in).
pub fn check_renewal_request(
    requested: &CertificateParams,
    cluster: &ClusterId,
) -> Result<(), CsrRefusal> {
    if matches!(requested.is_ca, IsCa::Ca(_)) {
        return Err(CsrRefusal::AsksForCa);
    }
    if let Some(eku) = requested
        .extended_key_usages
        .iter()
        .find(|u| **u != ExtendedKeyUsagePurpose::ClientAuth)
    {
        return Err(CsrRefusal::ExtendedKeyUsage(eku_name(eku)));
    }
    if let Some(ku) = requested
        .key_usages
        .iter()
        .find(|u| **u != KeyUsagePurpose::DigitalSignature)
    {
        return Err(CsrRefusal::KeyUsage(format!("{ku:?}")));
    }
    if !requested.subject_alt_names.is_empty() {
        return Err(CsrRefusal::AlternativeNames);
    }
    let dn = &requested.distinguished_name;
    if let Some(cn) = dn.get(&DnType::CommonName).map(dn_text)
        && cn != cluster.as_str()
    {
        return Err(CsrRefusal::OtherCluster {
            requested: cn,
            cluster: cluster.to_string(),
        });
    }
    if let Some(o) = dn.get(&DnType::OrganizationName).map(dn_text)
        && o != AGENT_ORGANIZATION
    {
        return Err(CsrRefusal::OtherOrganization(o));
    }
    Ok(())
}

fn eku_name(eku: &ExtendedKeyUsagePurpose) -> String {
    match eku {
        ExtendedKeyUsagePurpose::ServerAuth => "serverAuth".to_string(),
        ExtendedKeyUsagePurpose::Any => "anyExtendedKeyUsage".to_string(),
        ExtendedKeyUsagePurpose::CodeSigning => "codeSigning".to_string(),
        ExtendedKeyUsagePurpose::EmailProtection => "emailProtection".to_string(),
        ExtendedKeyUsagePurpose::TimeStamping => "timeStamping".to_string(),
        ExtendedKeyUsagePurpose::OcspSigning => "OCSPSigning".to_string(),
        other => format!("{other:?}"),
    }
}

fn dn_text(value: &DnValue) -> String {
    match value {
        DnValue::Utf8String(s) => s.clone(),
        DnValue::PrintableString(s) => s.as_str().to_string(),
        DnValue::Ia5String(s) => s.as_str().to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, DistinguishedName};

    fn edge() -> ClusterId {
        ClusterId::new("edge-1").unwrap()
    }

    fn named(cn: &str, o: &str) -> CertificateParams {
        let mut p = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, cn);
        dn.push(DnType::OrganizationName, o);
        p.distinguished_name = dn;
        p
    }

    fn plain() -> CertificateParams {
        let mut p = CertificateParams::default();
        p.distinguished_name = DistinguishedName::new();
        p
    }

    #[test]
    fn a_plain_request_for_the_same_cluster_passes() {
        assert_eq!(check_renewal_request(&plain(), &edge()), Ok(()));
        let mut p = named("edge-1", AGENT_ORGANIZATION);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        assert_eq!(check_renewal_request(&p, &edge()), Ok(()));
    }

    #[test]
    fn another_key_usage_or_a_ca_is_refused_by_name() {
        let mut p = plain();
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let e = check_renewal_request(&p, &edge()).unwrap_err();
        assert!(e.to_string().contains("serverAuth"), "{e}");
        let mut p = plain();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        assert_eq!(
            check_renewal_request(&p, &edge()),
            Err(CsrRefusal::AsksForCa)
        );
        let mut p = plain();
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        assert!(matches!(
            check_renewal_request(&p, &edge()),
            Err(CsrRefusal::KeyUsage(_))
        ));
        let mut p = plain();
        p.subject_alt_names = CertificateParams::new(vec!["cell.example".to_string()])
            .unwrap()
            .subject_alt_names;
        assert_eq!(
            check_renewal_request(&p, &edge()),
            Err(CsrRefusal::AlternativeNames)
        );
    }

    #[test]
    fn another_cluster_or_organization_is_refused() {
        let e = check_renewal_request(&named("edge-2", AGENT_ORGANIZATION), &edge()).unwrap_err();
        assert_eq!(
            e,
            CsrRefusal::OtherCluster {
                requested: "edge-2".into(),
                cluster: "edge-1".into()
            }
        );
        let e = check_renewal_request(&named("edge-1", "Lattice"), &edge()).unwrap_err();
        assert!(matches!(e, CsrRefusal::OtherOrganization(_)));
    }
}
