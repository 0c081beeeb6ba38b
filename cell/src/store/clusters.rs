//! Clusters: registered by an admin, enrolled by their agent, and the facts the agent reports.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::audit::{self, AuditEntry};
use super::{Store, StoreError};

/// A stored cluster.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClusterRecord {
    /// Cluster id (a DNS label; the CN of its agent certificate).
    pub name: String,
    /// Labels given at creation.
    pub labels: Value,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When its agent first enrolled.
    pub enrolled_at: Option<DateTime<Utc>>,
    /// When its agent last said Hello.
    pub last_connected_at: Option<DateTime<Utc>>,
    /// When its agent last sent a heartbeat.
    pub last_heartbeat_at: Option<DateTime<Utc>>,
    /// Agent version from the last Hello.
    pub agent_version: Option<String>,
    /// Protocol version agreed on the last Hello.
    pub protocol_version: Option<i32>,
    /// Kubernetes version from the last Hello.
    pub kubernetes_version: Option<String>,
}

/// What an agent says about itself in Hello.
#[derive(Debug, Clone)]
pub struct AgentFacts<'a> {
    /// Agent build version.
    pub agent_version: &'a str,
    /// Agreed protocol version.
    pub protocol_version: u32,
    /// Kubernetes version of the cluster.
    pub kubernetes_version: &'a str,
}

const COLUMNS: &str = "name, labels, created_at, enrolled_at, last_connected_at, last_heartbeat_at, agent_version, protocol_version, kubernetes_version";

impl Store {
    /// Registers a cluster; refuses a name that exists.
    pub async fn create_cluster(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
        actor: &str,
    ) -> Result<ClusterRecord, StoreError> {
        let labels = serde_json::to_value(labels).map_err(|source| StoreError::Malformed {
            what: "cluster labels",
            source,
        })?;
        let mut tx = self.pool.begin().await?;
        let row: Option<ClusterRecord> = sqlx::query_as(
            "INSERT INTO clusters (name, labels) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING \
             RETURNING name, labels, created_at, enrolled_at, last_connected_at, last_heartbeat_at, agent_version, protocol_version, kubernetes_version",
        )
        .bind(name)
        .bind(&labels)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::AlreadyExists {
                what: "cluster",
                name: name.to_string(),
            });
        };
        audit::record(
            &mut *tx,
            AuditEntry {
                actor,
                action: "cluster.create",
                target: name,
                details: serde_json::json!({ "labels": labels }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// One cluster by name.
    pub async fn cluster(&self, name: &str) -> Result<Option<ClusterRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM clusters WHERE name = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// All clusters, by name.
    pub async fn clusters(&self) -> Result<Vec<ClusterRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM clusters ORDER BY name");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?)
    }

    /// Records a Hello: versions, connection time, and counts it as a heartbeat.
    pub async fn record_hello(&self, name: &str, facts: AgentFacts<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE clusters SET last_connected_at = now(), last_heartbeat_at = now(), \
             agent_version = $2, protocol_version = $3, kubernetes_version = $4 WHERE name = $1",
        )
        .bind(name)
        .bind(facts.agent_version)
        .bind(i32::try_from(facts.protocol_version).unwrap_or(i32::MAX))
        .bind(facts.kubernetes_version)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
