//! Enrolment tokens: stored as SHA-256 only, single use, with an expiry. Consumption is one
//! conditional `UPDATE … RETURNING`, so two agents presenting the same token at the same moment
//! cannot both succeed.

use chrono::{DateTime, Utc};

use super::audit::{self, AuditEntry};
use super::{Store, StoreError};
use crate::token::SecretToken;

/// A token that was just created (the raw value is returned once, never stored).
#[derive(Debug)]
pub struct IssuedToken {
    /// The raw token, to show once.
    pub token: SecretToken,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// Creates a token for `cluster` valid for `ttl`. Returns `None` if the cluster does not exist.
    pub async fn create_enrolment_token(
        &self,
        cluster: &str,
        ttl: chrono::Duration,
        actor: &str,
    ) -> Result<Option<IssuedToken>, StoreError> {
        let token = SecretToken::generate(crate::token::ENROLMENT_TOKEN_PREFIX);
        let mut tx = self.pool.begin().await?;
        let expires_at: Option<DateTime<Utc>> = sqlx::query_scalar(
            "INSERT INTO enrolment_tokens (id, cluster, token_hash, expires_at) \
             SELECT $1, name, $3, now() + make_interval(secs => $4) FROM clusters WHERE name = $2 \
             RETURNING expires_at",
        )
        .bind(uuid::Uuid::new_v4())
        .bind(cluster)
        .bind(token.hash().as_slice())
        .bind(ttl.num_milliseconds() as f64 / 1000.0)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(expires_at) = expires_at else {
            return Ok(None);
        };
        audit::record(
            &mut *tx,
            AuditEntry {
                actor,
                action: "token.create",
                target: cluster,
                details: serde_json::json!({ "expiresAt": expires_at }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Some(IssuedToken { token, expires_at }))
    }

    /// Consumes `token` inside `tx`: returns the cluster it enrols if it exists, is unused and
    /// unexpired, and marks it used. The row stays locked until `tx` ends, so a concurrent
    /// consumer waits and then sees it used; if `tx` rolls back the token stays usable.
    pub async fn consume_enrolment_token(
        tx: &mut sqlx::PgConnection,
        token: &str,
    ) -> Result<Option<String>, StoreError> {
        let hash = crate::token::sha256(token.as_bytes());
        Ok(sqlx::query_scalar(
            "UPDATE enrolment_tokens SET consumed_at = now() \
             WHERE token_hash = $1 AND consumed_at IS NULL AND expires_at > now() \
             RETURNING cluster",
        )
        .bind(hash.as_slice())
        .fetch_optional(tx)
        .await?)
    }
}
