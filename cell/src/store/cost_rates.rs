//! The cost rates the cell estimates with: one row, absent until set (the documented defaults
//! apply). Set from `--cost-rates FILE` at startup or `PUT /v1/cost/rates`.

use lattice_derive::cost::CostRates;

use super::audit::{self, AuditEntry};
use super::{Store, StoreError};

/// The current rates (the defaults when none were set).
pub async fn current(conn: &mut sqlx::PgConnection) -> Result<CostRates, StoreError> {
    let stored: Option<serde_json::Value> =
        sqlx::query_scalar("SELECT rates FROM cost_rates WHERE id = 1")
            .fetch_optional(conn)
            .await?;
    match stored {
        None => Ok(CostRates::default()),
        Some(value) => serde_json::from_value(value).map_err(|source| StoreError::Malformed {
            what: "cost rates",
            source,
        }),
    }
}

impl Store {
    /// The current rates (the defaults when none were set).
    pub async fn cost_rates(&self) -> Result<CostRates, StoreError> {
        let mut conn = self.pool.acquire().await?;
        current(&mut conn).await
    }

    /// Replaces the rates (already validated). They apply to the next admission and to
    /// showback at once; reservations keep the cost computed when they were admitted.
    pub async fn set_cost_rates(&self, rates: &CostRates, actor: &str) -> Result<(), StoreError> {
        let value = serde_json::to_value(rates).map_err(|source| StoreError::Malformed {
            what: "cost rates",
            source,
        })?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO cost_rates (id, rates) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET rates = $1, updated_at = now()",
        )
        .bind(&value)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            AuditEntry {
                actor,
                action: "cost.rates.set",
                target: "cost-rates",
                details: value,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
