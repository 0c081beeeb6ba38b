//! Certificates issued by the cell CA, by serial, so a presented client certificate can be
//! checked against what was issued to whom, and revoked.

use chrono::{DateTime, Utc};

use super::{Store, StoreError};

/// What a certificate was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificatePurpose {
    /// An agent client certificate (bound to a cluster).
    Agent,
    /// The cell's own gRPC server certificate.
    Server,
}

impl CertificatePurpose {
    fn as_str(self) -> &'static str {
        match self {
            CertificatePurpose::Agent => "agent",
            CertificatePurpose::Server => "server",
        }
    }
}

/// A certificate to record.
#[derive(Debug, Clone)]
pub struct NewCertificate<'a> {
    /// Serial, lowercase hex.
    pub serial: &'a str,
    /// What it is for.
    pub purpose: CertificatePurpose,
    /// The cluster, for agent certificates.
    pub cluster: Option<&'a str>,
    /// Subject, for people.
    pub subject: &'a str,
    /// Expiry.
    pub not_after: DateTime<Utc>,
}

/// A recorded certificate.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CertificateRecord {
    /// Serial, lowercase hex.
    pub serial: String,
    /// `agent` or `server`.
    pub purpose: String,
    /// The cluster of an agent certificate.
    pub cluster: Option<String>,
    /// Expiry.
    pub not_after: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Records an issued certificate (inside the enrolment transaction or on the pool).
pub async fn record<'e, E>(executor: E, cert: NewCertificate<'_>) -> Result<(), StoreError>
where
    E: sqlx::PgExecutor<'e>,
{
    sqlx::query(
        "INSERT INTO certificates (serial, purpose, cluster, subject, not_after) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(cert.serial)
    .bind(cert.purpose.as_str())
    .bind(cert.cluster)
    .bind(cert.subject)
    .bind(cert.not_after)
    .execute(executor)
    .await?;
    Ok(())
}

impl Store {
    /// Records an issued certificate.
    pub async fn record_certificate(&self, cert: NewCertificate<'_>) -> Result<(), StoreError> {
        record(&self.pool, cert).await
    }

    /// The certificate with `serial`, if the CA issued it.
    pub async fn certificate(&self, serial: &str) -> Result<Option<CertificateRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT serial, purpose, cluster, not_after, revoked_at FROM certificates WHERE serial = $1",
        )
        .bind(serial)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Revokes a certificate; returns false if no such certificate exists.
    pub async fn revoke_certificate(&self, serial: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE certificates SET revoked_at = coalesce(revoked_at, now()) WHERE serial = $1",
        )
        .bind(serial)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Revokes every certificate issued to `cluster` (and records it in the audit log) in one
    /// transaction; returns the serials revoked now (already revoked ones are left as they were),
    /// or `None` if the cluster does not exist.
    pub async fn revoke_cluster_certificates(
        &self,
        cluster: &str,
        actor: &str,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let exists: Option<String> =
            sqlx::query_scalar("SELECT name FROM clusters WHERE name = $1 FOR UPDATE")
                .bind(cluster)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Ok(None);
        }
        let serials: Vec<String> = sqlx::query_scalar(
            "UPDATE certificates SET revoked_at = now() \
             WHERE cluster = $1 AND purpose = 'agent' AND revoked_at IS NULL \
             RETURNING serial",
        )
        .bind(cluster)
        .fetch_all(&mut *tx)
        .await?;
        super::audit::record(
            &mut *tx,
            super::audit::AuditEntry {
                actor,
                action: "cluster.revoke",
                target: cluster,
                details: serde_json::json!({ "revokedSerials": serials }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Some(serials))
    }

    /// Marks a cluster as enrolled (first certificate issued).
    pub async fn mark_enrolled<'e, E>(executor: E, cluster: &str) -> Result<(), StoreError>
    where
        E: sqlx::PgExecutor<'e>,
    {
        sqlx::query(
            "UPDATE clusters SET enrolled_at = coalesce(enrolled_at, now()) WHERE name = $1",
        )
        .bind(cluster)
        .execute(executor)
        .await?;
        Ok(())
    }
}
